// The benchmark suite end to end in smoke mode: exaproxy and HAProxy, the small keep-alive scenario,
// 2 s, one round, against a real nginx origin with wrk. It asserts that the suite ran, that every
// peer answered every request with a 200, that the goals are printed and saved, and that
// bench:compare reads what it wrote — never a speed (speed is only reported, by `npm run bench`).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Goal } from '../../bench/goals';
import type { Measurement } from '../../bench/measure';
import type { ScenarioSummary } from '../../bench/report';

const ROOT = join(__dirname, '..', '..');

function runBench(args: string[], script = 'run.ts'): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', script), ...args], {
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

interface Results {
  measurements: Measurement[];
  summaries: ScenarioSummary[];
  goals: Goal[];
}

test('npm run bench -- --smoke: exaproxy and HAProxy both answer 200 to every request; the goals are printed; bench:compare reads the results', { timeout: 300_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  try {
    const { code, output } = await runBench(['--smoke', '--no-install', `--out=${out}`]);
    const files = readdirSync(out).filter((name) => name.endsWith('.json'));
    assert.equal(files.length, 1, `the bench wrote no results JSON; its output:\n${output}`);
    const resultsPath = join(out, files[0] as string);
    const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as Results;
    const measured = results.measurements.map((m) => m.variant).sort();
    assert.deepEqual(measured, ['exaproxy', 'haproxy'], `unexpected peers in the results; output:\n${output}`);
    for (const m of results.measurements) {
      assert.equal(m.scenario, 'small');
      assert.equal(m.error, undefined, `${m.variant}: ${m.error}`);
      assert.ok(m.requests > 0, `${m.variant} answered no request`);
      assert.equal(m.statusErrors, 0, `${m.variant}: responses that were not 2xx/3xx`);
      assert.equal(m.socketErrors, 0, `${m.variant}: socket errors`);
      assert.ok(m.cpuS > 0, `${m.variant}: no CPU time was read from /proc for the peer`);
      // The peak RSS split by process adds up to the tree's.
      const parts = (m.peakRssProcesses ?? []).reduce((sum, p) => sum + p.kib, 0);
      assert.ok(Math.abs(parts - m.peakRssKiB) <= m.peakRssKiB * 0.05, `${m.variant}: per-process peaks ${parts} KiB, tree ${m.peakRssKiB} KiB`);
    }

    // Every goal of the issue is in the JSON: the one the smoke run measures with its ratio, the
    // others marked as not measured (their scenarios or peers did not run).
    const byId = new Map(results.goals.map((g) => [g.id, g]));
    for (const id of ['connect-vs-squid', '1m-vs-relay', '1m-vs-haproxy', 'small-rss-vs-relay', 'idle-per-connection', 'small-vs-haproxy', 'helper-vs-squid', 'close-vs-haproxy']) {
      assert.ok(byId.has(id), `goal ${id} is missing from the results JSON`);
    }
    const small = byId.get('small-vs-haproxy') as Goal;
    const exaproxy = results.summaries[0]?.variants.find((v) => v.variant === 'exaproxy');
    assert.equal(small.value, exaproxy?.ratio.cpuUsPerReq, 'the small goal is the CPU ratio of the table');
    assert.ok(small.status === 'met' || small.status === 'missed', `small goal: ${small.status}`);
    assert.equal(byId.get('connect-vs-squid')?.status, 'not measured');
    assert.match(output, /\| small keep-alive: exaproxy CPU per request ÷ haproxy \| ≤ 1\.25× \| \d+\.\d\d× \| (met|missed) \|/, 'the goals table prints the small goal');
    assert.match(output, /\| CONNECT tunnels: exaproxy CPU per MiB ÷ squid \| ≤ 0\.8× \| – \| not measured \|/, 'an unmeasured goal is printed as such');

    // bench:compare: the run against itself has no regression; against a copy whose exaproxy CPU
    // ratio is twice as high, that ratio and the goal are flagged and the exit status is 1.
    const same = await runBench([resultsPath, resultsPath], 'compare.ts');
    assert.equal(same.code, 0, same.output);
    assert.match(same.output, /No regression beyond 10\.0%/);
    assert.match(same.output, /\| small keep-alive: exaproxy CPU per request ÷ haproxy \(≤ 1\.25×\) \| [\d.]+× (met|missed) \| [\d.]+× (met|missed) \| \+0\.0% \|/);
    const worse = structuredClone(results);
    const worseVariant = worse.summaries[0]?.variants.find((v) => v.variant === 'exaproxy');
    assert.ok(worseVariant?.ratio.cpuUsPerReq !== undefined);
    worseVariant.ratio.cpuUsPerReq *= 2;
    const worseGoal = worse.goals.find((g) => g.id === 'small-vs-haproxy') as Goal;
    worseGoal.value = (worseGoal.value as number) * 2;
    const worsePath = join(out, 'worse.json');
    writeFileSync(worsePath, JSON.stringify(worse));
    const regressed = await runBench([resultsPath, worsePath], 'compare.ts');
    assert.equal(regressed.code, 1, regressed.output);
    assert.match(regressed.output, /\*\*2 regression\(s\)\*\*/);
    assert.match(regressed.output, /\| small · exaproxy · CPU µs\/req \| [\d.]+× \| [\d.]+× \| \+100\.0% \| \*\*regression\*\* \|/);
    const unreadable = await runBench([resultsPath, join(out, 'missing.json')], 'compare.ts');
    assert.equal(unreadable.code, 2, unreadable.output);
    assert.match(unreadable.output, /npm run bench:compare: ENOENT/);
    assert.equal(code, 0, `the bench exited with ${code}; output:\n${output}`);
    assert.match(output, /\| exaproxy \|/, 'the markdown table lists exaproxy');
    assert.equal(readdirSync(out).filter((name) => name.endsWith('.svg')).length, 1, 'the bench wrote its SVG chart');
    assert.match(readFileSync(resultsPath.replace(/\.json$/, '.md'), 'utf8'), /### Goals/, 'the Markdown file has the goals');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
