// The helper pool: growth and shrink, queue bound, failure policies, timeouts, crashes,
// stderr floods, cache, resize and shutdown, with real helper processes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RedirectorPool } from '../src/redirector';
import type { DecideResult } from '../src/redirector';
import {
  RecordingLog, alive, fixture, options, readLines, replyPath, request, settlesWithin, tempDir, until, withPool,
} from './fixtures/redirectors/harness';

test('pool: grows toward maximum under a burst, then shrinks back to minimum when idle', async () => {
  const opts = options(fixture('scripted.py'), { minimum: 1, maximum: 4, queue: 20 });
  await withPool(opts, async (pool) => {
    const spawned: number[] = [];
    const exited: number[] = [];
    pool.on('spawn', ({ pid }: { pid: number }) => spawned.push(pid));
    pool.on('exit', ({ pid }: { pid: number }) => exited.push(pid));
    const burst = Array.from({ length: 10 }, (_, i) => pool.decide(request({ path: `/slow/300?${i}` })));
    assert.equal(pool.stats().size, 4, 'grown to maximum at once');
    assert.equal(pool.stats().queue, 6, 'the rest waits in the queue');
    for (const result of await Promise.all(burst)) assert.deepEqual(result.decision, { kind: 'permit' });
    assert.equal(spawned.length, 3);
    await until(() => pool.stats().size === 1, 5000, 'the pool to shrink back to minimum');
    await until(() => exited.length === 3, 5000, 'the three retired helpers to exit');
    assert.equal(pool.stats().crashes, 0, 'retirement is not a crash');
    assert.deepEqual((await pool.decide(request({ path: '/after' }))).decision, { kind: 'permit' });
  }, { shrinkIntervalMs: 200 });
});

test('pool: a full queue is answered by policy deny at once; queued requests still complete', async () => {
  const opts = options(fixture('scripted.py'), { minimum: 1, maximum: 1, queue: 1 });
  await withPool(opts, async (pool) => {
    const first = pool.decide(request({ path: '/slow/400' }));
    const second = pool.decide(request({ path: '/second' }));
    const third = await pool.decide(request({ path: '/third' }));
    assert.equal(third.decision.kind, 'deny');
    assert.match((third.decision as { reason: string }).reason, /queue is full/);
    assert.equal(third.verdict, '-');
    assert.deepEqual((await first).decision, { kind: 'permit' });
    assert.deepEqual((await second).decision, { kind: 'permit' });
    assert.equal(pool.stats().failures, 1);
  });
});

test('pool: with policy allow, a full queue forwards the request unchanged (as Squid)', async () => {
  const opts = options(fixture('scripted.py'), { minimum: 1, maximum: 1, queue: 0, failure: 'allow' });
  await withPool(opts, async (pool, log) => {
    const busy = pool.decide(request({ path: '/slow/300' }));
    const overflow = await pool.decide(request({ path: '/x' }));
    assert.deepEqual(overflow.decision, { kind: 'permit' });
    assert.match(overflow.failure ?? '', /queue is full/);
    assert.ok(log.has('failure policy "allow"', 'warn'));
    assert.deepEqual((await busy).decision, { kind: 'permit' });
  });
});

test('pool: a helper that does not answer within timeout is killed and replaced; decide() resolves by policy', async () => {
  const opts = options(fixture('scripted.py'), { minimum: 2, maximum: 3, timeout: 0.5 });
  await withPool(opts, async (pool) => {
    const killed: number[] = [];
    pool.on('timeout', ({ pid }: { pid: number }) => killed.push(pid));
    const hung = await settlesWithin(pool.decide(request({ path: '/hang' })), 3000, 'decide() on a hung helper');
    assert.equal(hung.decision.kind, 'deny');
    assert.match(hung.failure ?? '', /no answer within 0.5s|no verdict within 0.5s/);
    await until(() => killed.length === 1, 3000, 'the hung helper to time out');
    assert.equal(pool.stats().timeouts, 1, 'the timeout is the whole wait: no retry after it');
    await until(() => killed.every((pid) => !alive(pid)), 3000, 'the hung helper to be killed');
    assert.equal(pool.stats().size, 2, 'replaced up to minimum');
    assert.deepEqual((await pool.decide(request({ path: '/fine' }))).decision, { kind: 'permit' });
  });
});

