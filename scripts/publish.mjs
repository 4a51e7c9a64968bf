// Publishes a release as napi-rs projects do (`napi pre-publish`): first every platform
// package (npm/<platform> holding its binary, as `napi artifacts` lays them out), then the
// main package with optionalDependencies on all of them at its version, so that npm installs
// the one that fits the machine and skips the others.
// The working tree is left as it is (but for dist/): the main package is packed, unpacked in
// a temp folder, given its optionalDependencies and published from there.
//
// Usage: node scripts/publish.mjs [--provenance] [--dry-run] [--registry=URL] [--tag=TAG]
//                                 [--npm-dir=DIR] [--only=linux-x64-gnu,…]
//   --npm-dir  where the platform folders are (default npm/)
//   --only     publish only these platform packages (a test registry has no other binary);
//              the main package still names every target
//   --guard    what `prepublishOnly` runs: a plain `npm publish` of the folder is refused
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optionalDependencies, platforms, readPackage, root } from './platforms.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const fail = (line) => {
  console.error(`exaproxy publish: ${line}`);
  process.exit(1);
};

if (args.includes('--guard')) {
  // npm sets this for the lifecycle script of `npm publish` run in the folder itself.
  fail('publish with `node scripts/publish.mjs` (see .github/workflows/release.yml): it publishes the platform packages and adds the optionalDependencies that a plain `npm publish` would leave out');
}

const pkg = readPackage();
const npmDir = option('npm-dir') ?? join(root, 'npm');
const only = option('only')?.split(',');
const publishFlags = [
  '--access',
  'public',
  ...(args.includes('--provenance') ? ['--provenance'] : []),
  ...(args.includes('--dry-run') ? ['--dry-run'] : []),
  ...(option('registry') ? ['--registry', option('registry')] : []),
  ...(option('tag') ? ['--tag', option('tag')] : []),
];

const versionCheck = spawnSync(process.execPath, [join(root, 'scripts', 'version.mjs'), '--check'], { stdio: 'inherit' });
if (versionCheck.status !== 0) fail('the platform packages are not at the version of package.json (above)');

const chosen = platforms(pkg).filter((p) => !only || only.includes(p.abi));
if (only && chosen.length !== only.length) fail(`--only names no target of napi.targets: ${only.join(', ')}`);
for (const { abi, binary } of chosen) {
  if (!existsSync(join(npmDir, abi, binary))) fail(`${join(npmDir, abi, binary)} is missing: download the build artifacts and run \`npm run artifacts\``);
}

/** `npm publish` of a folder; a version already there (a re-run after a partial failure) is skipped. */
function publish(dir, what, extra = []) {
  const r = spawnSync('npm', ['publish', dir, ...publishFlags, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  process.stdout.write(r.stdout);
  if (r.status === 0) return;
  if (/cannot publish over the previously published versions|EPUBLISHCONFLICT/.test(r.stderr)) {
    console.error(`exaproxy publish: ${what} ${pkg.version} is already published: kept`);
    return;
  }
  process.stderr.write(r.stderr);
  fail(`npm publish of ${what} failed (above)`);
}

for (const { abi, name } of chosen) publish(join(npmDir, abi), name);

const work = mkdtempSync(join(tmpdir(), 'exaproxy-publish-'));
try {
  // dist/ is compiled here rather than by `prepare`, which would also build the host's addon
  // when none loads (the release job has the binaries in npm/, not next to binding.js).
  execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  execFileSync('tar', ['-xzf', join(work, packed[0].filename), '-C', work]);
  const manifestPath = join(work, 'package', 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  writeFileSync(manifestPath, `${JSON.stringify({ ...manifest, optionalDependencies: { ...manifest.optionalDependencies, ...optionalDependencies(pkg) } }, null, 2)}\n`);
  // Already built and packed: no lifecycle script again (prepublishOnly is the guard above).
  publish(join(work, 'package'), pkg.name, ['--ignore-scripts']);
} finally {
  rmSync(work, { recursive: true, force: true });
}
