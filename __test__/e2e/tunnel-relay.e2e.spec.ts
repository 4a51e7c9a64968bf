/**
 * CONNECT tunnels with each relay (http.tunnel-relay: js, copy, splice), byte for byte:
 * split reads, half-close both ways, 100 MB each way with sha256, a slow reader that holds
 * the sender back, a reset mid-stream, the idle limit, a stop with tunnels open, and the
 * access log's byte counts against curl's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, readUntil, startOrigin, type Origin } from '../helpers/net';
import { echoWebSockets, frame, unframe } from '../helpers/websocket';

const SIZE = 100 * 1024 * 1024;
const BLOCK = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789');

/** A raw TCP origin: `onSocket` is the whole behaviour. */
async function tcpOrigin(onSocket: (s: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, onSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

/** Writes `size` bytes of BLOCK with backpressure, then `done`. */
function pump(s: Socket, size: number, done: () => void): void {
  let left = size;
  const more = (): void => {
    while (left > 0) {
      const n = Math.min(left, BLOCK.length);
      left -= n;
      if (!s.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n))) return void s.once('drain', more);
    }
    done();
  };
  more();
}

function expectedHash(size: number): string {
  const h = createHash('sha256');
  for (let left = size; left > 0; left -= BLOCK.length) h.update(left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left));
  return h.digest('hex');
}

/** Peak RSS of the proxy's busiest process (the primary or a worker), in kB. */
function rssKb(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return Math.max(...[pid, ...children].map((p) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1])));
}

interface Origins {
  /** Echoes; on the client's FIN answers `got <n>` and ends. */
  echo: number;
  /** Sends `banner` and its FIN at once, then keeps what it is sent. */
  banner: number;
  bannerReceived: Promise<Buffer>;
  /** Answers the sha256 of everything it got, after the client's FIN. */
  sink: number;
  /** Sends SIZE bytes of BLOCK, then ends. */
  source: number;
  /** Sends 1 MiB, then resets the connection. */
  reset: number;
  servers: Server[];
}

async function startOrigins(): Promise<Origins> {
  let bannerDone: (b: Buffer) => void = () => undefined;
  const bannerReceived = new Promise<Buffer>((r) => (bannerDone = r));
  const echo = await tcpOrigin((s) => {
    let n = 0;
    s.on('data', (d: Buffer) => {
      n += d.length;
      s.write(d);
    });
    s.on('end', () => s.end(`got ${n}`));
  });
  const banner = await tcpOrigin((s) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => bannerDone(Buffer.concat(chunks)));
    s.end('banner');
  });
  const sink = await tcpOrigin((s) => {
    const h = createHash('sha256');
    s.on('data', (d: Buffer) => h.update(d));
    s.on('end', () => s.end(h.digest('hex')));
  });
  const source = await tcpOrigin((s) => {
    s.on('error', () => undefined);
    pump(s, SIZE, () => s.end());
  });
  const reset = await tcpOrigin((s) => {
    s.on('error', () => undefined);
    pump(s, 1024 * 1024, () => setTimeout(() => s.resetAndDestroy(), 50));
  });
  const all = [echo, banner, sink, source, reset];
  return {
    echo: echo.port,
    banner: banner.port,
    bannerReceived,
    sink: sink.port,
    source: source.port,
    reset: reset.port,
    servers: all.map((o) => o.server),
  };
}

/** A tunnel through the proxy to `port`: the socket once the 200 has been read, and what came after it. */
async function open(proxy: RunningExaproxy, port: number): Promise<{ s: Socket; early: Buffer }> {
  // Half-open allowed: the tests send after the tunnel's FIN from the server.
  const s = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
  const head = readUntil(s, (t) => t.includes('\r\n\r\n'));
  s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  const text = await head;
  assert.match(text, /^HTTP\/1\.1 200 /);
  return { s, early: Buffer.from(text.slice(text.indexOf('\r\n\r\n') + 4), 'latin1') };
}