test('pool: a helper crashing mid-request is replaced; the request is retried once, then the policy answers', async () => {
  const dir = tempDir();
  try {
    const opts = options(fixture('scripted.py', '--state', dir.path), { minimum: 2, maximum: 2, failure: 'allow' });
    await withPool(opts, async (pool) => {
      const once = await pool.decide(request({ path: '/crash-once/marker' }));
      assert.deepEqual(once.decision, { kind: 'permit' });
      assert.equal(once.failure, undefined, 'the retry on another helper answered');
      assert.equal(pool.stats().crashes, 1);

      const always = await pool.decide(request({ path: '/crash' }));
      assert.deepEqual(always.decision, { kind: 'permit' });
      assert.match(always.failure ?? '', /exited with code 3|closed its stdout/);
      assert.equal(pool.stats().crashes, 3);
      await until(() => pool.stats().size === 2, 3000, 'crashed helpers to be replaced');
      assert.deepEqual((await pool.decide(request({ path: replyPath('file://ok.html') }))).decision, { kind: 'file', name: 'ok.html' });
    });
  } finally {
    dir.remove();
  }
});

test('pool: a program that exits at start is reported and answered by policy, without a spawn storm', async () => {
  const opts = options(fixture('exit-at-start.sh'), { minimum: 2, maximum: 4 });
  await withPool(opts, async (pool, log) => {
    let spawns = 0;
    pool.on('spawn', () => spawns++);
    const results: DecideResult[] = [];
    for (let i = 0; i < 5; i++) results.push(await settlesWithin(pool.decide(request({ path: `/${i}` })), 12_000, 'decide()'));
    for (const result of results) assert.equal(result.decision.kind, 'deny');
    assert.ok(log.has('Check redirector.program', 'error'));
    await until(() => log.entries.some((e) => (e.fields as { stderr?: string }).stderr === 'exit-at-start: refusing to run'), 3000, 'its stderr to be logged');
    assert.ok(spawns < 20, `spawns are backed off (${spawns})`);
  });
});

test('pool: a program that cannot be started is reported and answered by policy', async () => {
  const opts = options(['/nonexistent/redirector-helper'], { failure: 'allow' });
  await withPool(opts, async (pool, log) => {
    const result = await settlesWithin(pool.decide(request()), 5000, 'decide()');
    assert.deepEqual(result.decision, { kind: 'permit' });
    assert.match(result.failure ?? '', /no redirector helper is running/);
    await until(() => log.has('Check redirector.program', 'error'), 3000, 'the start error to be logged');
    assert.ok(log.has('could not be started: spawn /nonexistent/redirector-helper ENOENT', 'error'));
  });
});

test('pool: a helper flooding stderr (MBs) never blocks; stderr is logged with a rate limit', async () => {
  await withPool(options(fixture('scripted.py'), { minimum: 1, maximum: 1 }), async (pool, log) => {
    const result = await pool.decide(request({ path: '/stderr/4096' })); // 4 MiB, far beyond a pipe buffer
    assert.deepEqual(result.decision, { kind: 'permit' });
    assert.deepEqual((await pool.decide(request({ path: '/stderr/1024' }))).decision, { kind: 'permit' });
    assert.equal(pool.stats().crashes + pool.stats().timeouts, 0);
    await pool.close(); // the helper's exit reports what the rate limit left out
    const lines = log.entries.filter((e) => 'stderr' in e.fields);
    assert.ok(lines.length > 0 && lines.length < 1000, `stderr lines logged: ${lines.length} of 81920 written`);
    assert.ok(log.has('not logged (rate limit)', 'warn'));
  });
});

test('pool: output nobody asked for gets a one-at-a-time helper replaced', async () => {
  await withPool(options(fixture('scripted.py'), { minimum: 1, maximum: 1 }), async (pool, log) => {
    assert.deepEqual((await pool.decide(request({ path: '/extra' }))).decision, { kind: 'permit' });
    await until(() => log.has('while no request was pending', 'error'), 3000, 'the extra line to be noticed');
    assert.deepEqual((await pool.decide(request({ path: replyPath('file://next.html') }))).decision, { kind: 'file', name: 'next.html' });
  });
});

