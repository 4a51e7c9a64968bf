// A single process's allocator settings (src/supervisor/allocator.ts), in real Node processes: its
// young generation grows to the workers' size and no further, unless node was given a size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const script = join(mkdtempSync(join(tmpdir(), 'exaproxy-allocator-')), 'young.ts');
// Limits (or not) the young generation, then allocates as a burst of requests does (objects
// that survive a few scavenges), and prints the young generation's size in MiB.
writeFileSync(
  script,
  `import { getHeapSpaceStatistics } from 'node:v8';
import { limitYoungGeneration } from ${JSON.stringify(join(root, 'src/supervisor/allocator.ts'))};
import { native } from ${JSON.stringify(join(root, 'src/native/index.ts'))};
if (process.argv.includes('limit')) limitYoungGeneration(process.execArgv, process.env.NODE_OPTIONS ?? '');
let kept: object[] = [];
for (let i = 0; i < 3_000_000; i++) {
  kept.push({ i, s: 'x' + i });
  if (kept.length > 20_000) kept = [];
}
const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
process.stdout.write(JSON.stringify({ youngMiB: young / 1048576, kept: native.keepFreedHeap(4 * 1048576) }));
`,
);

function run(args: string[], nodeOptions = ''): { youngMiB: number; kept: boolean } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: nodeOptions }, encoding: 'utf8' });
  return JSON.parse(out) as { youngMiB: number; kept: boolean };
}

test("one process: the young generation stays at the workers' size (2 × 2 MiB) under a burst", () => {
  assert.ok(run([]).youngMiB > 4, 'without the limit, V8 grows it beyond');
  assert.equal(run(['limit']).youngMiB, 4);
});

test("an operator's --max-semi-space-size is left to V8", () => {
  assert.ok(run(['limit'], '--max-semi-space-size=8').youngMiB > 4);
});

const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;

test('glibc takes the freed-heap setting (mallopt) from the addon', { skip: !glibc }, () => {
  assert.equal(run([]).kept, true);
});
