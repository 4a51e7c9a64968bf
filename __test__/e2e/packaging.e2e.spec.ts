/**
 * What `npm pack` puts in the package a user downloads, and the version script that keeps
 * the platform packages in step. Installing from a registry: registry.e2e.spec.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { parseTriple } from '@napi-rs/cli';
import { ROOT } from '../helpers/exaproxy';

interface PackageJson {
  version: string;
  license: string;
  napi: { packageName: string; binaryName: string; targets: string[] };
  optionalDependencies?: Record<string, string>;
}
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Relative link targets of a markdown text (no URLs, no in-page anchors). */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!.split('#')[0]!)
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

test('npm pack --json prints only JSON, and the tarball has the license, the docs README links to and no local binary', { timeout: 300_000 }, () => {
  // Real pack: it runs `prepare`, whose output must not reach stdout.
  const out = execFileSync('npm', ['pack', '--json', '--dry-run'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [packed] = JSON.parse(out) as { files: { path: string }[] }[];
  const files = new Set(packed!.files.map((f) => f.path));
  for (const needed of ['LICENSE', 'README.md', 'package.json', 'bin/exaproxy.js', 'binding.js', 'dist/cli.js', 'dist/native/load-error.js']) {
    assert.ok(files.has(needed), `${needed} is packed`);
  }
  assert.deepEqual([...files].filter((f) => f.endsWith('.node')), [], 'no binary in the main package: it comes from the platform package');
  // Every file package.json points to is there (a `main` naming a file never built was).
  const manifest = readJson<{ main?: string; types?: string; bin: Record<string, string> }>(join(ROOT, 'package.json'));
  for (const path of [manifest.main, manifest.types, ...Object.values(manifest.bin)]) {
    if (path !== undefined) assert.ok(files.has(normalize(path)), `package.json names ${path}, which is not packed`);
  }

  const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  assert.match(license, /^BSD 3-Clause License\n\nCopyright \(c\) \d{4}, the exaproxy authors\n/);
  assert.equal(readJson<PackageJson>(join(ROOT, 'package.json')).license, 'BSD-3-Clause');

  // Every relative link of README.md, and of the packed pages it links to, resolves inside the tarball.
  const pages = ['README.md'];
  const broken: string[] = [];
  for (let i = 0; i < pages.length; i++) {
    const page = pages[i]!;
    for (const target of relativeLinks(readFileSync(join(ROOT, page), 'utf8'))) {
      const path = normalize(join(dirname(page), target));
      if (!files.has(path)) broken.push(`${page} → ${target} (${path} is not packed)`);
      else if (path.endsWith('.md') && !pages.includes(path) && page === 'README.md') pages.push(path);
    }
  }
  assert.ok(pages.length > 1, 'README.md links to other pages');
  assert.deepEqual(broken, []);
});

test('every napi target has its platform package folder at the version of package.json', () => {
  const pkg = readJson<PackageJson>(join(ROOT, 'package.json'));
  assert.equal(pkg.optionalDependencies, undefined, 'written at publish time (scripts/publish.mjs), or npm ci breaks on an unpublished version');
  for (const t of pkg.napi.targets) {
    const abi = parseTriple(t).platformArchABI;
    const platform = readJson<{ name: string; version: string; main: string }>(join(ROOT, 'npm', abi, 'package.json'));
    assert.deepEqual([platform.name, platform.version, platform.main], [`${pkg.napi.packageName}-${abi}`, pkg.version, `${pkg.napi.binaryName}.${abi}.node`]);
  }
  const check = spawnSync(process.execPath, [join(ROOT, 'scripts', 'version.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

test('the version script (npm version) moves the platform packages and binding.js to the new version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'exaproxy-version-'));
  try {
    for (const path of ['package.json', 'binding.js', 'npm', 'scripts']) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const old = readJson<PackageJson>(join(dir, 'package.json')).version;
    // What `npm version 9.9.9` does before it runs the `version` script.
    const pkg = readJson<PackageJson & Record<string, unknown>>(join(dir, 'package.json'));
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ ...pkg, version: '9.9.9' }, null, 2)}\n`);
    const script = join(dir, 'scripts', 'version.mjs');

    const before = spawnSync(process.execPath, [script, '--check'], { cwd: dir, encoding: 'utf8' });
    assert.equal(before.status, 1);
    assert.match(before.stderr, /npm\/linux-x64-gnu\/package\.json: version .* expected 9\.9\.9/);

    execFileSync(process.execPath, [script], { cwd: dir });
    assert.equal(spawnSync(process.execPath, [script, '--check'], { cwd: dir }).status, 0);
    for (const t of readJson<PackageJson>(join(dir, 'package.json')).napi.targets) {
      assert.equal(readJson<{ version: string }>(join(dir, 'npm', parseTriple(t).platformArchABI, 'package.json')).version, '9.9.9');
    }
    const binding = readFileSync(join(dir, 'binding.js'), 'utf8');
    assert.ok(binding.includes("bindingPackageVersion !== '9.9.9'"));
    assert.ok(!binding.includes(`'${old}'`), 'no trace of the old version in binding.js');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