test('pool: the cache reuses verdicts keyed by the exact helper query and counts hits and misses', async () => {
  const dir = tempDir();
  const record = join(dir.path, 'lines');
  try {
    const opts = options(fixture('scripted.py', '--record', record), { protocol: 'squid', concurrency: 3, cache: 60, minimum: 1, maximum: 1 });
    await withPool(opts, async (pool) => {
      const path = replyPath('OK url="http://block.example/"');
      const first = await pool.decide(request({ path }));
      const second = await pool.decide(request({ path }));
      const otherClient = await pool.decide(request({ path, clientIp: '192.0.2.99' }));
      assert.equal(first.cached, false);
      assert.equal(second.cached, true);
      assert.deepEqual(second.decision, first.decision);
      assert.equal(second.verdict, 'OK url="http://block.example/"');
      assert.equal(otherClient.cached, false, 'the client IP is part of the query');
      const stats = pool.stats();
      assert.equal(stats.cacheHits, 1);
      assert.equal(stats.cacheMisses, 2);
      assert.equal(readLines(record).length, 2, 'the helper was asked twice, not three times');
      assert.match(readLines(record)[1]!, /^2 /, 'channel-IDs differ but the cache key ignores them');
    });
    const off = options(fixture('scripted.py'), { cache: 0 });
    await withPool(off, async (pool) => {
      await pool.decide(request());
      assert.equal((await pool.decide(request())).cached, false);
      assert.equal(pool.stats().cacheHits, 0);
    });
  } finally {
    dir.remove();
  }
});

test('pool: resize at run time spawns up to the new minimum and retires above the new maximum', async () => {
  await withPool(options(fixture('scripted.py'), { minimum: 1, maximum: 1 }), async (pool) => {
    const exits: number[] = [];
    pool.on('exit', ({ pid }: { pid: number }) => exits.push(pid));
    pool.resize(3, 5);
    assert.equal(pool.stats().size, 3);
    assert.equal(pool.stats().maximum, 5);
    pool.resize(1, 1);
    assert.equal(pool.stats().size, 1);
    await until(() => exits.length === 2, 3000, 'the two retired helpers to exit');
    assert.deepEqual((await pool.decide(request())).decision, { kind: 'permit' });
    assert.throws(() => pool.resize(3, 2), /redirector\.minimum: 3 is not valid/);
  });
});

