// Stats: the counters the data path feeds, their snapshot, and merging across workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stats, retired, emptySnapshot, DECISIONS, METHOD_NAMES, LATENCY_BUCKETS_MS } from '../src/monitor/stats';
import { Outcome } from '../src/log/outcome';

test('every call lands in its counter', () => {
  const s = new Stats();
  s.clientOpened('10.0.0.1');
  s.clientOpened('10.0.0.1');
  s.clientOpened('10.0.0.2');
  s.clientClosed('10.0.0.2');
  s.requestStarted(1);
  s.requestStarted(6);
  s.requestStarted(999);
  s.decision(Outcome.Permit, 0.3);
  s.decision(Outcome.Deny, 30);
  s.decision(Outcome.Local, 20000);
  s.responseSent(200);
  s.responseSent(404);
  s.responseSent(999);
  s.bytesFromClient(10);
  s.bytesToClient(100);
  s.bytesToClient(5, true);
  s.bytesToUpstream(20);
  s.bytesFromUpstream(200);
  s.upstreamOpened();
  s.upstreamOpened();
  s.upstreamClosed();
  s.upstreamLatency(3);
  s.dnsHit();
  s.dnsMiss();
  s.dnsMiss();
  const snap = JSON.parse(JSON.stringify(s.snapshot()));
  assert.equal(snap.counters.requests, 3);
  assert.equal(snap.methods[1], 1);
  assert.equal(snap.methods[6], 1);
  assert.equal(snap.methods[0], 1, 'unknown method ids count as other');
  assert.equal(METHOD_NAMES[6], 'CONNECT');
  assert.equal(snap.decisions[DECISIONS.indexOf('permit')], 1);
  assert.equal(snap.decisions[DECISIONS.indexOf('deny')], 1);
  assert.equal(snap.decisions[DECISIONS.indexOf('local')], 1);
  assert.deepEqual(snap.statuses, [1, 0, 1, 0, 1, 0]);
  assert.equal(snap.decisionLatency.count, 3);
  assert.equal(snap.decisionLatency.buckets[0], 1, '0.3 ms falls in the first bucket');
  assert.equal(snap.decisionLatency.buckets[LATENCY_BUCKETS_MS.indexOf(50)], 1, '30 ms falls in the 50 ms bucket');
  assert.equal(snap.decisionLatency.buckets[LATENCY_BUCKETS_MS.length], 1, '20 s falls in +Inf');
  assert.equal(snap.decisionLatency.sumMs, 20030.3);
  assert.deepEqual(snap.clientIps, { '10.0.0.1': 2 });
  assert.equal(snap.gauges.clientsOpen, 2);
  assert.equal(snap.counters.clientsTotal, 3);
  assert.equal(snap.counters.bytesToClient, 105);
  assert.equal(snap.counters.bytesToClient6, 5);
  assert.equal(snap.counters.bytesFromUpstream, 200);
  assert.equal(snap.gauges.upstreamOpen, 1);
  assert.equal(snap.counters.upstreamTotal, 2);
  assert.equal(snap.upstreamLatency.count, 1);
  assert.deepEqual([snap.counters.dnsHits, snap.counters.dnsMisses], [1, 2]);
  assert.ok(snap.gauges.rss > 0 && snap.counters.cpuMicros > 0);
});

test('merge sums workers; a retired worker keeps its counters but not its gauges', () => {
  const a = new Stats();
  const b = new Stats();
  a.clientOpened('10.0.0.1');
  b.clientOpened('10.0.0.1');
  b.clientOpened('10.0.0.9');
  a.requestStarted(1);
  b.requestStarted(1);
  b.decision(Outcome.Error, 2);
  const merged = Stats.merge([a.snapshot(), b.snapshot()]);
  assert.equal(merged.counters.requests, 2);
  assert.equal(merged.methods[1], 2);
  assert.equal(merged.gauges.clientsOpen, 3);
  assert.equal(merged.gauges.processes, 2);
  assert.deepEqual(merged.clientIps, { '10.0.0.1': 2, '10.0.0.9': 1 });
  const gone = retired(b.snapshot());
  assert.equal(gone.counters.requests, 1);
  assert.equal(gone.gauges.clientsOpen, 0);
  assert.deepEqual(gone.clientIps, {});
  const after = Stats.merge([a.snapshot(), gone]);
  assert.equal(after.counters.requests, 2, 'the total does not go backwards');
  assert.equal(after.gauges.clientsOpen, 1);
  assert.equal(after.decisionLatency.count, 1);
});

test('the event-loop delay is the longest seen since the last snapshot; merged, the worst process, not a sum', async () => {
  const stats = new Stats();
  await new Promise((r) => setTimeout(r, 50)); // the sampling timer has run
  stats.snapshot();
  const until = Date.now() + 120;
  while (Date.now() < until); // the loop is blocked for 120 ms
  await new Promise((r) => setTimeout(r, 30));
  const blocked = stats.snapshot().gauges.eventLoopDelayMs;
  assert.ok(blocked >= 100, `a 120 ms block shows (${blocked} ms)`);
  const a = { ...emptySnapshot(), gauges: { ...emptySnapshot().gauges, eventLoopDelayMs: 30, processes: 1 } };
  const b = { ...emptySnapshot(), gauges: { ...emptySnapshot().gauges, eventLoopDelayMs: 70, processes: 1 } };
  assert.equal(Stats.merge([a, b]).gauges.eventLoopDelayMs, 70);
});
