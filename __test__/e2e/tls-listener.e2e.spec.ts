/**
 * The TLS SNI listener (tls.enable), end to end: real curl, real TLS origins (the test CA of
 * helpers/tls.ts), real helper processes (a url helper, squidGuard unchanged). The permitted
 * destination is the SNI name on port 443, so the origin listens on 127.0.0.1:443 (tests run
 * as root) behind a relay that records the bytes it is sent: what the client wrote and what
 * the origin received are compared by hash.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildBlacklist, ensureSquidGuard } from '../fixtures/redirectors/squidguard';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, freePort, rawConnect, readUntil, until } from '../helpers/net';
import { runCli } from '../helpers/run-cli';
import { makePki, type TestPki } from '../helpers/tls';

/**
 * Forwards every connection to `target`, keeping what each client sent; `split` drips the
 * first bytes in small reads; `prefix` is sent first (a PROXY protocol header).
 */
interface Relay {
  port: number;
  sent: Buffer[][];
  close(): Promise<void>;
}

function relay(target: number, opts: { port?: number; split?: boolean; prefix?: string } = {}): Promise<Relay> {
  const sent: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const mine: Buffer[] = [];
    sent.push(mine);
    const up = connect({ host: '127.0.0.1', port: target });
    if (opts.prefix !== undefined) up.write(opts.prefix);
    sockets.add(client).add(up);
    let first = opts.split === true;
    client.on('data', (chunk: Buffer) => {
      mine.push(chunk);
      if (!first) return void up.write(chunk);
      // The first flight in pieces of 7 bytes, 15 ms apart: the listener sees many reads.
      first = false;
      client.pause();
      const pieces: Buffer[] = [];
      for (let i = 0; i < chunk.length; i += 7) pieces.push(chunk.subarray(i, i + 7));
      const next = (): void => {
        const piece = pieces.shift();
        if (piece === undefined) return void client.resume();
        up.write(piece);
        setTimeout(next, 15);
      };
      next();
    });
    up.on('data', (d: Buffer) => client.write(d));
    client.on('end', () => up.end());
    up.on('end', () => client.end());
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    client.on('close', () => sockets.delete(client));
    up.on('close', () => sockets.delete(up));
  });
  return new Promise((resolve) =>
    server.listen(opts.port ?? 0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        sent,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

function httpsOrigin(pki: TestPki, body: string): Promise<{ port: number; server: HttpsServer }> {
  const server = createHttps({ cert: pki.cert, key: pki.key }, (_req, res) => res.end(body));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, server })));
}

const sha = (chunks: Buffer[]): string => createHash('sha256').update(Buffer.concat(chunks)).digest('hex');

const work = mkdtempSync(join(tmpdir(), 'exaproxy-tls-'));
let pki: TestPki;
let origin: { port: number; server: HttpsServer };
let interceptOrigin: { port: number; server: HttpsServer };
/** 127.0.0.1:443, where a permitted SNI goes, in front of `origin`. */
let at443: Relay;

before(async () => {
  pki = makePki();
  origin = await httpsOrigin(pki, 'from the origin');
  interceptOrigin = await httpsOrigin(pki, 'from the intercepting server');
  at443 = await relay(origin.port, { port: 443 });
});
after(async () => {
  await at443?.close();
  origin?.server.closeAllConnections();
  origin?.server.close();
  interceptOrigin?.server.closeAllConnections();
  interceptOrigin?.server.close();
});

/** A proxy with the TLS listener on a free port; `local` destinations 127.0.0.1:443 and the intercept origin. */
async function tlsProxy(extra: string[]): Promise<{ proxy: RunningExaproxy; tlsPort: number }> {
  const tlsPort = await freePort();
  const proxy = await startExaproxy(
    testArgs([
      '--tls.enable=true',
      '--tls.host=127.0.0.1',
      `--tls.port=${tlsPort}`,
      '--dns.fqdn=false', // the SNI "localhost" has no dot
      `--security.local=127.0.0.1:443 127.0.0.1:${interceptOrigin.port}`,
      '--usage.enable=true',
      '--usage.destination=stderr',
      ...extra,
    ]),
  );
  return { proxy, tlsPort };
}

/** curl to https://NAME/ sent to `port` whatever NAME resolves to. */
function curlTls(name: string, port: number, extra: string[] = []): ReturnType<typeof curl> {
  return curl(['--cacert', pki.caFile, '--connect-to', `${name}:443:127.0.0.1:${port}`, ...extra, `https://${name}/`]);
}

function usageLines(proxy: RunningExaproxy): string[] {
  return proxy.stderr().split('\n').filter((l) => / TLS /.test(l));
}

