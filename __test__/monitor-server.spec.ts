// The monitor web server, started for real on 127.0.0.1 with a real Stats fed by calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMonitor, type Log } from '../src/monitor/server';
import { Stats, LATENCY_BUCKETS_MS } from '../src/monitor/stats';
import { exaproxyConfiguration } from '../src/monitor/configuration';
import { isLoopback } from '../src/monitor/control';
import type { PoolStats } from '../src/monitor/pool';
import { Outcome } from '../src/log/outcome';

const quiet: Log = { info() {}, warn() {}, error() {}, debug() {} };

/** A helper pool double with the shape src/redirector exposes: its limits really change. */
function pool(): { stats(): PoolStats; resize(min: number, max: number): void } {
  const state: PoolStats = { size: 3, busy: 1, queue: 4, timeouts: 2, crashes: 1, requests: 50, cacheHits: 7, cacheMisses: 43, minimum: 3, maximum: 10 };
  return {
    stats: () => ({ ...state }),
    resize(min, max) {
      state.minimum = min;
      state.maximum = max;
    },
  };
}

async function withMonitor(
  token: string | undefined,
  run: (base: string, stats: Stats, calls: string[], helpers: ReturnType<typeof pool>) => Promise<void>,
): Promise<void> {
  const stats = new Stats();
  const helpers = pool();
  const calls: string[] = [];
  const monitor = await startMonitor({
    host: '127.0.0.1',
    port: 0,
    token,
    stats: () => {
      const s = stats.snapshot();
      return s;
    },
    pool: helpers,
    configJson: () => exaproxyConfiguration({ tcp4: { port: 3128, host: '127.0.0.1' }, daemon: { speed: 2, daemonize: false }, log: { web: true }, security: { connect: [443, 981] }, web: { token: 'secret', port: 8080 } }),
    control: {
      resize: (min, max) => {
        calls.push(`resize ${min} ${max}`);
        helpers.resize(min, max);
      },
      listen: (on) => void calls.push(`listen ${on}`),
      debug: (on) => void calls.push(`debug ${on}`),
      reopen: () => void calls.push('reopen'),
    },
    recentLogs: () => ['line one', 'line two'],
    log: quiet,
    sampleMs: 40,
    identifier: 'TestProxy',
    pidSaved: () => true,
  });
  try {
    await run(`http://127.0.0.1:${monitor.port}`, stats, calls, helpers);
  } finally {
    await monitor.close();
  }
}

function traffic(stats: Stats): void {
  stats.clientOpened('10.1.1.1');
  stats.clientOpened('10.1.1.1');
  stats.clientOpened('10.2.2.2');
  stats.requestStarted(1);
  stats.requestStarted(3);
  stats.decision(Outcome.Permit, 2);
  stats.decision(Outcome.Deny, 40);
  stats.responseSent(200);
  stats.responseSent(403);
  stats.bytesFromClient(300);
  stats.bytesToClient(4000);
  stats.bytesToClient(96, true);
  stats.bytesToUpstream(310);
  stats.bytesFromUpstream(3900);
  stats.upstreamOpened();
  stats.upstreamLatency(12);
  stats.dnsHit();
  stats.dnsMiss();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function getJson(url: string): Promise<Json> {
  return (await fetch(url)).json();
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `metric ${series} present`);
  return Number(line.slice(series.length + 1));
}

