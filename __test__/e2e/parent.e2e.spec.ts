/**
 * Parent proxies (parent.*, Squid's cache_peer … parent + never_direct) with real Debian
 * Squids as the parents: GET and CONNECT through exaproxy → Squid → a local origin (Squid's
 * access log shows them, with exaproxy's login), the connection to the parent kept alive, a
 * parent that is down → the next one, and back once it returns; all down → 503.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureNcsaAuth } from '../fixtures/auth/htpasswd';
import { startSquid, type Squid } from '../fixtures/parents/squid';
import { PYTHON, readLines, tempDir } from '../fixtures/redirectors/harness';
import { startExaproxy, testArgs } from '../helpers/exaproxy';
import { curl, freePort, parseDump, startOrigin, until, type Origin } from '../helpers/net';
import { makePki } from '../helpers/tls';

const SCRIPTED_ACL = join(__dirname, '..', 'fixtures', 'external-acl', 'scripted-acl.py');

let origin: Origin;
let dir: ReturnType<typeof tempDir>;

before(async () => {
  ensureNcsaAuth();
  origin = await startOrigin();
  dir = tempDir();
  chmodSync(dir.path, 0o711); // Squid's user (proxy) reaches its own folders in it
});
after(async () => {
  await origin?.close();
  dir?.remove();
});

function parentArgs(extra: string[]): string[] {
  return testArgs([`--security.local=127.0.0.1:${origin.port}`, `--security.connect=${origin.port}`, ...extra]);
}

async function get(proxy: string, url: string, args: string[] = []): Promise<ReturnType<typeof parseDump>> {
  const r = await curl(['-s', '-D', '-', '-x', proxy, ...args, url]);
  assert.equal(r.code, 0, `curl ${url}: ${r.stderr}`);
  return parseDump(r.stdout);
}

/** The Via name of the Squid that forwarded the origin's last request. */
function lastVia(): string {
  return String(origin.requests.at(-1)?.headers.via ?? '');
}

test('GET and CONNECT through a Squid parent that asks for a login: absolute-form, the login, one kept-alive connection; Squid logs them', async () => {
  const squid = await startSquid('parent-login', await freePort(), join(dir.path, 'login'), { users: { exa: 'parent pw' } });
  // %20 in the password: parent.proxies takes %XX escapes, as Squid's login= does.
  const proxy = await startExaproxy(parentArgs([
    `--parent.proxies=exa:parent%20pw@127.0.0.1:${squid.port}`,
    '--usage.enable=true', '--usage.format=squid', '--usage.destination=stderr',
  ]));
  const base = `http://127.0.0.1:${origin.port}`;
  let refusedTunnel: string;
  try {
    const first = await get(proxy.url, `${base}/parent/get-1`);
    assert.equal(first.status, 200);
    assert.match(lastVia(), /parent-login/);
    assert.equal(origin.requests.at(-1)!.headers['proxy-authorization'], undefined);
    assert.equal((await get(proxy.url, `${base}/parent/get-2`)).status, 200);
    const tunnel = await curl(['-s', '-p', '-o', '/dev/null', '-w', '%{http_connect} %{http_code}', '-x', proxy.url, `${base}/parent/tunnel`]);
    assert.equal(tunnel.stdout, '200 200');
    assert.match(lastVia(), /^$/); // through the tunnel, the origin sees curl's own request
    // The tunnel's line is written once both sides have closed.
    await until(() => proxy.stderr().includes('TCP_TUNNEL/200'), "the tunnel's access line", () => proxy.stderr());
  } finally {
    await proxy.stop();
  }
  const wrong = await startExaproxy(parentArgs([`--parent.proxies=exa:wrong@127.0.0.1:${squid.port}`]));
  try {
    refusedTunnel = (await curl(['-s', '-p', '-o', '/dev/null', '-w', '%{http_connect}', '-x', wrong.url, `${base}/parent/refused`])).stdout;
  } finally {
    await wrong.stop();
  }
  assert.equal(refusedTunnel, '502'); // the parent refused exaproxy's login: the proxy's failure, not the client's
  await squid.stop();
  const lines = squid.accessLines();
  const line = (what: RegExp): string => lines.find((l) => what.test(l)) ?? assert.fail(`no Squid access line ${what}:\n${lines.join('\n')}`);
  const get1 = line(new RegExp(`^127\\.0\\.0\\.1:(\\d+) GET http://127\\.0\\.0\\.1:${origin.port}/parent/get-1 exa 200$`));
  const get2 = line(new RegExp(`^127\\.0\\.0\\.1:(\\d+) GET http://127\\.0\\.0\\.1:${origin.port}/parent/get-2 exa 200$`));
  // Both requests came on one connection from exaproxy (same client port at Squid).
  assert.equal(get1.split(' ')[0], get2.split(' ')[0]);
  line(new RegExp(`^127\\.0\\.0\\.1:\\d+ CONNECT 127\\.0\\.0\\.1:${origin.port} exa 200$`));
  const access = proxy.stderr().split('\n');
  assert.ok(access.some((l) => /TCP_MISS\/200 \d+ GET \S+\/parent\/get-1 - FIRSTUP_PARENT\/127\.0\.0\.1 /.test(l)), proxy.stderr());
  assert.ok(access.some((l) => /TCP_TUNNEL\/200 \d+ CONNECT 127\.0\.0\.1:\d+ - FIRSTUP_PARENT\/127\.0\.0\.1 /.test(l)), proxy.stderr());
});