describe('TLS listener with a url helper', () => {
  let proxy: RunningExaproxy;
  let tlsPort: number;
  const lines = join(work, 'url-lines.txt');

  before(async () => {
    const helper = join(work, 'url-helper.py');
    writeFileSync(
      helper,
      `import sys
log = open(${JSON.stringify(lines)}, 'a')
for line in sys.stdin:
    log.write(line); log.flush()
    host = line.split(' ')[0]
    if host.startswith('blocked.'):
        answer = 'file://deny.html'
    elif host.startswith('intercept.'):
        answer = 'intercept://127.0.0.1:${interceptOrigin.port}'
    elif host.startswith('protected.'):
        answer = 'intercept://127.0.0.1:1'
    else:
        answer = ''
    sys.stdout.write(answer + '\\n'); sys.stdout.flush()
`,
    );
    ({ proxy, tlsPort } = await tlsProxy([
      '--redirector.enable=true',
      `--redirector.program=python3 ${helper}`,
      '--redirector.protocol=url',
      '--tls.header-size=4096',
      '--web.enable=true',
      `--web.port=${await freePort()}`,
    ]));
  });
  after(async () => {
    await proxy?.stop();
  });

  test('permit: the SNI name on port 443 gets the exact bytes the client sent, ClientHello first', async () => {
    const front = await relay(tlsPort);
    const before443 = at443.sent.length;
    try {
      const r = await curlTls('localhost', front.port);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'from the origin');
      await until(() => at443.sent.length > before443, 'the origin connection');
      const received = at443.sent[before443]!;
      const clientHello = front.sent[0]![0]!.subarray(0, 5 + front.sent[0]![0]!.readUInt16BE(3));
      assert.equal(sha([Buffer.concat(received).subarray(0, clientHello.length)]), sha([clientHello]));
      // And everything after it, once the last bytes (curl's close_notify) have gone through.
      await until(() => sha(received) === sha(front.sent[0]!), 'the same bytes at the origin as from the client');
    } finally {
      await front.close();
    }
    assert.match(readFileSync(lines, 'utf8'), /^localhost 127\.0\.0\.1 - TLS -$/m);
    await until(() => usageLines(proxy).some((l) => / TLS localhost:443 PERMIT\//.test(l)), 'the access line', () => proxy.stderr());
  });

  test('a ClientHello split over many reads is read whole and passed on', async () => {
    const front = await relay(tlsPort, { split: true });
    try {
      const r = await curlTls('localhost', front.port);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'from the origin');
    } finally {
      await front.close();
    }
  });

  test('deny: a page verdict closes the connection with an access_denied alert, logged', async () => {
    const r = await curlTls('blocked.test', tlsPort);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /access denied/i);
    await until(() => usageLines(proxy).some((l) => / TLS blocked\.test:443 DENY\/file:\/\/deny\.html/.test(l)), 'the deny line', () => proxy.stderr());
  });

  test('intercept: the ClientHello goes to the server the helper names', async () => {
    const r = await curlTls('intercept.test', tlsPort, ['-k']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from the intercepting server');
    await until(() => usageLines(proxy).some((l) => / TLS 127\.0\.0\.1:\d+ INTERCEPT\//.test(l)), 'the intercept line', () => proxy.stderr());
  });

  test('destination protection applies: an intercept to a local port not in security.local is closed', async () => {
    const r = await curlTls('protected.test', tlsPort, ['-k']);
    assert.notEqual(r.code, 0);
    await until(() => usageLines(proxy).some((l) => / TLS 127\.0\.0\.1:1 INTERCEPT\/destination not allowed/.test(l)), 'the refusal line', () => proxy.stderr());
  });

  test('a client that does not speak TLS is closed without a byte, logged "not TLS"', async () => {
    const s = await rawConnect(tlsPort);
    const reply = readUntil(s, () => false);
    s.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.equal(await reply, '');
    assert.ok(s.readableEnded, 'closed by the proxy');
    s.destroy();
    await until(() => usageLines(proxy).some((l) => / ERROR\/not TLS/.test(l)), 'the not-TLS line', () => proxy.stderr());
  });

  test('a ClientHello without SNI is closed with an alert, logged', async () => {
    // curl sends no server_name for an IP literal.
    const r = await curl(['-k', '--connect-to', `127.0.0.1:443:127.0.0.1:${tlsPort}`, 'https://127.0.0.1/']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unrecognized name/i);
    await until(() => usageLines(proxy).some((l) => / ERROR\/ClientHello without SNI/.test(l)), 'the no-SNI line', () => proxy.stderr());
  });

  test('a record over tls.header-size is closed with a record_overflow alert, logged', async () => {
    const s = await rawConnect(tlsPort);
    const reply = readUntil(s, () => false);
    // A handshake record announcing 8192 bytes (the limit is 4096), sent in part.
    s.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x20, 0x00, 0x01]), Buffer.alloc(3000, 1)]));
    const got = Buffer.from(await reply, 'latin1');
    s.destroy();
    assert.deepEqual([...got], [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 22]);
    await until(() => usageLines(proxy).some((l) => / ERROR\/TLS record over tls\.header-size/.test(l)), 'the oversize line', () => proxy.stderr());
  });

  test('the monitor counts TLS connections as method TLS', async () => {
    const web = /--web\.port=(\d+)/.exec(proxy.child.spawnargs.join(' '))![1];
    await until(async () => {
      const r = await curl([`http://127.0.0.1:${web}/metrics`]);
      const m = /exaproxy_requests_total\{method="TLS"\} (\d+)/.exec(r.stdout);
      return m !== null && Number(m[1]) >= 3;
    }, 'exaproxy_requests_total{method="TLS"}');
  });
});

