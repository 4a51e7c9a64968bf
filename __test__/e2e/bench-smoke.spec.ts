// The benchmark suite end to end in smoke mode: exaproxy and HAProxy, the small keep-alive scenario,
// 2 s, one round, against a real nginx origin with wrk. It asserts that the suite ran and that every
// peer answered every request with a 200 — never a speed (speed is only reported, by `npm run bench`).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Measurement } from '../../bench/measure';

const ROOT = join(__dirname, '..', '..');

function runBench(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('npm run bench -- --smoke: exaproxy and HAProxy both answer 200 to every request', { timeout: 300_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  try {
    const { code, output } = await runBench(['--smoke', '--no-install', `--out=${out}`]);
    const files = readdirSync(out).filter((name) => name.endsWith('.json'));
    assert.equal(files.length, 1, `the bench wrote no results JSON; its output:\n${output}`);
    const results = JSON.parse(readFileSync(join(out, files[0] as string), 'utf8')) as { measurements: Measurement[] };
    const measured = results.measurements.map((m) => m.variant).sort();
    assert.deepEqual(measured, ['exaproxy', 'haproxy'], `unexpected peers in the results; output:\n${output}`);
    for (const m of results.measurements) {
      assert.equal(m.scenario, 'small');
      assert.equal(m.error, undefined, `${m.variant}: ${m.error}`);
      assert.ok(m.requests > 0, `${m.variant} answered no request`);
      assert.equal(m.statusErrors, 0, `${m.variant}: responses that were not 2xx/3xx`);
      assert.equal(m.socketErrors, 0, `${m.variant}: socket errors`);
      assert.ok(m.cpuS > 0, `${m.variant}: no CPU time was read from /proc for the peer`);
    }
    assert.equal(code, 0, `the bench exited with ${code}; output:\n${output}`);
    assert.match(output, /\| exaproxy \|/, 'the markdown table lists exaproxy');
    assert.equal(readdirSync(out).filter((name) => name.endsWith('.svg')).length, 1, 'the bench wrote its SVG chart');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