test('a parent that is down: requests go to the next one, and back to it once it returns (parent.retry); all down → 503', async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  let a: Squid = await startSquid('parent-a', portA, join(dir.path, 'a1'));
  const b = await startSquid('parent-b', portB, join(dir.path, 'b'));
  const proxy = await startExaproxy(parentArgs([`--parent.proxies=127.0.0.1:${portA}, 127.0.0.1:${portB}`, '--parent.retry=1']));
  const base = `http://127.0.0.1:${origin.port}`;
  const logs = (): string => proxy.stdout() + proxy.stderr();
  try {
    assert.equal((await get(proxy.url, `${base}/failover/1`)).status, 200);
    assert.match(lastVia(), /parent-a/);
    await a.stop();
    assert.equal((await get(proxy.url, `${base}/failover/2`)).status, 200);
    assert.match(lastVia(), /parent-b/);
    const tunnel = await curl(['-s', '-p', '-o', '/dev/null', '-w', '%{http_connect}', '-x', proxy.url, `${base}/failover/tunnel`]);
    assert.equal(tunnel.stdout, '200');
    assert.match(logs(), new RegExp(`parent proxy 127\\.0\\.0\\.1:${portA} could not be connected to \\(ECONNREFUSED\\)`));
    a = await startSquid('parent-a', portA, join(dir.path, 'a2'));
    // Once parent.retry has passed, the first parent is tried again and takes the requests back.
    await until(async () => (await get(proxy.url, `${base}/failover/back`)).status === 200 && /parent-a/.test(lastVia()), 'parent-a to take requests again', logs);
    await until(() => logs().includes(`parent proxy 127.0.0.1:${portA} is up again`), 'the "up again" line', logs);
    await a.stop();
    await b.stop();
    const none = await get(proxy.url, `${base}/failover/none`);
    assert.equal(none.status, 503);
    assert.match(none.body, /No parent proxy can be reached/);
  } finally {
    await proxy.stop();
    await a.stop();
    await b.stop();
  }
});

test('parent.domains and parent.direct: only the listed destinations go through the parent', async () => {
  const squid = await startSquid('parent-domains', await freePort(), join(dir.path, 'domains'));
  const base = `http://127.0.0.1:${origin.port}`;
  const through = await startExaproxy(parentArgs([`--parent.proxies=127.0.0.1:${squid.port}`, '--parent.domains=.example.test']));
  try {
    assert.equal((await get(through.url, `${base}/domains/direct`)).status, 200);
    assert.equal(lastVia().includes('parent-domains'), false);
  } finally {
    await through.stop();
  }
  const except = await startExaproxy(parentArgs([`--parent.proxies=127.0.0.1:${squid.port}`, '--parent.direct=127.0.0.1']));
  try {
    assert.equal((await get(except.url, `${base}/domains/except`)).status, 200);
    assert.equal(lastVia().includes('parent-domains'), false);
  } finally {
    await except.stop();
  }
  const all = await startExaproxy(parentArgs([`--parent.proxies=127.0.0.1:${squid.port}`, '--parent.direct=.example.test']));
  try {
    assert.equal((await get(all.url, `${base}/domains/parent`)).status, 200);
    assert.match(lastVia(), /parent-domains/);
  } finally {
    await all.stop();
    await squid.stop();
  }
});