test('/json/running has ExaProxy keys, and they follow the traffic', async () => {
  await withMonitor(undefined, async (base, stats) => {
    const before = await getJson(`${base}/json/running`);
    assert.deepEqual(Object.keys(before), [
      'clients.requests', 'clients.silent', 'clients.speaking', 'load.events', 'load.loops', 'pid.saved',
      'processes.forked', 'processes.max', 'processes.min', 'queue.size', 'servers.established', 'servers.opening',
      'transfer.client', 'transfer.client4', 'transfer.client6', 'transfer.content', 'transfer.content4', 'transfer.content6',
    ]);
    assert.equal(before['clients.requests'], 0);
    traffic(stats);
    const res = await fetch(`${base}/json/running`);
    assert.match(res.headers.get('content-type') ?? '', /json/);
    const text = await res.text();
    assert.match(text, /^\{\n {2}"clients\.requests": 2,/, 'sorted and indented like ExaProxy');
    const after = JSON.parse(text);
    assert.equal(after['clients.speaking'], 3);
    assert.equal(after['servers.established'], 1);
    assert.equal(after['transfer.client'], 4096);
    assert.equal(after['transfer.client6'], 96);
    assert.equal(after['transfer.content'], 310);
    assert.equal(after['queue.size'], 4);
    assert.deepEqual([after['processes.forked'], after['processes.min'], after['processes.max']], [3, 3, 10]);
    assert.equal(after['pid.saved'], true);
  });
});

test('/json/configuration uses ExaProxy key names and hides web.token; /json lists the paths', async () => {
  await withMonitor(undefined, async (base) => {
    const conf = await getJson(`${base}/json/configuration`);
    assert.equal(conf['exaproxy.tcp4.port'], 3128);
    assert.equal(conf['exaproxy.daemon.sleep'], 2);
    assert.equal(conf['exaproxy.daemon.deamonize'], false);
    assert.equal(conf['exaproxy.log.level.web'], true);
    assert.equal(conf['exaproxy.security.connect'], '443 981');
    assert.equal(conf['exaproxy.web.token'], undefined);
    const index = await getJson(`${base}/json`);
    assert.ok(index['valid-paths'].includes('/json/running'));
    assert.ok(index['valid-paths'].includes('/json/configuration'));
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /valid pages: .*\/metrics/);
    assert.equal((await fetch(`${base}/${'a'.repeat(5001)}`)).status, 414);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  });
});

test('/metrics is valid Prometheus text and changes with traffic', async () => {
  await withMonitor(undefined, async (base, stats) => {
    const res0 = await fetch(`${base}/metrics`);
    assert.match(res0.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const m0 = await res0.text();
    assert.equal(metric(m0, 'exaproxy_requests_total{method="GET"}'), 0);
    traffic(stats);
    const m1 = await (await fetch(`${base}/metrics`)).text();
    // Every line is a comment (HELP/TYPE) or `name{labels} value`.
    for (const line of m1.trimEnd().split('\n')) {
      assert.match(line, /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z]+="[^"]*"\})? -?[0-9.e+]+)$/, line);
    }
    assert.equal(metric(m1, 'exaproxy_requests_total{method="GET"}'), 1);
    assert.equal(metric(m1, 'exaproxy_requests_total{method="POST"}'), 1);
    assert.equal(metric(m1, 'exaproxy_decisions_total{decision="permit"}'), 1);
    assert.equal(metric(m1, 'exaproxy_decisions_total{decision="deny"}'), 1);
    assert.equal(metric(m1, 'exaproxy_responses_total{class="2xx"}'), 1);
    assert.equal(metric(m1, 'exaproxy_responses_total{class="4xx"}'), 1);
    assert.equal(metric(m1, 'exaproxy_client_received_bytes_total'), 300);
    assert.equal(metric(m1, 'exaproxy_client_sent_bytes_total{family="ipv4"}'), 4000);
    assert.equal(metric(m1, 'exaproxy_upstream_received_bytes_total'), 3900);
    assert.equal(metric(m1, 'exaproxy_client_connections'), 3);
    assert.equal(metric(m1, 'exaproxy_upstream_connections_total'), 1);
    assert.equal(metric(m1, 'exaproxy_helpers_queue'), 4);
    assert.equal(metric(m1, 'exaproxy_helper_crashes_total'), 1);
    assert.equal(metric(m1, 'exaproxy_dns_cache_misses_total'), 1);
    assert.equal(metric(m1, 'exaproxy_decision_duration_seconds_count'), 2);
    assert.equal(metric(m1, 'exaproxy_decision_duration_seconds_bucket{le="0.0025"}'), 1);
    assert.equal(metric(m1, 'exaproxy_decision_duration_seconds_bucket{le="0.05"}'), 2);
    assert.equal(metric(m1, 'exaproxy_decision_duration_seconds_bucket{le="+Inf"}'), 2);
    assert.equal(metric(m1, 'exaproxy_decision_duration_seconds_sum'), 0.042);
    assert.equal(metric(m1, 'exaproxy_upstream_latency_seconds_bucket{le="0.025"}'), 1);
    assert.ok(metric(m1, 'process_cpu_seconds_total') > 0);
    assert.ok(metric(m1, 'process_resident_memory_bytes') > 1e6);
    // Buckets are cumulative: never decreasing.
    let previous = 0;
    for (const ms of LATENCY_BUCKETS_MS) {
      const v = metric(m1, `exaproxy_decision_duration_seconds_bucket{le="${ms / 1000}"}`);
      assert.ok(v >= previous);
      previous = v;
    }
  });
});

