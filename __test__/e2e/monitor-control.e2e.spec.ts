/**
 * The monitor's control actions of a real exaproxy, asked with real curl: who may use them
 * (token or explicit opt-in, Host/Origin of the monitor itself, never through the proxy), the
 * pool limits they may set, and /control/reopen with and without a log file.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, freePort, startOrigin, until, type Origin } from '../helpers/net';

const work = mkdtempSync(join(tmpdir(), 'exaproxy-control-'));
let origin: Origin;

before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

interface Instance {
  proxy: RunningExaproxy;
  monitor: string;
  webPort: number;
}

async function start(extra: string[]): Promise<Instance> {
  const webPort = await freePort();
  const proxy = await startExaproxy(testArgs([`--web.enable=true`, `--web.port=${webPort}`, `--security.local=127.0.0.1:*`, ...extra]));
  const monitor = `http://127.0.0.1:${webPort}`;
  await until(async () => (await curl(['-o', '/dev/null', '-w', '%{http_code}', `${monitor}/metrics`])).stdout === '200', 'the monitor', () => proxy.stderr());
  return { proxy, monitor, webPort };
}

/** POSTs a control action with curl; resolves with the status and the body. */
async function post(url: string, args: string[] = []): Promise<{ status: number; body: string }> {
  const r = await curl(['-X', 'POST', '-w', '\n%{http_code}', ...args, url]);
  const at = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
}

async function served(proxy: RunningExaproxy): Promise<boolean> {
  const r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', proxy.url, `http://127.0.0.1:${origin.port}/up`]);
  return r.stdout === '200';
}

test('control actions are refused without web.token unless web.open-control=true is set', async () => {
  const closed = await start([]);
  try {
    const refused = await post(`${closed.monitor}/control/listen?on=false`);
    assert.equal(refused.status, 403);
    assert.match(refused.body, /web\.token/);
    assert.match(refused.body, /web\.open-control=true/);
    assert.equal((await post(`${closed.monitor}/control/debug?on=true`)).status, 403);
    assert.ok(await served(closed.proxy), 'still listening');
  } finally {
    await closed.proxy.stop();
  }
  const open = await start(['--web.open-control=true']);
  try {
    assert.equal((await post(`${open.monitor}/control/listen?on=false`)).status, 200);
    await until(async () => !(await served(open.proxy)), 'no longer listening');
  } finally {
    await open.proxy.stop();
  }
});

test('control actions need a Host naming the monitor and no foreign Origin (CSRF, DNS rebinding)', async () => {
  const m = await start(['--web.token=t0ken']);
  try {
    const auth = ['-H', 'Authorization: Bearer t0ken'];
    const rebound = await post(`${m.monitor}/control/debug?on=true`, [...auth, '-H', `Host: attacker.example:${m.webPort}`]);
    assert.equal(rebound.status, 403);
    assert.match(rebound.body, /Host header naming the monitor/);
    assert.equal((await post(`${m.monitor}/control/debug?on=true`, [...auth, '-H', `Host: 127.0.0.1:${m.webPort + 1}`])).status, 403, 'another port');
    const csrf = await post(`${m.monitor}/control/debug?on=true`, [...auth, '-H', 'Origin: http://attacker.example']);
    assert.equal(csrf.status, 403);
    assert.match(csrf.body, /another origin/);
    assert.equal((await post(`${m.monitor}/control/debug?on=true`, [...auth, '-H', 'Origin: null'])).status, 403);
    assert.equal((await post(`${m.monitor}/control/debug?on=true`, [...auth, '-H', `Origin: http://127.0.0.1:${m.webPort}`])).status, 200, 'same origin');
    assert.equal((await post(`${m.monitor}/control/debug?on=false`, [...auth, '-H', `Host: localhost:${m.webPort}`])).status, 200, 'localhost');
    assert.equal((await post(`${m.monitor}/control/debug?on=false`, auth)).status, 200);
  } finally {
    await m.proxy.stop();
  }
});

