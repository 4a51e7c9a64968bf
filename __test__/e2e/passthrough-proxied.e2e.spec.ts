/**
 * The passthrough listener behind a PROXY-protocol front end (passthrough.proxied), on
 * loopback: no TPROXY, an ordinary listening socket. Raw clients play the front end: each
 * sends a PROXY v1 or v2 header naming a client in 192.0.2.0/24 and, as the original
 * destination, a TCP origin on 127.0.0.1 (listed in security.local), then bytes of their own.
 * A real url helper records its lines and denies one origin's port. Last, Debian's HAProxy
 * is the front end (send-proxy-v2), its `set-src`/`set-dst` standing for a transparent bind.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { freePort, rawConnect, readUntil, until } from '../helpers/net';
import { runCli } from '../helpers/run-cli';

/** A TCP origin: keeps every byte each connection sends, and echoes it back. */
interface TcpOrigin {
  port: number;
  received: Buffer[][];
  close(): Promise<void>;
}

async function tcpOrigin(): Promise<TcpOrigin> {
  const received: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    const mine: Buffer[] = [];
    received.push(mine);
    sockets.add(s);
    s.on('data', (d: Buffer) => {
      mine.push(d);
      s.write(d);
    });
    s.on('end', () => s.end());
    s.on('error', () => s.destroy());
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function ipv4(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** A PROXY v2 header: PROXY over TCP/IPv4 from `src` to `dst`, or LOCAL (a health check). */
function proxyV2(src: [string, number] | null, dst: [string, number] | null): Buffer {
  const signature = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
  if (src === null || dst === null) return Buffer.concat([signature, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(src[1], 0);
  ports.writeUInt16BE(dst[1], 2);
  return Buffer.concat([signature, Buffer.from([0x21, 0x11, 0x00, 12]), ipv4(src[0]), ipv4(dst[0]), ports]);
}

function proxyV1(src: [string, number], dst: [string, number]): Buffer {
  return Buffer.from(`PROXY TCP4 ${src[0]} ${dst[0]} ${src[1]} ${dst[1]}\r\n`);
}

/** The url helper: records every line; denies destinations on the port it is given. */
const HELPER = (lines: string, denyPort: number): string => `import sys
log = open(${JSON.stringify(lines)}, 'a')
for line in sys.stdin:
    log.write(line); log.flush()
    target = line.split(' ')[0]
    sys.stdout.write(('file://deny.html' if target.endswith(':${denyPort}') else '') + '\\n'); sys.stdout.flush()
`;

/** exaproxy with a proxied passthrough listener on `port` and the recording url helper. */
function startPassthrough(work: string, port: number, local: number[], denyPort: number, clients: string): Promise<RunningExaproxy> {
  writeFileSync(join(work, 'lines.txt'), '');
  writeFileSync(join(work, 'helper.py'), HELPER(join(work, 'lines.txt'), denyPort));
  return startExaproxy(
    testArgs([
      '--passthrough.enable=true',
      '--passthrough.host=127.0.0.1',
      `--passthrough.port=${port}`,
      '--passthrough.proxied=true',
      `--security.clients=${clients}`,
      `--security.local=${local.map((p) => `127.0.0.1:${p}`).join(' ')}`,
      '--redirector.enable=true',
      '--redirector.protocol=url',
      `--redirector.program=python3 ${join(work, 'helper.py')}`,
      '--http.header-timeout=1',
      '--usage.enable=true',
      '--usage.destination=stderr',
    ]),
  );
}

describe('passthrough listener behind a PROXY protocol front end (passthrough.proxied)', () => {
  let work: string;
  let origin: TcpOrigin;
  let denied: TcpOrigin;
  let proxy: RunningExaproxy;
  let port: number;
  const usage = (): string[] => proxy.stderr().split('\n').filter((l) => / TCP /.test(l));
  const helperLines = (): string => readFileSync(join(work, 'lines.txt'), 'utf8');

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'exaproxy-passthrough-proxied-'));
    origin = await tcpOrigin();
    denied = await tcpOrigin();
    port = await freePort();
    proxy = await startPassthrough(work, port, [origin.port, denied.port], denied.port, '192.0.2.0/24');
  });
  after(async () => {
    await proxy?.stop();
    await origin?.close();
    await denied?.close();
  });

  /** Sends `header` and `bytes` in one write, half-closes, and returns all that comes back. */
  async function send(header: Buffer, bytes: Buffer): Promise<{ reply: string; ended: boolean }> {
    const s = await rawConnect(port);
    const reply = readUntil(s, () => false, 15_000);
    s.end(Buffer.concat([header, bytes]));
    const text = await reply;
    const ended = s.readableEnded;
    s.destroy();
    return { reply: text, ended };
  }

  test('PROXY v2: the origin named as destination gets exactly the bytes after the header; the helper and the log see the header\'s client and destination', async () => {
    const bytes = Buffer.from('\r\n\r\n\0\r\nQUIT\nnot a second header, just bytes\x00\xff');
    const { reply } = await send(proxyV2(['192.0.2.7', 40001], ['127.0.0.1', origin.port]), bytes);
    assert.equal(reply, bytes.toString('latin1'), 'echoed by the origin');
    assert.deepEqual(Buffer.concat(origin.received.at(-1)!), bytes);
    assert.match(helperLines(), new RegExp(`^127\\.0\\.0\\.1:${origin.port} 192\\.0\\.2\\.7 - TCP -$`, 'm'));
    await until(() => usage().some((l) => l.includes(` 192.0.2.7 TCP 127.0.0.1:${origin.port} PERMIT/`)), 'the access line', () => proxy.stderr());
  });

  test('PROXY v1, the bytes sent in the same write as the header', async () => {
    const bytes = Buffer.from('hello over v1\n');
    const { reply } = await send(proxyV1(['192.0.2.8', 40002], ['127.0.0.1', origin.port]), bytes);
    assert.equal(reply, 'hello over v1\n');
    assert.deepEqual(Buffer.concat(origin.received.at(-1)!), bytes);
    assert.match(helperLines(), new RegExp(`^127\\.0\\.0\\.1:${origin.port} 192\\.0\\.2\\.8 - TCP -$`, 'm'));
  });

  test('a helper deny closes the connection without a byte, and the origin is never connected to', async () => {
    const { reply, ended } = await send(proxyV2(['192.0.2.7', 40003], ['127.0.0.1', denied.port]), Buffer.from('secret'));
    assert.equal(reply, '');
    assert.ok(ended, 'closed by the proxy');
    assert.equal(denied.received.length, 0);
    await until(() => usage().some((l) => l.includes(` TCP 127.0.0.1:${denied.port} DENY/file://deny.html`)), 'the deny line', () => proxy.stderr());
  });

  test('security.clients applies to the client the header names', async () => {
    const before = origin.received.length;
    const { reply } = await send(proxyV2(['198.51.100.9', 40004], ['127.0.0.1', origin.port]), Buffer.from('x'));
    assert.equal(reply, '');
    assert.equal(origin.received.length, before);
    await until(() => usage().some((l) => / 198\.51\.100\.9 TCP .* DENY\/client not allowed/.test(l)), 'the refused line', () => proxy.stderr());
  });

  test('no header: closed at the header timeout and logged; an invalid header: closed and logged', async () => {
    const s = await rawConnect(port);
    assert.equal(await readUntil(s, () => false, 15_000), '');
    assert.ok(s.readableEnded, 'closed by the proxy');
    s.destroy();
    await until(() => usage().some((l) => / ERROR\/PROXY header not received in time/.test(l)), 'the timeout line', () => proxy.stderr());
    const { reply, ended } = await send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.alloc(0));
    assert.equal(reply, '');
    assert.ok(ended, 'closed by the proxy');
    await until(() => usage().some((l) => / ERROR\/invalid PROXY protocol header/.test(l)), 'the invalid-header line', () => proxy.stderr());
  });

  test('half a header, then the client closes: closed and logged', async () => {
    const { reply } = await send(proxyV2(['192.0.2.7', 40006], ['127.0.0.1', origin.port]).subarray(0, 20), Buffer.alloc(0));
    assert.equal(reply, '');
    await until(() => usage().some((l) => / ERROR\/closed before the PROXY header/.test(l)), 'the early-close line', () => proxy.stderr());
  });

  test('a LOCAL command (a health check) is closed quietly: no helper line, no access line', async () => {
    const lines = helperLines();
    const logged = usage().length;
    const { reply, ended } = await send(proxyV2(null, null), Buffer.alloc(0));
    assert.equal(reply, '');
    assert.ok(ended, 'closed by the proxy');
    // A permitted connection after it is logged; the health check before it never is.
    await send(proxyV2(['192.0.2.9', 40005], ['127.0.0.1', origin.port]), Buffer.from('after'));
    await until(() => usage().some((l) => l.includes(' 192.0.2.9 TCP ')), 'the line after the health check', () => proxy.stderr());
    assert.equal(usage().length, logged + 1);
    assert.equal(helperLines().slice(lines.length).split('\n').filter(Boolean).length, 1);
  });
});

