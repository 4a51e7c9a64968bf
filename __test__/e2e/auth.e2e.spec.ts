/**
 * Proxy authentication (auth.enable) with Squid's own basic auth helper, basic_ncsa_auth,
 * and an htpasswd file: the 407 challenge, the user in the access log and in squidGuard's
 * input, and a helper killed while the proxy runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureNcsaAuth, writeHtpasswd } from '../fixtures/auth/htpasswd';
import { PYTHON, readLines, tempDir } from '../fixtures/redirectors/harness';
import { ensureSquidGuard } from '../fixtures/redirectors/squidguard';
import { startExaproxy, testArgs } from '../helpers/exaproxy';
import { curl, parseDump, startOrigin, until, type Origin } from '../helpers/net';
import { runCli } from '../helpers/run-cli';

const PASSWORD = 's3cret pw';
let origin: Origin;
let dir: ReturnType<typeof tempDir>;
let passwd: string;

before(async () => {
  ensureNcsaAuth();
  origin = await startOrigin();
  dir = tempDir();
  passwd = writeHtpasswd(join(dir.path, 'passwd'), { alice: PASSWORD, bob: 'bobs pw' });
});
after(async () => {
  await origin?.close();
  dir?.remove();
});

function authArgs(extra: string[] = []): string[] {
  return testArgs([
    '--auth.enable=true',
    `--auth.program=/usr/lib/squid/basic_ncsa_auth ${passwd}`,
    '--auth.minimum=1',
    '--auth.maximum=2',
    '--auth.realm=Test Realm',
    `--security.local=127.0.0.1:${origin.port}`,
    ...extra,
  ]);
}

async function get(proxy: string, url: string, args: string[] = []): Promise<ReturnType<typeof parseDump>> {
  const r = await curl(['-s', '-D', '-', '-x', proxy, ...args, url]);
  assert.equal(r.code, 0, `curl ${url}: ${r.stderr}`);
  return parseDump(r.stdout);
}

test('basic_ncsa_auth: no credentials or a wrong password → 407 with the realm, the right one → 200; the user (never the password) in the access log, CONNECT too; Proxy-Authorization not forwarded', async () => {
  const proxy = await startExaproxy(authArgs([
    '--usage.enable=true', '--usage.format=squid', '--usage.destination=stderr', '--log.level=DEBUG',
    // Even when asked to pass it on, a login the proxy checked stays here.
    '--http.proxy-authorization=true',
    `--security.connect=${origin.port}`,
  ]));
  const base = `http://127.0.0.1:${origin.port}`;
  try {
    const none = await get(proxy.url, `${base}/auth/none`);
    assert.equal(none.status, 407);
    assert.equal(none.headers.get('proxy-authenticate'), 'Basic realm="Test Realm"');
    assert.match(none.body, /login/i);

    const wrong = await get(proxy.url, `${base}/auth/wrong`, ['-U', 'alice:not it']);
    assert.equal(wrong.status, 407);
    assert.equal(wrong.headers.get('proxy-authenticate'), 'Basic realm="Test Realm"');

    const seen = origin.requests.length;
    const right = await get(proxy.url, `${base}/auth/right`, ['-U', `alice:${PASSWORD}`]);
    assert.equal(right.status, 200);
    assert.equal(origin.requests.length, seen + 1);
    assert.equal(origin.requests.at(-1)!.headers['proxy-authorization'], undefined);

    // CONNECT: curl tunnels (-p) and logs in on the CONNECT request.
    const tunnelled = await curl(['-s', '-p', '-o', '/dev/null', '-w', '%{http_code}', '-x', proxy.url, '-U', `bob:bobs pw`, `${base}/auth/tunnel`]);
    assert.equal(tunnelled.stdout, '200');
    const refusedTunnel = await curl(['-s', '-p', '-o', '/dev/null', '-w', '%{http_connect}', '-x', proxy.url, `${base}/auth/tunnel-none`]);
    assert.equal(refusedTunnel.stdout, '407');
  } finally {
    await proxy.stop();
  }
  const lines = proxy.stderr().split('\n');
  const line = (what: string): string => lines.find((l) => l.includes(what)) ?? assert.fail(`no access line for ${what}:\n${proxy.stderr()}`);
  assert.match(line('/auth/none'), /TCP_DENIED\/407 \d+ GET \S+ - /);
  assert.match(line('/auth/wrong'), /TCP_DENIED\/407 \d+ GET \S+ - /);
  assert.match(line('/auth/right'), /TCP_MISS\/200 \d+ GET \S+\/auth\/right alice HIER_DIRECT/);
  assert.match(lines.find((l) => / CONNECT 127\.0\.0\.1:\d+ bob /.test(l)) ?? '', /TCP_TUNNEL\/200 \d+ CONNECT 127\.0\.0\.1:\d+ bob /);
  const everything = proxy.stdout() + proxy.stderr();
  for (const secret of [PASSWORD, 's3cret', 'bobs pw', Buffer.from(`alice:${PASSWORD}`).toString('base64')]) {
    assert.ok(!everything.includes(secret), `a credential appears in the logs: ${secret}`);
  }
});

test("squidGuard gets the user (Squid's %un field): its `src { user alice }` rule blocks alice, not bob", async () => {
  const squidGuard = ensureSquidGuard();
  const sg = join(dir.path, 'squidguard');
  mkdirSync(join(sg, 'db'), { recursive: true });
  mkdirSync(join(sg, 'log'), { recursive: true });
  const config = join(sg, 'squidGuard.conf');
  writeFileSync(config, [
    `dbhome ${join(sg, 'db')}`,
    `logdir ${join(sg, 'log')}`,
    '',
    'src blockedusers {',
    '\tuser alice',
    '}',
    '',
    'acl {',
    '\tblockedusers {',
    '\t\tpass none',
    '\t\tredirect 302:http://blocked.test/user?who=%i',
    '\t}',
    '\tdefault {',
    '\t\tpass all',
    '\t}',
    '}',
    '',
  ].join('\n'));
  const proxy = await startExaproxy(authArgs([
    '--redirector.enable=true', `--redirector.program=${squidGuard} -c ${config}`, '--redirector.protocol=squid',
    '--redirector.minimum=1', '--redirector.maximum=2',
  ]));
  const url = `http://127.0.0.1:${origin.port}/sg/page`;
  try {
    const alice = await get(proxy.url, url, ['-U', `alice:${PASSWORD}`]);
    assert.equal(alice.status, 302);
    assert.equal(alice.headers.get('location'), 'http://blocked.test/user?who=alice');
    const bob = await get(proxy.url, url, ['-U', 'bob:bobs pw']);
    assert.equal(bob.status, 200);
  } finally {
    await proxy.stop();
  }
});

/** The pids of basic_ncsa_auth helpers reading this test's password file. */
function helperPids(): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  // The helper's own command line, not exaproxy's (whose --auth.program names it too).
  const helper = `/usr/lib/squid/basic_ncsa_auth ${passwd}`;
  return ps.split('\n').map((l) => /^\s*(\d+) (.*)$/.exec(l)).filter((m) => m !== null && m[2] === helper).map((m) => Number(m![1]));
}