test('history, clients and logs feed the dashboard; the page loads nothing from elsewhere', async () => {
  await withMonitor(undefined, async (base, stats) => {
    traffic(stats);
    let history = await getJson(`${base}/json/history`);
    for (let i = 0; i < 100 && history.seconds.every((p: { requests: number }) => p.requests === 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
      history = await getJson(`${base}/json/history`);
    }
    const point = history.seconds.find((p: { requests: number }) => p.requests > 0);
    assert.ok(point, 'a sample shows the requests');
    assert.equal(point.requests, 2);
    assert.equal(point.bytesIn, 4200);
    assert.equal(point.decisions[history.decisions.indexOf('deny')], 1);
    const dash = await getJson(`${base}/json/dashboard`);
    assert.deepEqual(dash.clients, { '10.1.1.1': 2, '10.2.2.2': 1 });
    assert.deepEqual(dash.logs, ['line one', 'line two']);
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'nonce-/);
    const html = await page.text();
    assert.match(html, /<canvas|createElement\('figure'\)/);
    assert.match(html, /TestProxy/);
    assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, 'no external resource');
  });
});

test('control: POST only, token required when configured, actions reach the control object', async () => {
  await withMonitor('s3cret', async (base, _stats, calls, helpers) => {
    const get = await fetch(`${base}/control/listen?on=false`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await fetch(`${base}/control/listen?on=false`, { method: 'POST' })).status, 403);
    const wrong = await fetch(`${base}/control/listen?on=false`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 403);
    assert.match(await wrong.text(), /web\.token/);
    assert.deepEqual(calls, [], 'nothing happened before a valid token');
    const auth = { authorization: 'Bearer s3cret' };
    assert.equal((await fetch(`${base}/control/listen`, { method: 'POST', headers: auth, body: new URLSearchParams({ on: 'false' }) })).status, 200);
    assert.equal((await fetch(`${base}/control/debug?on=on`, { method: 'POST', headers: { 'x-exaproxy-token': 's3cret' } })).status, 200);
    assert.equal((await fetch(`${base}/control/reopen?token=s3cret`, { method: 'POST' })).status, 200);
    const resize = await fetch(`${base}/control/pool`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ minimum: 2, maximum: 8 }),
    });
    assert.equal(resize.status, 200);
    assert.equal(helpers.stats().maximum, 8);
    const half = await fetch(`${base}/control/pool?exaproxy.redirector.maximum=12`, { method: 'POST', headers: auth });
    assert.deepEqual((await half.json()) as unknown, { ok: true, minimum: 2, maximum: 12 });
    const invalid = await fetch(`${base}/control/pool?minimum=9&maximum=3`, { method: 'POST', headers: auth });
    assert.equal(invalid.status, 400);
    assert.match(await invalid.text(), /minimum <= maximum/);
    assert.equal((await fetch(`${base}/control/debug?on=maybe`, { method: 'POST', headers: auth })).status, 400);
    assert.equal((await fetch(`${base}/control/eval?python=1`, { method: 'POST', headers: auth })).status, 404);
    assert.deepEqual(calls, ['listen false', 'debug true', 'reopen', 'resize 2 8', 'resize 2 12']);
    const running = await getJson(`${base}/json/running`);
    assert.equal(running['processes.max'], 12);
  });
});

test('control without a configured token is still loopback-only', () => {
  assert.ok(isLoopback('127.0.0.1'));
  assert.ok(isLoopback('127.8.9.10'));
  assert.ok(isLoopback('::1'));
  assert.ok(isLoopback('::ffff:127.0.0.1'));
  assert.ok(!isLoopback('10.0.0.1'));
  assert.ok(!isLoopback('::ffff:10.0.0.1'));
  assert.ok(!isLoopback('2001:db8::1'));
  assert.ok(!isLoopback(undefined));
});

test('a taken port gives a clear error naming web.port', async () => {
  await withMonitor(undefined, async (base) => {
    const port = Number(new URL(base).port);
    await assert.rejects(
      startMonitor({ host: '127.0.0.1', port, stats: () => new Stats().snapshot(), configJson: () => ({}), control: { resize() {}, listen() {}, debug() {} }, recentLogs: () => [], log: quiet }),
      /web\.host\/web\.port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\); choose another web\.port/,
    );
  });
});