describe('TLS listener with squidGuard unchanged (squid protocol)', () => {
  let proxy: RunningExaproxy;
  let tlsPort: number;
  const squidLines = join(work, 'squid-lines.txt');

  before(async () => {
    const squidGuard = ensureSquidGuard();
    const { config } = buildBlacklist(squidGuard, mkdtempSync(join(work, 'sg-')), { blocked: ['blocked.example'], rewritten: [] });
    // tee only records the lines squidGuard is sent; squidGuard itself runs unchanged.
    ({ proxy, tlsPort } = await tlsProxy([
      '--redirector.enable=true',
      `--redirector.program=/bin/sh -c "tee -a ${squidLines} | ${squidGuard} -c ${config}"`,
      '--redirector.protocol=squid',
      '--redirector.concurrency=0',
    ]));
  });
  after(async () => {
    await proxy?.stop();
  });

  test('a blocked domain is closed, an allowed one passes', async () => {
    const blocked = await curlTls('www.blocked.example', tlsPort);
    assert.notEqual(blocked.code, 0);
    assert.match(blocked.stderr, /access denied/i);
    const allowed = await curlTls('localhost', tlsPort);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.stdout, 'from the origin');
    await until(() => usageLines(proxy).some((l) => / TLS www\.blocked\.example:443 DENY\/OK status=302/.test(l)), 'the blocked line', () => proxy.stderr());
    // Asked as Squid asks about HTTPS: host:443 and method CONNECT.
    const sent = readFileSync(squidLines, 'utf8');
    assert.match(sent, new RegExp(`^www\\.blocked\\.example:443 127\\.0\\.0\\.1/- - CONNECT myip=127\\.0\\.0\\.1 myport=${tlsPort}$`, 'm'));
    assert.match(sent, /^localhost:443 127\.0\.0\.1\/- - CONNECT /m);
  });
});

describe('TLS listener with an icap:// helper', () => {
  test("ExaProxy's TLS REQMOD: transport tls, method TLS, the SNI as host, the ClientHello encapsulated; 204 permits", async () => {
    const record = join(work, 'icap-record.bin');
    const { proxy, tlsPort } = await tlsProxy([
      '--redirector.enable=true',
      `--redirector.program=python3 ${join(__dirname, '..', 'fixtures', 'redirectors', 'icap-scripted.py')} --record ${record}`,
      '--redirector.protocol=icap://filter',
    ]);
    const front = await relay(tlsPort);
    try {
      const r = await curlTls('localhost', front.port);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'from the origin');
    } finally {
      await front.close();
      await proxy.stop();
    }
    const first = front.sent[0]![0]!;
    const hello = first.subarray(0, 5 + first.readUInt16BE(3));
    const asked = readFileSync(record, 'latin1');
    for (const line of ['REQMOD icap://filter ICAP/1.0', 'Pragma: transport=tls', 'Pragma: host=localhost', 'Pragma: path=', 'Pragma: method=TLS', `Encapsulated: req-hdr=0, null-body=${hello.length}`]) {
      assert.ok(asked.split('\n').includes(line), `${line} in ${JSON.stringify(asked.slice(0, 400))}`);
    }
    assert.ok(asked.endsWith(`\n\n${hello.toString('latin1')}`), 'the ClientHello record, byte for byte, after the ICAP head');
  });
});