test('the auth helper killed: the next logins are checked by its replacement', async () => {
  // ttl 0: every request asks a helper, so none is answered from memory.
  const proxy = await startExaproxy(authArgs(['--auth.ttl=0', '--auth.maximum=1']));
  const url = `http://127.0.0.1:${origin.port}/kill`;
  try {
    assert.equal((await get(proxy.url, url, ['-U', `alice:${PASSWORD}`])).status, 200);
    const [first] = helperPids();
    assert.ok(first !== undefined, 'no basic_ncsa_auth helper running');
    process.kill(first, 'SIGKILL');
    await until(() => !helperPids().includes(first), 'the killed helper to be gone');
    assert.equal((await get(proxy.url, url, ['-U', `alice:${PASSWORD}`])).status, 200);
    assert.equal((await get(proxy.url, url, ['-U', 'alice:wrong'])).status, 407);
    const now = helperPids();
    assert.equal(now.length, 1);
    assert.notEqual(now[0], first);
  } finally {
    await proxy.stop();
  }
});

test("url helpers get the user in ExaProxy's ident field; exempt clients and destinations need no login", async () => {
  const record = join(dir.path, 'url-lines');
  const scripted = join(__dirname, '..', 'fixtures', 'redirectors', 'scripted.py');
  const base = `http://127.0.0.1:${origin.port}`;
  const proxy = await startExaproxy(authArgs([
    '--redirector.enable=true', `--redirector.program=${PYTHON} ${scripted} --record ${record}`, '--redirector.protocol=url',
    '--redirector.minimum=1', '--redirector.maximum=1', '--auth.exempt-destinations=.exempt.test localhost',
  ]));
  try {
    assert.equal((await get(proxy.url, `${base}/url/alice`, ['-U', `alice:${PASSWORD}`])).status, 200);
    assert.equal((await get(proxy.url, `${base}/url/nobody`)).status, 407);
    // An exempt destination: no login asked (the resolve fails after that: 503 or 502, not 407).
    const exempt = await get(proxy.url, 'http://www.exempt.test/url/exempt');
    assert.notEqual(exempt.status, 407);
  } finally {
    await proxy.stop();
  }
  const lines = readLines(record); // url_noport: ExaProxy's url line has no port
  assert.ok(lines.some((l) => l === "127.0.0.1/url/alice 127.0.0.1 alice GET -"), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('www.exempt.test/url/exempt 127.0.0.1 - GET')), lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('/url/nobody')), 'a request refused by login reached the helper');

  const open = await startExaproxy(authArgs(['--auth.exempt-clients=127.0.0.0/8']));
  try {
    assert.equal((await get(open.url, `${base}/url/exempt-client`)).status, 200);
  } finally {
    await open.stop();
  }
});

