// Runs the test suites: `cargo test`, then every __test__/**/*.spec.ts with node:test.
// Usage: node scripts/test.mjs [--no-cargo] [--no-build] [--skip=TEXT…] [filter…]
//   filter       keep only the spec files whose path contains it (and skip cargo test)
//   --skip=TEXT  leave out the spec files whose path contains TEXT
//   --no-cargo   do not run cargo test
//   --no-build   test the addon at hand (e.g. a release artifact) instead of rebuilding it
//   --no-install never install missing peers, only name them
// The programs the chosen specs drive (curl, haproxy, chromium…) are installed first when
// missing (scripts/peers.mjs); the run stops at once with one line when they cannot be.
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ensurePeers, found, peersFor } from './peers.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const skips = args.filter((a) => a.startsWith('--skip=')).map((a) => a.slice('--skip='.length));
const filters = args.filter((a) => !a.startsWith('--'));
const cargo = !args.includes('--no-cargo') && filters.length === 0;

function specs(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : specs(path);
    return name.endsWith('.spec.ts') ? [path] : [];
  });
}

function run(cmd, argv) {
  console.log(`\n> ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const files = specs(join(root, '__test__'))
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
  .filter((p) => !skips.some((s) => p.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no spec files matched');
  process.exit(1);
}
// Everything that can be missing is checked before anything long runs.
if ((build || cargo) && !found('cargo')) {
  console.error('exaproxy test: cargo is missing: install Rust (https://rustup.rs), or pass --no-build --no-cargo to test an addon built elsewhere');
  process.exit(1);
}
ensurePeers(peersFor(files), `${files.length} spec file(s)`, { install: !args.includes('--no-install') });
// As root, some specs run exaproxy (through tsx, from this checkout) as nobody, the default
// daemon.user: a checkout under a private folder (mktemp -d is 0700) fails them obscurely.
if (process.getuid?.() === 0 && found('runuser')) letNobodyIn(root);

/**
 * Lets nobody reach the checkout: the folders above it that others may not enter (a
 * `mktemp -d` folder is 0700) get o+x — enter, not list — and the runner says which.
 */
function letNobodyIn(dir) {
  const readable = () => spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', join(dir, 'package.json')]).status === 0;
  if (readable()) return;
  const opened = [];
  for (let d = dirname(dir); ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(d, mode | 0o001);
      opened.push(d);
    }
    if (d === dirname(d)) break;
  }
  if (opened.length > 0) console.error(`exaproxy test: ${opened.join(', ')}: o+x added so that user nobody (daemon.user) can reach the checkout, as the specs that run exaproxy as nobody need`);
  if (!readable()) {
    console.error(`exaproxy test: user nobody still cannot read ${dir}: the specs that run exaproxy as nobody will fail; clone where others may read`);
  }
}

// The addon is rebuilt first so the TypeScript tests never run against a stale binary.
if (build) run('npm', ['run', '--silent', 'build:native']);
if (cargo) {
  run('cargo', ['test', '--locked', '--workspace', '--release']);
  // The corpus tests again with their output: the counts of agreed / rejected / skipped cases.
  run('cargo', ['test', '--locked', '--release', '-q', '-p', 'exaproxy-http', '--test', 'conformance', '--test', 'smuggling', '--', '--nocapture']);
}
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files]);