test("the TLS listener's tunnels go through the parent as CONNECT to the SNI name, port 443, once the external ACL allowed them", async () => {
  // The origin: HTTPS on 127.0.0.3:443, the address Squid's own hosts file gives tls-origin.test.
  const pki = makePki();
  const server = createHttpsServer({ cert: pki.cert, key: pki.key }, (_req, res) => res.end('through the parent'));
  await new Promise<void>((resolve) => server.listen(443, '127.0.0.3', resolve));
  const squid = await startSquid('parent-tls', await freePort(), join(dir.path, 'tls'), { hosts: '127.0.0.3 tls-origin.test\n' });
  const tlsPort = await freePort();
  // The external ACL is asked about TLS connections too: method CONNECT, the SNI name, port 443.
  const asked = join(dir.path, 'tls-acl-lines');
  const helper = join(dir.path, 'tls-acl.py');
  writeFileSync(helper, [
    'import sys',
    'for line in sys.stdin:',
    `    open(${JSON.stringify(asked)}, 'a').write(line)`,
    "    sys.stdout.write('ERR message=blocked\\n' if line.split()[0].startswith('blocked.') else 'OK\\n'); sys.stdout.flush()",
    '',
  ].join('\n'));
  const proxy = await startExaproxy(parentArgs([
    `--parent.proxies=127.0.0.1:${squid.port}`, '--tls.enable=true', '--tls.host=127.0.0.1', `--tls.port=${tlsPort}`,
    '--acl.enable=true', `--acl.program=${PYTHON} ${helper}`, '--acl.format=%DST %PORT %METHOD %URI',
    '--usage.enable=true', '--usage.destination=stderr',
  ]));
  try {
    const r = await curl(['-s', '-k', '--connect-to', `tls-origin.test:443:127.0.0.1:${tlsPort}`, 'https://tls-origin.test/']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'through the parent');
    const blocked = await curl(['-s', '-k', '--connect-to', `blocked.test:443:127.0.0.1:${tlsPort}`, 'https://blocked.test/']);
    assert.notEqual(blocked.code, 0, 'the TLS connection the ACL refused was relayed');
    await until(() => /TLS blocked\.test:443 DENY\/external ACL: blocked/.test(proxy.stderr()), 'the refused TLS connection in the access log', () => proxy.stderr());
  } finally {
    await proxy.stop();
    await squid.stop();
    server.closeAllConnections();
    server.close();
    rmSync(pki.dir, { recursive: true, force: true });
  }
  assert.ok(squid.accessLines().some((l) => /^127\.0\.0\.1:\d+ CONNECT tls-origin\.test:443 - 200$/.test(l)), squid.accessLines().join('\n'));
  assert.ok(!squid.accessLines().some((l) => l.includes('blocked.test')), 'the refused connection reached the parent');
  assert.deepEqual(readLines(asked), ['tls-origin.test 443 CONNECT tls-origin.test:443 -', 'blocked.test 443 CONNECT blocked.test:443 -']);
});

/** A port that never completes a connection: its one-place accept queue is taken and never accepted. */
async function blackhole(): Promise<{ port: number; close: () => void }> {
  const script = [
    'import socket, sys, time',
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    "filler = socket.create_connection(s.getsockname())",
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(120)',
  ].join('\n');
  const child = spawn(PYTHON, ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return { port, close: () => child.kill('SIGKILL') };
}

test('a parent that never accepts the connection is given up after parent.connect-timeout: the next one takes the request', async () => {
  const silent = await blackhole();
  const squid = await startSquid('parent-next', await freePort(), join(dir.path, 'next'));
  const proxy = await startExaproxy(parentArgs([`--parent.proxies=127.0.0.1:${silent.port}, 127.0.0.1:${squid.port}`, '--parent.connect-timeout=1']));
  try {
    assert.equal((await get(proxy.url, `http://127.0.0.1:${origin.port}/silent/1`)).status, 200);
    assert.match(lastVia(), /parent-next/);
    assert.match(proxy.stdout() + proxy.stderr(), new RegExp(`parent proxy 127\\.0\\.0\\.1:${silent.port} could not be connected to \\(ETIMEDOUT\\)`));
  } finally {
    await proxy.stop();
    await squid.stop();
    silent.close();
  }
});

test("the external ACL's tag= picks the parent: tag=gold requests go to the parent of that tag, the others to the untagged one", async () => {
  const plain = await startSquid('parent-plain', await freePort(), join(dir.path, 'plain'));
  const gold = await startSquid('parent-gold', await freePort(), join(dir.path, 'gold'));
  const proxy = await startExaproxy(parentArgs([
    `--parent.proxies=127.0.0.1:${plain.port}, 127.0.0.1:${gold.port} tag=gold`,
    '--acl.enable=true', `--acl.program=${PYTHON} ${SCRIPTED_ACL}`, '--acl.format=%URI', '--acl.concurrency=2',
  ]));
  const base = `http://127.0.0.1:${origin.port}`;
  try {
    assert.equal((await get(proxy.url, `${base}/acl/gold`)).status, 200);
    assert.match(lastVia(), /parent-gold/);
    assert.equal((await get(proxy.url, `${base}/acl/plain`)).status, 200);
    assert.match(lastVia(), /parent-plain/);
  } finally {
    await proxy.stop();
    await plain.stop();
    await gold.stop();
  }
});
