/**
 * External ACL helpers (acl.enable, Squid's external_acl_type) with Debian's own programs:
 * ext_file_userip_acl (a user allowed from one address, after basic_ncsa_auth's login) and
 * ext_time_quota_acl (refusing once the quota is spent); a channel-ID helper for what the
 * Debian ones never answer (user=, tag=, message=, BH), the TTL cache, and start errors.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureNcsaAuth, writeHtpasswd } from '../fixtures/auth/htpasswd';
import { PYTHON, readLines, tempDir } from '../fixtures/redirectors/harness';
import { startExaproxy, testArgs } from '../helpers/exaproxy';
import { curl, freePort, parseDump, startOrigin, until, type Origin } from '../helpers/net';
import { runCli } from '../helpers/run-cli';

const USERIP = '/usr/lib/squid/ext_file_userip_acl';
const QUOTA = '/usr/lib/squid/ext_time_quota_acl';
const SCRIPTED_ACL = join(__dirname, '..', 'fixtures', 'external-acl', 'scripted-acl.py');
const SCRIPTED = join(__dirname, '..', 'fixtures', 'redirectors', 'scripted.py');

let origin: Origin;
let dir: ReturnType<typeof tempDir>;
let passwd: string;

before(async () => {
  ensureNcsaAuth();
  for (const helper of [USERIP, QUOTA]) {
    if (!existsSync(helper)) throw new Error(`${helper} is missing: install the Debian package squid (it ships the external ACL helpers)`);
  }
  origin = await startOrigin();
  dir = tempDir();
  passwd = writeHtpasswd(join(dir.path, 'passwd'), { alice: 'alice pw', bob: 'bob pw' });
});
after(async () => {
  await origin?.close();
  dir?.remove();
});

function aclArgs(extra: string[]): string[] {
  return testArgs(['--acl.enable=true', '--acl.minimum=1', '--acl.maximum=2', `--security.local=127.0.0.1:${origin.port}`, ...extra]);
}

const login = ['--auth.enable=true', '--auth.minimum=1', '--auth.maximum=1'];

async function get(proxy: string, url: string, args: string[] = []): Promise<ReturnType<typeof parseDump>> {
  const r = await curl(['-s', '-D', '-', '-x', proxy, ...args, url]);
  assert.equal(r.code, 0, `curl ${url}: ${r.stderr}`);
  return parseDump(r.stdout);
}

test('ext_file_userip_acl (%SRC %LOGIN) after basic_ncsa_auth: alice from her address → 200; from another, or bob → 403; the users in the access log', async () => {
  const userip = join(dir.path, 'userip.conf');
  writeFileSync(userip, '127.0.0.2 alice\n');
  const proxy = await startExaproxy(aclArgs([
    ...login, `--auth.program=/usr/lib/squid/basic_ncsa_auth ${passwd}`,
    `--acl.program=${USERIP} -f ${userip}`, '--acl.format=%SRC %LOGIN',
    '--usage.enable=true', '--usage.format=squid', '--usage.destination=stderr',
  ]));
  const base = `http://127.0.0.1:${origin.port}`;
  try {
    const seen = origin.requests.length;
    assert.equal((await get(proxy.url, `${base}/userip/alice-2`, ['--interface', '127.0.0.2', '-U', 'alice:alice pw'])).status, 200);
    assert.equal(origin.requests.length, seen + 1);
    const elsewhere = await get(proxy.url, `${base}/userip/alice-1`, ['--interface', '127.0.0.1', '-U', 'alice:alice pw']);
    assert.equal(elsewhere.status, 403);
    assert.match(elsewhere.body, /refused/);
    assert.equal((await get(proxy.url, `${base}/userip/bob-2`, ['--interface', '127.0.0.2', '-U', 'bob:bob pw'])).status, 403);
    // The login comes first: without one, 407 and the ACL helper is not asked.
    assert.equal((await get(proxy.url, `${base}/userip/none`, ['--interface', '127.0.0.2'])).status, 407);
    assert.equal(origin.requests.length, seen + 1);
  } finally {
    await proxy.stop();
  }
  const lines = proxy.stderr().split('\n');
  const line = (what: string): string => lines.find((l) => l.includes(what)) ?? assert.fail(`no access line for ${what}:\n${proxy.stderr()}`);
  assert.match(line('/userip/alice-2'), / 127\.0\.0\.2 TCP_MISS\/200 \d+ GET \S+ alice HIER_DIRECT/);
  assert.match(line('/userip/alice-1'), / 127\.0\.0\.1 TCP_DENIED\/403 \d+ GET \S+ alice /);
  assert.match(line('/userip/bob-2'), / 127\.0\.0\.2 TCP_DENIED\/403 \d+ GET \S+ bob /);
});

test('ext_time_quota_acl (%LOGIN, ttl 0): alice is refused once her 4 s quota is spent, bob still goes on', async () => {
  const quota = join(dir.path, 'time_quota');
  writeFileSync(quota, '# user budget / period\nalice 4s / 1d\nbob 1h / 1d\n');
  // The helper creates its database (-b) on first use; -l keeps its log lines off the proxy's stderr.
  const db = join(dir.path, 'time_quota.db');
  const proxy = await startExaproxy(aclArgs([
    ...login, `--auth.program=/usr/lib/squid/basic_ncsa_auth ${passwd}`,
    `--acl.program=${QUOTA} -b ${db} -l ${join(dir.path, 'time_quota.log')} -p 300 ${quota}`, '--acl.format=%LOGIN',
    '--acl.ttl=0', '--acl.negative-ttl=0', '--acl.maximum=1',
  ]));
  const url = `http://127.0.0.1:${origin.port}/quota`;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    assert.equal((await get(proxy.url, `${url}/1`, ['-U', 'alice:alice pw'])).status, 200);
    // Well inside the budget even on a busy machine (a helper start and two curls fit in it).
    await sleep(500);
    assert.equal((await get(proxy.url, `${url}/2`, ['-U', 'alice:alice pw'])).status, 200);
    await sleep(4000); // over 4.5 s of activity: more than the 4 s budget
    const spent = await get(proxy.url, `${url}/3`, ['-U', 'alice:alice pw']);
    assert.equal(spent.status, 403);
    assert.equal((await get(proxy.url, `${url}/bob`, ['-U', 'bob:bob pw'])).status, 200);
  } finally {
    await proxy.stop();
  }
  assert.ok(existsSync(db), 'ext_time_quota_acl made no database');
});

test('a channel-ID helper: user= and tag= reach the squid redirector line and the json access log, ERR shows its message, a line is asked once within the TTL', async () => {
  const acl = join(dir.path, 'acl-lines');
  const redirected = join(dir.path, 'squid-lines');
  const proxy = await startExaproxy(aclArgs([
    `--acl.program=${PYTHON} ${SCRIPTED_ACL} --record ${acl}`, '--acl.format=%URI %SRC %METHOD %DST %PORT %PATH %LOGIN', '--acl.concurrency=4',
    '--acl.data=vip admins',
    '--redirector.enable=true', `--redirector.program=${PYTHON} ${SCRIPTED} --record ${redirected}`, '--redirector.protocol=squid',
    '--redirector.minimum=1', '--redirector.maximum=1',
    '--usage.enable=true', '--usage.format=json', '--usage.destination=stderr',
  ]));
  const base = `http://127.0.0.1:${origin.port}`;
  try {
    assert.equal((await get(proxy.url, `${base}/acl/vip`)).status, 200);
    assert.equal((await get(proxy.url, `${base}/acl/vip`)).status, 200); // remembered: not asked again
    const refused = await get(proxy.url, `${base}/acl/err`);
    assert.equal(refused.status, 403);
    assert.match(refused.body, /Access was refused: not on the list/);
    assert.equal((await get(proxy.url, `${base}/acl/plain`)).status, 200);
  } finally {
    await proxy.stop();
  }
  const asked = readLines(acl).map((l) => l.replace(/^\d+ /, ''));
  assert.deepEqual(asked, [
    `http://127.0.0.1:${origin.port}/acl/vip 127.0.0.1 GET 127.0.0.1 ${origin.port} /acl/vip - vip admins`,
    `http://127.0.0.1:${origin.port}/acl/err 127.0.0.1 GET 127.0.0.1 ${origin.port} /acl/err - vip admins`,
    `http://127.0.0.1:${origin.port}/acl/plain 127.0.0.1 GET 127.0.0.1 ${origin.port} /acl/plain - vip admins`,
  ]);
  const lines = readLines(redirected);
  assert.ok(lines.some((l) => new RegExp(`^http://127\\.0\\.0\\.1:${origin.port}/acl/vip 127\\.0\\.0\\.1/- carol GET myip=127\\.0\\.0\\.1 myport=\\d+ tag=vip%20list$`).test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /\/acl\/plain 127\.0\.0\.1\/- - GET myip=\S+ myport=\d+$/.test(l)), lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('/acl/err')), 'a request the ACL refused reached the redirector');
  const records = proxy.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { url: string; user: string | null; tag: string | null; status: number });
  const vip = records.filter((r) => r.url.endsWith('/acl/vip'));
  assert.equal(vip.length, 2);
  for (const r of vip) assert.deepEqual([r.status, r.user, r.tag], [200, 'carol', 'vip list']);
  const err = records.find((r) => r.url.endsWith('/acl/err'))!;
  assert.deepEqual([err.status, err.tag], [403, null]);
});

test('BH three times: acl.failure=deny answers 503, acl.failure=allow lets the request go on', async () => {
  const url = `http://127.0.0.1:${origin.port}/acl/bh`;
  for (const [failure, status] of [['deny', 503], ['allow', 200]] as const) {
    const proxy = await startExaproxy(aclArgs([`--acl.program=${PYTHON} ${SCRIPTED_ACL}`, '--acl.format=%URI', '--acl.concurrency=2', `--acl.failure=${failure}`]));
    try {
      const r = await get(proxy.url, url);
      assert.equal(r.status, status, failure);
      if (status === 503) assert.match(r.body, /access rules could not be checked/);
    } finally {
      await proxy.stop();
    }
    assert.match(proxy.stdout() + proxy.stderr(), /external ACL helper answered BH: db down/);
  }
});

test('a bad acl.format stops the start with one line naming it and the macros accepted', async () => {
  const r = await runCli(['-c', '/dev/null', '--tcp4.port=0', '--web.enable=false', '--acl.format=%SRC %FOO']);
  assert.equal(r.status, 1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^exaproxy: --acl\.format: .*%SRC %FOO.*%FOO is not one of them/);
  const missing = await runCli(['-c', '/dev/null', '--tcp4.port=0', '--web.enable=false', '--acl.enable=true', '--acl.program=/nonexistent/ext_acl']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr.trim(), /^exaproxy: --acl\.program: acl\.program = "\/nonexistent\/ext_acl": no executable file there/);
});

test("the monitor shows the auth and external ACL helper pools: /json/stats, /metrics and the dashboard's history", async () => {
  const userip = join(dir.path, 'userip-monitor.conf');
  writeFileSync(userip, '127.0.0.1 alice\n');
  const web = await freePort();
  const proxy = await startExaproxy(aclArgs([
    ...login, `--auth.program=/usr/lib/squid/basic_ncsa_auth ${passwd}`,
    `--acl.program=${USERIP} -f ${userip}`, '--acl.format=%SRC %LOGIN',
    '--web.enable=true', `--web.port=${web}`,
  ]));
  try {
    assert.equal((await get(proxy.url, `http://127.0.0.1:${origin.port}/monitor/alice`, ['-U', 'alice:alice pw'])).status, 200);
    type Pool = { size: number; requests: number; minimum: number; maximum: number };
    const stats = async (): Promise<{ helpers: { auth?: Pool; acl?: Pool } }> => JSON.parse((await curl(['-s', `http://127.0.0.1:${web}/json/stats`])).stdout);
    // A worker reports once a second (one process at once).
    await until(async () => ((await stats()).helpers.acl?.requests ?? 0) >= 1, 'the helper pools in /json/stats');
    const { helpers } = await stats();
    assert.deepEqual([helpers.auth!.requests, helpers.auth!.size >= 1, helpers.auth!.maximum], [1, true, 1]);
    assert.deepEqual([helpers.acl!.requests, helpers.acl!.size >= 1, helpers.acl!.maximum], [1, true, 2]);
    const metrics = (await curl(['-s', `http://127.0.0.1:${web}/metrics`])).stdout;
    assert.match(metrics, /^exaproxy_auth_helper_requests_total 1$/m);
    assert.match(metrics, /^exaproxy_acl_helper_requests_total 1$/m);
    assert.match(metrics, /^exaproxy_acl_helpers [1-9]/m);
    type Dashboard = { history: { seconds: Array<Record<string, number>> } };
    const board = async (): Promise<Dashboard> => JSON.parse((await curl(['-s', `http://127.0.0.1:${web}/json/dashboard`])).stdout) as Dashboard;
    // The history has a point once a second (the figures above may be read sooner, in one process).
    await until(async () => (await board()).history.seconds.length > 0, 'a second of history');
    const dashboard = await board();
    assert.ok(dashboard.history.seconds.every((p) => typeof p.authBusy === 'number' && typeof p.aclQueue === 'number'));
  } finally {
    await proxy.stop();
  }
});