test('control actions relayed by the proxy are refused, even with Via and X-Forwarded-For turned off', async () => {
  for (const extra of [[], ['--http.transparent=true'], ['--http.via=false', '--http.xff=leave']]) {
    const m = await start(['--web.token=t0ken', ...extra]);
    try {
      // security.local=127.0.0.1:* lets proxy clients reach the monitor's port: the page is
      // fetched, but the control action is refused and the proxy keeps listening.
      const page = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', m.proxy.url, `${m.monitor}/json/running`]);
      assert.equal(page.stdout, '200', `${extra.join(' ')}: the read-only pages are reachable`);
      const relayed = await post(`${m.monitor}/control/listen?on=false`, ['-x', m.proxy.url, '-H', 'Authorization: Bearer t0ken']);
      assert.equal(relayed.status, 403, `${extra.join(' ')}: ${relayed.body}`);
      // Without the headers, the monitor recognises the proxy's own outgoing connection.
      assert.match(relayed.body, extra.length === 0 ? /through a proxy \(the request has a via header\)/ : /through the proxy;/);
      assert.ok(await served(m.proxy), 'still listening');
      assert.equal((await post(`${m.monitor}/control/listen?on=false`, ['-H', 'Authorization: Bearer t0ken'])).status, 200, 'directly: accepted');
    } finally {
      await m.proxy.stop();
    }
  }
});

test('/control/pool cannot raise the helper pool above redirector.maximum', async () => {
  const helper = join(work, 'helper.py');
  writeFileSync(helper, '#!/usr/bin/env python3\nimport sys\nfor line in sys.stdin:\n    sys.stdout.write("\\n"); sys.stdout.flush()\n');
  chmodSync(helper, 0o755);
  const m = await start(['--web.token=t0ken', '--redirector.enable=true', `--redirector.program=${helper}`, '--redirector.minimum=1', '--redirector.maximum=3']);
  try {
    const auth = ['-H', 'Authorization: Bearer t0ken'];
    const big = await post(`${m.monitor}/control/pool?minimum=60&maximum=999999`, auth);
    assert.equal(big.status, 200, big.body);
    const answer = JSON.parse(big.body) as { minimum: number; maximum: number; clamped?: string };
    assert.deepEqual([answer.minimum, answer.maximum], [3, 3]);
    assert.match(answer.clamped ?? '', /redirector\.maximum is 3/);
    let running: Record<string, number> = {};
    await until(async () => {
      running = JSON.parse((await curl([`${m.monitor}/json/running`])).stdout) as Record<string, number>;
      return running['processes.max'] === 3 && running['processes.forked'] === 3;
    }, 'the pool at its configured maximum', () => JSON.stringify(running));
    assert.ok(running['processes.forked'] <= 3);
    // Lowering stays possible.
    assert.deepEqual(JSON.parse((await post(`${m.monitor}/control/pool?minimum=1&maximum=2`, auth)).body), { ok: true, minimum: 1, maximum: 2 });
  } finally {
    await m.proxy.stop();
  }
});

test('/control/reopen answers 409 without a log file, and reopens the access log after logrotate moved it', async () => {
  const none = await start(['--web.token=t0ken']);
  try {
    const r = await post(`${none.monitor}/control/reopen`, ['-H', 'Authorization: Bearer t0ken']);
    assert.equal(r.status, 409);
    assert.match(r.body, /no log file to reopen/);
  } finally {
    await none.proxy.stop();
  }
  const file = join(work, 'access.log');
  const m = await start(['--web.token=t0ken', '--usage.enable=true', `--usage.destination=${file}`]);
  try {
    assert.ok(await served(m.proxy));
    await until(() => existsSync(file) && readFileSync(file, 'utf8').includes('/up'), 'the first access line');
    renameSync(file, `${file}.1`);
    assert.equal((await post(`${m.monitor}/control/reopen`, ['-H', 'Authorization: Bearer t0ken'])).status, 200);
    await until(() => existsSync(file), 'the log file created again');
    assert.ok(await served(m.proxy));
    await until(() => readFileSync(file, 'utf8').includes('/up'), 'the next access line in the new file');
  } finally {
    await m.proxy.stop();
  }
});
