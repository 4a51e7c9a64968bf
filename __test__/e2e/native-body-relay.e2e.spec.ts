/**
 * Long Content-Length response bodies with each http.body-relay (splice and copy: the addon's
 * relay thread, src/proxy/native-body.ts; js: Node), byte for byte: 100 MB to a slow reader
 * with sha256 and bounded memory, a body written in small pieces with pauses, keep-alive and
 * pipelining after a relayed body on one upstream connection, the access log's byte count
 * against curl's, an upstream reset and a client leaving mid-body, what is not handed over
 * (HEAD, 304, short bodies), the response timeout as the relay's idle limit, and a stop with a
 * body in the relay. The origin is a raw TCP server, so every split is the test's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { dataPathPid, startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { fetchHash } from '../helpers/fetch-hash';
import { curl, rawConnect, until } from '../helpers/net';

const MB = 1024 * 1024;
const BLOCK = Buffer.from(Array.from({ length: 65_521 }, (_, i) => (i * 131 + (i >> 8)) & 0xff));

/** `size` bytes of the repeating BLOCK from offset 0, in pieces of at most `piece`. */
function* body(size: number, piece = 64 * 1024): Generator<Buffer> {
  for (let at = 0; at < size; ) {
    const from = at % BLOCK.length;
    const n = Math.min(piece, size - at, BLOCK.length - from);
    yield BLOCK.subarray(from, from + n);
    at += n;
  }
}

function sha256(size: number): string {
  const h = createHash('sha256');
  for (const p of body(size)) h.update(p);
  return h.digest('hex');
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes every piece with backpressure, then `done` (nothing after a destroy). */
function writeAll(s: Socket, source: Iterator<Buffer>, done: () => void): void {
  for (let next = source.next(); !next.done; next = source.next()) {
    if (s.destroyed) return;
    if (!s.write(next.value)) return void s.once('drain', () => writeAll(s, source, done));
  }
  done();
}

interface RawOrigin {
  port: number;
  server: Server;
  connections(): number;
  /** The connection (numbered from 1) each path was asked on, in order. */
  asked: [path: string, connection: number][];
  /** Resolves when a connection that was cut mid-body has closed. */
  cutClosed: Promise<void>;
}

/**
 * Keep-alive, one request after another: `/length/<n>` (head and body in pieces of 64 KiB),
 * `/split/<n>` (head alone, then pieces of 9,973 bytes 1 ms apart; `/slow/<n>`: pieces of 64 KiB
 * 150 ms apart), `/reset/<n>` (half the body, then a reset), `/stall/<n>` (a quarter of the body,
 * then silence), `/endless` (never ends, until the connection closes), `/304`; a HEAD gets the
 * head of `/length/<n>` alone.
 */
async function rawOrigin(): Promise<RawOrigin> {
  let connections = 0;
  const asked: [string, number][] = [];
  let cut: () => void = () => undefined;
  const cutClosed = new Promise<void>((r) => (cut = r));
  const answer = (s: Socket, method: string, path: string, next: () => void): void => {
    const [, kind, n = '0'] = path.split('/');
    const size = Number(n);
    if (kind === '304') return void (s.write('HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n'), next());
    const head = `HTTP/1.1 200 OK\r\nContent-Length: ${kind === 'endless' ? 1e12 : size}\r\n\r\n`;
    if (method === 'HEAD') return void (s.write(head), next());
    if (kind === 'reset') {
      s.write(head);
      return void s.write(Buffer.concat([...body(size / 2)]), () => setTimeout(() => s.resetAndDestroy(), 50));
    }
    if (kind === 'endless') {
      s.on('close', cut);
      s.write(head);
      return writeAll(s, body(1e12), next);
    }
    if (kind === 'stall') {
      s.write(head);
      return void s.write(Buffer.concat([...body(size / 4)]));
    }
    if (kind === 'split' || kind === 'slow') {
      s.write(head);
      void (async () => {
        for (const p of body(size, kind === 'slow' ? 64 * 1024 : 9_973)) {
          if (s.destroyed) return;
          s.write(p);
          await delay(kind === 'slow' ? 150 : 1);
        }
        next();
      })();
      return;
    }
    writeAll(s, [Buffer.from(head), ...body(size)][Symbol.iterator](), next);
  };
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const id = ++connections;
    s.on('error', () => undefined);
    let input = '';
    let busy = false;
    const next = (): void => {
      const end = input.indexOf('\r\n\r\n');
      if (busy || end < 0) return;
      const [method, path] = input.slice(0, end).split(' ') as [string, string];
      input = input.slice(end + 4);
      asked.push([path, id]);
      busy = true;
      answer(s, method, path, () => {
        busy = false;
        next();
      });
    };
    s.on('data', (d: Buffer) => {
      input += d.toString('latin1');
      next();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server, connections: () => connections, asked, cutClosed };
}

/** Reads responses from `s`, one per entry of `bodyless` (true: an answer to HEAD): each as status and body sha256. */
async function readResponses(s: Socket, bodyless: boolean[]): Promise<string[]> {
  const count = bodyless.length;
  const out: string[] = [];
  let pending = Buffer.alloc(0);
  let left = -1;
  let status = '';
  let hash = createHash('sha256');
  for await (const chunk of s) {
    pending = Buffer.concat([pending, chunk as Buffer]);
    for (;;) {
      if (left < 0) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = pending.subarray(0, end).toString('latin1');
        status = head.slice(9, 12);
        left = bodyless[out.length] ? 0 : Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        pending = pending.subarray(end + 4);
      }
      const n = Math.min(left, pending.length);
      hash.update(pending.subarray(0, n));
      pending = pending.subarray(n);
      left -= n;
      if (left > 0) break;
      out.push(`${status} ${hash.digest('hex')}`);
      hash = createHash('sha256');
      left = -1;
      if (out.length === count) return out;
    }
  }
  return out;
}

/** Peak RSS of the proxy (one process: daemon.workers=1), in kB. */
function peakRssKb(proxy: RunningExaproxy): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${dataPathPid(proxy)}/status`, 'utf8'))![1]);
}

/** Whether the proxy has started its relay thread (it does on the first handover). */
function relayThreadStarted(proxy: RunningExaproxy): boolean {
  const pid = dataPathPid(proxy);
  return readdirSync(`/proc/${pid}/task`).some((tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'exaproxy-relay');
}

function get(port: number, path: string, method = 'GET'): string {
  return `${method} http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
}