describe('passthrough.proxied behind HAProxy (send-proxy-v2)', () => {
  const HAPROXY = '/usr/sbin/haproxy';

  test("HAProxy's header names the client and the destination; the stream reaches that origin; its health checks are closed quietly", { timeout: 60_000 }, async () => {
    assert.ok(existsSync(HAPROXY), 'Debian haproxy is needed: apt-get install -y haproxy');
    const work = mkdtempSync(join(tmpdir(), 'exaproxy-passthrough-haproxy-'));
    const origin = await tcpOrigin();
    const port = await freePort();
    const proxy = await startPassthrough(work, port, [origin.port], 0, '192.0.2.10/32');
    const front = await freePort();
    // HAProxy presents every client as 192.0.2.10 going to the origin: what a transparent bind
    // taking TPROXY traffic would put in the header.
    writeFileSync(join(work, 'haproxy.cfg'), [
      'defaults',
      '    mode tcp',
      '    timeout connect 5s',
      '    timeout client 60s',
      '    timeout server 60s',
      'frontend passthrough',
      `    bind 127.0.0.1:${front}`,
      '    tcp-request connection set-src ipv4(192.0.2.10)',
      '    tcp-request connection set-dst ipv4(127.0.0.1)',
      `    tcp-request connection set-dst-port int(${origin.port})`,
      '    default_backend exaproxy',
      'backend exaproxy',
      `    server exaproxy1 127.0.0.1:${port} send-proxy-v2 check inter 100`,
      '',
    ].join('\n'));
    const check = spawnSync(HAPROXY, ['-c', '-f', join(work, 'haproxy.cfg')], { encoding: 'utf8' });
    assert.equal(check.status, 0, `haproxy -c:\n${check.stdout}${check.stderr}`);
    let haproxyOutput = '';
    const haproxy = spawn(HAPROXY, ['-db', '-f', join(work, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout.on('data', (d: Buffer) => (haproxyOutput += d.toString()));
    haproxy.stderr.on('data', (d: Buffer) => (haproxyOutput += d.toString()));
    try {
      // Asked of the kernel (iproute2's ss): a probe connection would reach exaproxy too.
      const bound = (): boolean => spawnSync('ss', ['-Hltn', `sport = :${front}`], { encoding: 'utf8' }).stdout.trim() !== '';
      await until(bound, 'haproxy listening', () => haproxyOutput);
      const s = await rawConnect(front);
      const reply = readUntil(s, () => false, 15_000);
      s.end('through haproxy\n');
      assert.equal(await reply, 'through haproxy\n', proxy.stderr() + haproxyOutput);
      s.destroy();
      assert.equal(Buffer.concat(origin.received.at(-1)!).toString(), 'through haproxy\n');
      const lines = (): string[] => readFileSync(join(work, 'lines.txt'), 'utf8').split('\n').filter(Boolean);
      assert.deepEqual(lines(), [`127.0.0.1:${origin.port} 192.0.2.10 - TCP -`]);
      const usage = (): string[] => proxy.stderr().split('\n').filter((l) => / TCP /.test(l));
      await until(() => usage().length > 0, 'the access line', () => proxy.stderr());
      assert.equal(usage().length, 1, proxy.stderr());
      assert.match(usage()[0]!, new RegExp(` 192\\.0\\.2\\.10 TCP 127\\.0\\.0\\.1:${origin.port} PERMIT/`));
    } finally {
      haproxy.kill('SIGTERM');
      await proxy.stop();
      await origin.close();
    }
  });
});

describe('passthrough.proxied options', () => {
  test('`exaproxy -h` no longer marks passthrough.proxied as not implemented', async () => {
    const help = await runCli(['-h']);
    const line = help.stdout.split('\n').find((l) => l.includes('exaproxy.passthrough.proxied '));
    assert.ok(line !== undefined && !line.includes('not implemented'), `passthrough.proxied: ${line}`);
  });

  test('no transparent socket: as nobody (no CAP_NET_ADMIN) the start gets as far as binding, and a passthrough.port in use stops it with one line naming it', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      // As nobody (when the tests run as root), a transparent socket would stop the start on CAP_NET_ADMIN.
      const nobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534, cwd: '/' } : {};
      const args = ['--web.enable=false', '--tcp4.host=127.0.0.1', '--tcp4.port=0', '--passthrough.enable=true', '--passthrough.proxied=true', `--passthrough.port=${port}`];
      const r = await runCli(args, nobody);
      assert.equal(r.status, 1);
      assert.ok(r.stderr.split('\n').includes(`exaproxy: passthrough.port ${port}: 127.0.0.1:${port} is already in use by another program; stop it or choose another passthrough.port`), r.stderr);
    } finally {
      busy.close();
    }
  });
});
