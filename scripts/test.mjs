// Runs the test suites: `cargo test`, then every __test__/**/*.spec.ts with node:test.
// Usage: node scripts/test.mjs [--no-cargo] [filter…]   (a filter keeps spec files whose path contains it)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const cargo = !args.includes('--no-cargo');
const filters = args.filter((a) => !a.startsWith('--'));

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

// The addon is rebuilt first so the TypeScript tests never run against a stale binary.
run('npm', ['run', '--silent', 'build:native']);
if (cargo && filters.length === 0) {
  run('cargo', ['test', '--locked', '--workspace', '--release']);
  // The corpus tests again with their output: the counts of agreed / rejected / skipped cases.
  run('cargo', ['test', '--locked', '--release', '-q', '-p', 'exaproxy-http', '--test', 'conformance', '--test', 'smuggling', '--', '--nocapture']);
}
const files = specs(join(root, '__test__'))
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('no spec files matched');
  process.exit(1);
}
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files]);