for (const relay of ['splice', 'copy', 'js'] as const) {
  describe(`response bodies with http.body-relay=${relay}`, () => {
    let origin: RawOrigin;
    let proxy: RunningExaproxy;
    let base: string;
    before(async () => {
      origin = await rawOrigin();
      base = `http://127.0.0.1:${origin.port}`;
      const args = ['--security.local=127.0.0.1:*', `--http.body-relay=${relay}`, '--usage.enable=true', '--usage.format=squid', '--usage.destination=stderr'];
      proxy = await startExaproxy(testArgs(args));
    });
    after(async () => {
      await proxy?.stop();
      origin?.server.close();
    });

    test('HEAD, 304 and a short body are answered as always (no relay thread for them)', async () => {
      const s = await rawConnect(proxy.port);
      s.write(get(origin.port, `/length/${MB}`, 'HEAD') + get(origin.port, '/304') + get(origin.port, '/length/1000'));
      const [head, notModified, short] = await readResponses(s, [true, false, false]);
      s.destroy();
      assert.equal(head, `200 ${sha256(0)}`);
      assert.equal(notModified, `304 ${sha256(0)}`);
      assert.equal(short, `200 ${sha256(1000)}`);
      // None of these is long enough to hand over: the thread starts with the first handover.
      assert.equal(relayThreadStarted(proxy), false);
    });

    test('100 MB to a slow reader: every byte in order (sha256), the proxy does not buffer it', async () => {
      const { headers: _, ...got } = await fetchHash(proxy, `${base}/length/${100 * MB}`, 8 * MB);
      assert.deepEqual(got, { status: 200, hash: sha256(100 * MB), length: 100 * MB });
      const peak = peakRssKb(proxy);
      assert.ok(peak < 150 * 1024, `peak RSS ${peak} kB: the body was buffered`);
      // The native relays moved it on their thread; js never starts one.
      assert.equal(relayThreadStarted(proxy), relay !== 'js');
    });

    test('a body the origin writes in small pieces with pauses arrives whole', async () => {
      const size = MB + 17;
      const { headers: _, ...got } = await fetchHash(proxy, `${base}/split/${size}`);
      assert.deepEqual(got, { status: 200, hash: sha256(size), length: size });
    });

    test('two 1 MiB GETs on one keep-alive connection share one upstream connection, and a pipelined third is answered after', async () => {
      const s = await rawConnect(proxy.port);
      const paths = [`/length/${MB}`, `/length/${MB + 1}`, '/length/5'];
      s.write(get(origin.port, paths[0]!));
      const responses = readResponses(s, [false, false, false]);
      await delay(100);
      // The second and third are pipelined: the third waits in the proxy while the second is relayed.
      s.write(get(origin.port, paths[1]!) + get(origin.port, paths[2]!));
      assert.deepEqual(await responses, [`200 ${sha256(MB)}`, `200 ${sha256(MB + 1)}`, `200 ${sha256(5)}`]);
      s.destroy();
      const on = origin.asked.slice(-3);
      assert.deepEqual(on.map(([path]) => path), paths);
      assert.equal(new Set(on.map(([, connection]) => connection)).size, 1, `one upstream connection for the three: ${JSON.stringify(on)}`);
    });

    test("the access log's byte count is what curl received (head and body)", async () => {
      const size = 3 * MB + 5;
      const r = await curl(['-x', proxy.url, '-o', '/dev/null', '-w', '%{size_header} %{size_download}', `${base}/length/${size}`]);
      assert.equal(r.code, 0, r.stderr);
      const [headerBytes, bodyBytes] = r.stdout.split(' ').map(Number) as [number, number];
      assert.equal(bodyBytes, size);
      const pattern = new RegExp(`TCP_MISS/200 (\\d+) GET ${base}/length/${size} `);
      await until(() => pattern.test(proxy.stderr()), 'the access log line', () => proxy.stderr());
      assert.equal(Number(pattern.exec(proxy.stderr())![1]), headerBytes + bodyBytes);
    });

    test('an upstream reset mid-body reaches the client as a broken connection with fewer bytes', async () => {
      const size = 2 * MB;
      const r = await curl(['-x', proxy.url, '-o', '/dev/null', '-w', '%{size_download}', `${base}/reset/${size}`]);
      // 18: closed with bytes missing; 56: the reset itself.
      assert.ok([18, 56].includes(r.code), `curl exit ${r.code}: ${r.stderr}`);
      assert.ok(Number(r.stdout) < size, `${r.stdout} bytes`);
      const after = await fetchHash(proxy, `${base}/length/${MB}`);
      assert.equal(after.hash, sha256(MB), 'the proxy serves the next request');
    });

    test('a client leaving mid-body closes the upstream connection, and the proxy keeps serving', async () => {
      const s = await rawConnect(proxy.port);
      let received = 0;
      const started = new Promise<void>((resolve) =>
        s.on('data', (d: Buffer) => {
          received += d.length;
          if (received > 2 * MB) resolve();
        }),
      );
      s.write(get(origin.port, '/endless'));
      await started;
      s.resetAndDestroy();
      await origin.cutClosed;
      const after = await fetchHash(proxy, `${base}/length/${MB}`);
      assert.equal(after.hash, sha256(MB));
      // Logged with at least what the client received (the rest went as far as its socket).
      const pattern = new RegExp(`/200 (\\d+) GET ${base}/endless `);
      await until(() => pattern.test(proxy.stderr()), 'the access log line', () => proxy.stderr());
      const logged = Number(pattern.exec(proxy.stderr())![1]);
      assert.ok(logged >= received, `logged ${logged} bytes, the client received ${received}`);
    });
  });
}