test('an auth helper daemon.user cannot run is refused at start in one line naming auth.program', { skip: process.getuid?.() !== 0, timeout: 30_000 }, async () => {
  const top = mkdtempSync(join(tmpdir(), 'exaproxy-auth-start-'));
  chmodSync(top, 0o755);
  const secret = join(top, 'secret');
  mkdirSync(secret, { mode: 0o700 });
  const helper = join(secret, 'auth.sh');
  writeFileSync(helper, '#!/bin/sh\nwhile read l; do echo OK; done\n', { mode: 0o755 });
  const r = await runCli(['-c', '/dev/null', '--tcp4.port=0', '--web.enable=false', '--daemon.workers=1', '--http.connections=1000', '--auth.enable=true', `--auth.program=${helper}`]);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.split('\n').filter((l) => l !== ''), [
    `exaproxy: auth.program ${helper}: not executable by user nobody (daemon.user): ${secret} is not searchable by nobody; install the auth helper where nobody can run it (mode and every folder above it), or choose another auth.program`,
  ]);
  assert.equal(r.status, 1);
});

test('an auth helper that cannot run: logins get 503, and the ERROR line names auth.program (not the redirector)', async () => {
  const proxy = await startExaproxy(testArgs(['--auth.enable=true', '--auth.program=/bin/false', '--auth.timeout=2', `--security.local=127.0.0.1:${origin.port}`]));
  const logs = (): string => proxy.stdout() + proxy.stderr();
  try {
    const r = await get(proxy.url, `http://127.0.0.1:${origin.port}/broken-helper`, ['-U', `alice:${PASSWORD}`]);
    assert.equal(r.status, 503);
    assert.match(r.body, /login could not be checked/);
    await until(() => logs().includes('Check auth.program'), 'the error line naming auth.program', logs);
  } finally {
    await proxy.stop();
  }
  assert.match(logs(), /auth helper stopped before answering anything/);
  assert.doesNotMatch(logs(), /redirector/);
});