test('pool: helpers run in their own process group (a terminal ^C does not reach them)', async () => {
  await withPool(options(fixture('scripted.py'), { minimum: 1, maximum: 1 }), async (pool) => {
    const pids: number[] = [];
    pool.on('spawn', ({ pid }: { pid: number }) => pids.push(pid));
    pool.resize(2, 2);
    assert.equal(pids.length, 1);
    const stat = readFileSync(`/proc/${pids[0]}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(fields[2]), pids[0], 'process group id is the helper pid');
    assert.notEqual(Number(fields[2]), process.pid);
  });
});

test('pool: close() answers pending requests by policy and stops every helper', async () => {
  const log = new RecordingLog();
  const pool = new RedirectorPool(options(fixture('scripted.py'), { minimum: 2, maximum: 2, timeout: 30 }), log, { stopGraceMs: 500 });
  const pids: number[] = [];
  const signals: Array<string | null> = [];
  pool.on('spawn', ({ pid }: { pid: number }) => pids.push(pid));
  pool.on('exit', ({ signal }: { signal: string | null }) => signals.push(signal));
  pool.start();
  const pending = pool.decide(request({ path: '/hang' }));
  await new Promise((r) => setTimeout(r, 200)); // let the helper read the request and start hanging
  await pool.close();
  const result = await pending;
  assert.equal(result.decision.kind, 'deny');
  assert.match(result.failure ?? '', /closing/);
  assert.equal(pids.length, 2);
  for (const pid of pids) assert.equal(alive(pid), false, `helper ${pid} stopped`);
  assert.ok(signals.includes('SIGTERM'), `the hung helper was stopped by SIGTERM (${signals.join(', ')})`);
  const after = await pool.decide(request());
  assert.equal(after.decision.kind, 'deny');
  assert.match(after.failure ?? '', /closed/);
});

test('pool: options are checked with one clear line per problem', () => {
  const log = new RecordingLog();
  const bad = (overrides: object) => () => new RedirectorPool({ ...options(['/bin/true']), ...overrides }, log);
  assert.throws(bad({ program: [] }), /redirector\.program: \[\] is not valid; use the helper command line/);
  assert.throws(bad({ protocol: 'icap' }), /redirector\.protocol: "icap" is not valid; use url, squid or icap:\/\/NAME/);
  assert.throws(bad({ minimum: 5, maximum: 2 }), /redirector\.minimum: 5 is not valid/);
  assert.throws(bad({ timeout: 0 }), /redirector\.timeout: 0 is not valid; use a number of seconds > 0/);
  assert.throws(bad({ failure: 'maybe' }), /redirector\.failure: "maybe" is not valid; use deny/);
  assert.throws(bad({ queue: -1 }), /redirector\.queue/);
});

test('pool: no decide() is ever pending past timeout, whatever the helpers do', async () => {
  const dir = tempDir();
  try {
    const timeout = 0.5;
    const opts = options(fixture('scripted.py', '--state', dir.path), { minimum: 2, maximum: 4, queue: 6, timeout, failure: 'allow' });
    await withPool(opts, async (pool) => {
      const paths = ['/hang', '/crash', '/slow/100', '/', replyPath('garbage'), '/slow/900', '/stderr/64', '/extra'];
      const all: Array<Promise<DecideResult>> = [];
      for (let round = 0; round < 3; round++) {
        for (const path of paths) {
          // The timeout, plus slack for a loaded machine: what matters is that nothing hangs.
          all.push(settlesWithin(pool.decide(request({ path: `${path}?${round}` })), timeout * 1000 + 2000, `decide(${path})`));
        }
      }
      const results = await Promise.all(all);
      assert.equal(results.length, 24);
      for (const result of results) assert.ok(['permit', 'error'].includes(result.decision.kind), JSON.stringify(result));
      assert.equal(pool.stats().queue, 0);
      // A /hang that waited in the queue is answered by policy before its helper's own timeout.
      await until(() => pool.stats().timeouts >= 3, 3000, 'every /hang round to time out');
    });
  } finally {
    dir.remove();
  }
});

test('pool: a quick helper stays quick while the proxy itself is busy: its answers waiting to be read are not its slowness', async () => {
  await withPool(options(fixture('scripted.py'), { minimum: 2, maximum: 2, pipeline: 3, queue: 0 }), async (pool) => {
    // Past the quiet period, and enough answers that a first slow one (a helper just started)
    // no longer weighs in the moving average of either helper.
    for (let i = 0; i < 30; i++) await Promise.all([pool.decide(request({ path: `/warm?${i}a` })), pool.decide(request({ path: `/warm?${i}b` }))]);
    // The helpers answer at once, but the event loop is kept from reading those answers for
    // 400 ms, as a proxy busy with other connections would be (long enough for the helpers to
    // have answered within it on a loaded machine: a later answer would be real slowness).
    const answered = [pool.decide(request({ path: '/busy?1' })), pool.decide(request({ path: '/busy?2' }))];
    await new Promise((resolve) => setImmediate(resolve)); // the requests leave
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400); // the thread blocked: the loop is not waiting for events
    for (const result of await Promise.all(answered)) assert.deepEqual(result.decision, { kind: 'permit' });
    // Still quick: six requests go three to each helper; none needs the queue (0: it would deny).
    const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.decide(request({ path: `/after?${i}` }))));
    for (const result of burst) assert.deepEqual(result.decision, { kind: 'permit' });
    assert.equal(pool.stats().failures, 0);
  });
});

test('pool: with pipeline N, quick helpers at maximum take N requests each in order; slow helpers get none ahead', async () => {
  const dir = tempDir();
  const record = join(dir.path, 'lines');
  const opts = options(fixture('scripted.py', '--record', record), { minimum: 2, maximum: 2, pipeline: 3, queue: 0 });
  await withPool(opts, async (pool) => {
    // Fresh helpers count as quick: six requests, two helpers, three each; nothing queues
    // (queue 0 would deny) and every answer comes back in order.
    const burst = Array.from({ length: 6 }, (_, i) => pool.decide(request({ path: `/slow/50?n=${i}` })));
    assert.equal(pool.stats().queue, 0);
    assert.equal(pool.stats().inFlight, 6);
    assert.equal(pool.stats().busy, 2);
    for (const result of await Promise.all(burst)) assert.deepEqual(result.decision, { kind: 'permit' });
    assert.equal(pool.stats().failures, 0);
    // Now both helpers are known to take 50 ms or more: one request each, and the third
    // has nowhere to wait (queue 0), so the failure policy answers it.
    const again = [pool.decide(request({ path: '/slow/50?m=1' })), pool.decide(request({ path: '/slow/50?m=2' }))];
    const third = await pool.decide(request({ path: '/third' }));
    assert.equal(third.decision.kind, 'deny');
    for (const result of await Promise.all(again)) assert.deepEqual(result.decision, { kind: 'permit' });
    assert.equal(readLines(record).length, 8);
  });
  dir.remove();
});