test('a stop (SIGTERM) while the relay thread moves a body ends the connection, and the process exits', async () => {
  const origin = await rawOrigin();
  const proxy = await startExaproxy(testArgs(['--security.local=127.0.0.1:*', '--http.body-relay=splice']));
  try {
    const s = await rawConnect(proxy.port);
    let received = 0;
    const flowing = new Promise<void>((resolve) =>
      s.on('data', (d: Buffer) => {
        received += d.length;
        if (received > 2 * MB) resolve();
      }),
    );
    const ended = new Promise<void>((resolve) => s.on('close', () => resolve()));
    s.on('error', () => undefined);
    s.write(get(origin.port, '/endless'));
    await flowing;
    assert.equal(relayThreadStarted(proxy), true);
    assert.equal(await proxy.stop(), 0, proxy.stderr());
    await ended;
    await origin.cutClosed;
  } finally {
    origin.server.close();
  }
});

for (const relay of ['splice', 'js'] as const) {
  describe(`the response timeout with http.body-relay=${relay}`, () => {
    let origin: RawOrigin;
    let proxy: RunningExaproxy;
    let base: string;
    before(async () => {
      origin = await rawOrigin();
      base = `http://127.0.0.1:${origin.port}`;
      proxy = await startExaproxy(testArgs(['--security.local=127.0.0.1:*', `--http.body-relay=${relay}`, '--http.upstream-response-timeout=1']));
    });
    after(async () => {
      await proxy?.stop();
      origin?.server.close();
    });

    test('a body longer in total than the timeout, never silent that long, arrives whole', async () => {
      // 16 pieces 150 ms apart: about 2.4 s, against a timeout of 1 s between two reads.
      const { headers: _, ...got } = await fetchHash(proxy, `${base}/slow/${MB}`);
      assert.deepEqual(got, { status: 200, hash: sha256(MB), length: MB });
    });

    test('a body that stops for longer than the timeout ends in a broken connection, with fewer bytes', async () => {
      const size = MB;
      const r = await curl(['-x', proxy.url, '-o', '/dev/null', '-w', '%{size_download}', `${base}/stall/${size}`]);
      assert.ok([18, 56].includes(r.code), `curl exit ${r.code}: ${r.stderr}`);
      assert.equal(Number(r.stdout), size / 4);
    });
  });
}