/** Everything the socket receives until its end; rejects on a reset. */
function collect(s: Socket, early: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const chunks = [early];
  return new Promise((resolve, reject) => {
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

for (const relay of ['js', 'copy', 'splice'] as const) {
  describe(`CONNECT tunnels relayed by http.tunnel-relay=${relay}`, () => {
    let origins: Origins;
    let web: Origin;
    let proxy: RunningExaproxy;

    before(async () => {
      origins = await startOrigins();
      web = await startOrigin((req, res) => {
        if (req.url !== '/file') return false;
        res.end(BLOCK.subarray(0, 50_000));
        return true;
      });
      echoWebSockets(web.server);
      const ports = [origins.echo, origins.banner, origins.sink, origins.source, origins.reset, web.port];
      proxy = await startExaproxy(
        testArgs([
          `--http.tunnel-relay=${relay}`,
          `--security.connect=${ports.join(' ')}`,
          `--security.local=${ports.map((p) => `127.0.0.1:${p}`).join(' ')}`,
          '--usage.enable=true',
          '--usage.format=squid',
          '--usage.destination=stderr',
        ]),
      );
    });
    after(async () => {
      await proxy?.stop();
      await web?.close();
      for (const server of origins?.servers ?? []) server.close();
    });

    test('bytes written in many small pieces arrive in order, and the FIN follows them (client half-closes first)', async () => {
      const { s, early } = await open(proxy, origins.echo);
      const got = collect(s, early);
      const sent: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const piece = Buffer.from(`piece ${i};`);
        sent.push(piece);
        s.write(piece);
        await new Promise((r) => setTimeout(r, 2));
      }
      s.end();
      const all = Buffer.concat(sent);
      assert.equal((await got).toString(), `${all.toString()}got ${all.length}`);
    });

    test('bytes sent in the same packet as the CONNECT head are relayed first, in order', async () => {
      const s = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
      const got = collect(s);
      s.write(`CONNECT 127.0.0.1:${origins.echo} HTTP/1.1\r\nHost: 127.0.0.1:${origins.echo}\r\n\r\nsent with the head;`);
      await new Promise((r) => setTimeout(r, 20));
      s.end('and after it');
      assert.equal((await got).toString(), 'HTTP/1.1 200 Connection established\r\n\r\nsent with the head;and after itgot 31');
    });

    test('a WebSocket whose first frame comes with the upgrade request echoes both frames', async () => {
      const s = connect({ port: proxy.port, host: '127.0.0.1' });
      let pending = Buffer.alloc(0);
      const payloads: string[] = [];
      const two = new Promise<void>((resolve) => {
        s.on('data', (d: Buffer) => {
          pending = Buffer.concat([pending, d]);
          const head = pending.indexOf('\r\n\r\n');
          if (payloads.length === 0 && head >= 0 && pending.toString('latin1').startsWith('HTTP/1.1 101 ')) {
            pending = pending.subarray(head + 4);
            payloads.push('101');
          }
          for (let f = unframe(pending); payloads.length > 0 && f; f = unframe(pending)) {
            payloads.push(f.payload.toString());
            pending = pending.subarray(f.size);
          }
          if (payloads.length === 3) resolve();
        });
      });
      s.write(
        Buffer.concat([
          Buffer.from(
            `GET http://127.0.0.1:${web.port}/ws HTTP/1.1\r\nHost: 127.0.0.1:${web.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
              'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
          ),
          frame(Buffer.from('with the upgrade'), true),
        ]),
      );
      await new Promise((r) => setTimeout(r, 20));
      s.write(frame(Buffer.from('after the 101'), true));
      await two;
      s.destroy();
      assert.deepEqual(payloads, ['101', 'with the upgrade', 'after the 101']);
    });

    test('the server half-closes first: the client gets the FIN and may still send', async () => {
      const { s, early } = await open(proxy, origins.banner);
      assert.equal((await collect(s, early)).toString(), 'banner');
      s.end('after the banner');
      assert.equal((await origins.bannerReceived).toString(), 'after the banner');
    });

    test('100 MB up: the origin receives every byte (sha256)', async () => {
      const { s, early } = await open(proxy, origins.sink);
      const got = collect(s, early);
      pump(s, SIZE, () => s.end());
      assert.equal((await got).toString(), expectedHash(SIZE));
    });

    test('100 MB down to a slow reader: every byte arrives, the proxy does not buffer it', async () => {
      const { s, early } = await open(proxy, origins.source);
      const hash = createHash('sha256').update(early);
      let body = early.length;
      await new Promise<void>((resolve, reject) => {
        s.on('data', (d: Buffer) => {
          hash.update(d);
          body += d.length;
          // Read slowly for the first megabytes: the proxy must hold the origin back.
          if (body < 8 * 1024 * 1024) {
            s.pause();
            setTimeout(() => s.resume(), 5);
          }
        });
        s.on('end', resolve);
        s.on('error', reject);
      });
      assert.equal(body, SIZE);
      assert.equal(hash.digest('hex'), expectedHash(SIZE));
      assert.ok(rssKb(proxy.child.pid!) < 150 * 1024, `peak RSS ${rssKb(proxy.child.pid!)} kB: the tunnel was buffered`);
    });

    test('a server that resets mid-stream reaches the client as a reset, after the bytes before it', async () => {
      const { s, early } = await open(proxy, origins.reset);
      let received = early.length;
      s.on('data', (d: Buffer) => (received += d.length));
      const ended = await collect(s).then(
        () => 'a clean end',
        (e: NodeJS.ErrnoException) => e.code,
      );
      assert.equal(ended, 'ECONNRESET');
      assert.ok(received <= 1024 * 1024, `${received} bytes`);
    });

    test("the access log's byte count for a tunnel is what curl received through it", async () => {
      const r = await curl(['-s', '-p', '-x', proxy.url, '-o', '/dev/null', '-w', '%{size_header} %{size_download}', `http://127.0.0.1:${web.port}/file`]);
      assert.equal(r.code, 0, r.stderr);
      const [headerBytes, bodyBytes] = r.stdout.split(' ').map(Number);
      const pattern = new RegExp(`TCP_TUNNEL/200 (\\d+) CONNECT 127\\.0\\.0\\.1:${web.port} `);
      let logged: RegExpExecArray | null = null;
      for (let i = 0; i < 300 && logged === null; i++) {
        logged = pattern.exec(proxy.stderr());
        if (logged === null) await new Promise((res) => setTimeout(res, 50));
      }
      assert.ok(logged, proxy.stderr());
      // curl's header count includes the proxy's 200 to the CONNECT, as the logged count does.
      assert.equal(Number(logged[1]), headerBytes! + bodyBytes!);
    });
  });
}

describe('tunnel ends with the native relay (the default, splice)', () => {
  let origins: Origins;
  before(async () => {
    origins = await startOrigins();
  });
  after(() => {
    for (const server of origins?.servers ?? []) server.close();
  });

  function start(extra: string[]): Promise<RunningExaproxy> {
    return startExaproxy(testArgs([`--security.connect=${origins.echo}`, `--security.local=127.0.0.1:${origins.echo}`, ...extra]));
  }

  test('http.tunnel-idle-timeout closes a silent tunnel both ways', async () => {
    const proxy = await start(['--http.tunnel-idle-timeout=1']);
    try {
      const { s, early } = await open(proxy, origins.echo);
      const got = collect(s, early);
      s.write('once');
      // The echo server ends only after the client's FIN: here the proxy ends it.
      assert.equal((await got).toString(), 'once');
    } finally {
      await proxy.stop();
    }
  });

  test('a stop (SIGTERM) with a tunnel open ends it and the process exits', async () => {
    const proxy = await start([]);
    const { s, early } = await open(proxy, origins.echo);
    const got = collect(s, early).catch(() => Buffer.from('reset'));
    s.write('before the stop');
    await readUntil(s, (t) => t.includes('before the stop'));
    const code = await proxy.stop();
    assert.equal(code, 0, proxy.stderr());
    await got;
    assert.ok(s.readableEnded || s.destroyed);
  });
});