describe('TLS listener behind a PROXY protocol front end (tls.proxied)', () => {
  let proxy: RunningExaproxy;
  let tlsPort: number;

  before(async () => {
    ({ proxy, tlsPort } = await tlsProxy(['--tls.proxied=true', '--security.clients=192.0.2.0/24']));
  });
  after(async () => {
    await proxy?.stop();
  });

  test("the client named by the PROXY header is the one logged, and security.clients applies to it", async () => {
    const front = await relay(tlsPort, { prefix: 'PROXY TCP4 192.0.2.7 127.0.0.1 5555 443\r\n' });
    const outsider = await relay(tlsPort, { prefix: 'PROXY TCP4 198.51.100.9 127.0.0.1 5555 443\r\n' });
    try {
      const r = await curlTls('localhost', front.port);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'from the origin');
      const refused = await curlTls('localhost', outsider.port);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /access denied/i);
    } finally {
      await front.close();
      await outsider.close();
    }
    await until(() => usageLines(proxy).some((l) => / 192\.0\.2\.7 TLS localhost:443 PERMIT\//.test(l)), 'the permitted line', () => proxy.stderr());
    await until(() => usageLines(proxy).some((l) => / 198\.51\.100\.9 TLS localhost:443 DENY\/client not allowed/.test(l)), 'the refused line', () => proxy.stderr());
  });

  test('a connection without its PROXY header is closed and logged: a ClientHello instead, half a header then a close; a connect-only health check is closed quietly', async () => {
    // A TLS client straight to the listener: its hello is not a PROXY header.
    const direct = await curlTls('localhost', tlsPort);
    assert.notEqual(direct.code, 0);
    await until(() => usageLines(proxy).some((l) => / TLS - ERROR\/invalid PROXY protocol header/.test(l)), 'the invalid-header line', () => proxy.stderr());
    const half = await rawConnect(tlsPort);
    half.end('PROXY TCP4 192.0.2.7');
    assert.equal(await readUntil(half, () => false, 10_000), '');
    half.destroy();
    await until(() => usageLines(proxy).some((l) => / TLS - ERROR\/closed before the PROXY header/.test(l)), 'the early-close line', () => proxy.stderr());
    // A front end's connect-only health check: nothing sent, nothing logged.
    const logged = usageLines(proxy).length;
    const check = await rawConnect(tlsPort);
    check.end();
    assert.equal(await readUntil(check, () => false, 10_000), '');
    check.destroy();
    const half2 = await rawConnect(tlsPort);
    half2.end('PROXY ');
    assert.equal(await readUntil(half2, () => false, 10_000), '');
    half2.destroy();
    await until(() => usageLines(proxy).length === logged + 1, 'one more line, the half header', () => proxy.stderr());
    assert.match(usageLines(proxy).at(-1)!, / TLS - ERROR\/closed before the PROXY header/);
  });
});

describe('TLS listener without a helper', () => {
  test('permits: the SNI name on port 443; a ClientHello not complete in time is closed; SIGTTOU/SIGTTIN; `exaproxy -h` no longer marks tls.* as not implemented', async () => {
    const { proxy, tlsPort } = await tlsProxy(['--http.header-timeout=1']);
    try {
      const r = await curlTls('localhost', tlsPort);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'from the origin');
      const s = await rawConnect(tlsPort);
      const closed = readUntil(s, () => false, 15_000);
      s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
      assert.equal(await closed, '');
      assert.ok(s.readableEnded, 'closed by the proxy');
      s.destroy();
      await until(() => usageLines(proxy).some((l) => / ERROR\/ClientHello not received in time/.test(l)), 'the timeout line', () => proxy.stderr());
      // SIGTTOU / SIGTTIN stop and resume the TLS listener with the proxy ports.
      const refused = (): Promise<boolean> => rawConnect(tlsPort).then((c) => (c.destroy(), false), () => true);
      proxy.child.kill('SIGTTOU');
      await until(refused, 'the TLS port closed after SIGTTOU');
      proxy.child.kill('SIGTTIN');
      await until(async () => !(await refused()), 'the TLS port open again after SIGTTIN');
      const again = await curlTls('localhost', tlsPort);
      assert.equal(again.stdout, 'from the origin', again.stderr);
    } finally {
      await proxy.stop();
    }
    const help = await runCli(['-h']);
    for (const option of ['enable', 'host', 'ipv6', 'port', 'idle-connect', 'connections', 'proxied', 'header-size']) {
      const line = help.stdout.split('\n').find((l) => l.includes(`exaproxy.tls.${option} `));
      assert.ok(line !== undefined && !line.includes('not implemented'), `tls.${option}: ${line}`);
    }
  });

  test('tls.idle-connect: a new connection that sends nothing is closed after it (not after http.idle-connect or http.header-timeout)', async () => {
    const { proxy, tlsPort } = await tlsProxy(['--tls.idle-connect=1', '--http.header-timeout=60']);
    try {
      const s = await rawConnect(tlsPort);
      assert.equal(await readUntil(s, () => false, 15_000), '');
      assert.ok(s.readableEnded, 'closed by the proxy');
      s.destroy();
    } finally {
      await proxy.stop();
    }
  });

  test('a tls.port in use stops the start with one line naming tls.port', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const r = await runCli(testArgs(['--tls.enable=true', `--tls.port=${port}`]));
      assert.equal(r.status, 1);
      assert.ok(r.stderr.split('\n').includes(`exaproxy: tls.port ${port}: 127.0.0.1:${port} is already in use by another program; stop it or choose another tls.port`), r.stderr);
    } finally {
      busy.close();
    }
  });
});
