/**
 * Response bodies read into recycled memory (src/proxy/read-buffers.ts), byte for byte: a
 * buffer must never be read into again while a write of its bytes is still queued. Slow
 * readers (so writes queue) with sha256 over 100 MB, chunk boundaries that cross reads,
 * pipelined responses on one upstream connection, heads split across reads and heads that
 * leave with their first body bytes, the bytes that come with a 101 handed to each tunnel
 * relay, and a TLS upstream (read by Node as before) beside a plain one. The origin is a raw
 * TCP (or TLS) server, so every split is the test's own.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { fetchHash } from '../helpers/fetch-hash';
import { rawConnect, readUntil } from '../helpers/net';
import { makePki, type TestPki } from '../helpers/tls';

/** Body bytes: a random pattern of prime length, so a byte out of place changes the hash. */
const PATTERN = randomBytes(65_521);
const MB = 1024 * 1024;

/** `size` bytes of the pattern starting at `seed`, in pieces of at most 64 KiB. */
function* pieces(seed: number, size: number, pieceSize = 64 * 1024): Generator<Buffer> {
  for (let at = 0; at < size; ) {
    const from = (seed + at) % PATTERN.length;
    const n = Math.min(pieceSize, size - at, PATTERN.length - from);
    yield PATTERN.subarray(from, from + n);
    at += n;
  }
}

function sha256(seed: number, size: number): string {
  const h = createHash('sha256');
  for (const p of pieces(seed, size)) h.update(p);
  return h.digest('hex');
}

/** Writes every buffer in order, waiting for 'drain' when the socket asks to; then `done`. */
function writeAll(s: Socket, source: Iterator<Buffer>, done: () => void): void {
  for (let next = source.next(); !next.done; next = source.next()) {
    if (s.destroyed) return;
    if (!s.write(next.value)) return void s.once('drain', () => writeAll(s, source, done));
  }
  done();
}

/** A chunked body of the pattern: chunks of changing sizes, sent in writes of 12,345 bytes (boundaries anywhere). */
function* chunkedBody(seed: number, size: number): Generator<Buffer> {
  const parts: Buffer[] = [];
  let queued = 0;
  let i = 0;
  for (let at = 0; at < size; i++) {
    const n = Math.min(1 + ((i * 7919) % 20_000), size - at);
    const data = Buffer.concat([...pieces(seed + at, n)]);
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from('\r\n'));
    queued += n;
    at += n;
    if (queued >= 64 * 1024) {
      const all = Buffer.concat(parts.splice(0));
      for (let o = 0; o < all.length; o += 12_345) yield all.subarray(o, o + 12_345);
      queued = 0;
    }
  }
  yield Buffer.concat([...parts, Buffer.from('0\r\n\r\n')]);
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What the origin answers, by path: `/length/<seed>/<size>` (the head in the same write as the
 * first 40,000 body bytes), `/chunked/<seed>/<size>`, `/split/<seed>/<size>` (the head in three
 * writes 30 ms apart), `/upgrade` (a 101 with bytes behind it in the same write, then an echo).
 */
function answer(s: Socket, path: string, next: () => void): void {
  const [, kind, seed = 0, size = 0] = path.split('/').map((p, i) => (i >= 2 ? Number(p) : p)) as [string, string, number?, number?];
  if (kind === 'upgrade') {
    s.removeAllListeners('data');
    s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\nfrom the server with the 101;');
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
    return;
  }
  if (kind === 'chunked') {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    return writeAll(s, chunkedBody(seed, size), next);
  }
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
  if (kind === 'split') {
    void (async () => {
      for (const part of [head.subarray(0, 9), head.subarray(9, 30), head.subarray(30)]) {
        s.write(part);
        await delay(30);
      }
      writeAll(s, pieces(seed, size), next);
    })();
    return;
  }
  const first = Math.min(40_000, size);
  s.write(Buffer.concat([head, ...pieces(seed, first)]));
  writeAll(s, pieces(seed + first, size - first), next);
}

/**
 * The raw origin: keep-alive, one request after another, each answered in full before the next
 * is read; over TLS with `pki`.
 */
async function rawOrigin(pki?: TestPki): Promise<{ port: number; server: Server; connections: () => number }> {
  let connections = 0;
  const serve = (s: Socket): void => {
    connections++;
    s.on('error', () => undefined);
    let input = '';
    let busy = false;
    const next = (): void => {
      const end = input.indexOf('\r\n\r\n');
      if (busy || end < 0) return;
      const path = input.slice(0, end).split(' ')[1]!;
      input = input.slice(end + 4);
      busy = true;
      answer(s, path, () => {
        busy = false;
        next();
      });
    };
    s.on('data', (d: Buffer) => {
      input += d.toString('latin1');
      next();
    });
  };
  const server = pki === undefined ? createServer({ allowHalfOpen: true }, serve) : createTlsServer({ key: pki.key, cert: pki.cert }, serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server, connections: () => connections };
}

/** Peak RSS of the proxy's busiest process (the primary or its worker), in kB. */
function peakRssKb(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return Math.max(...[pid, ...children].map((p) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1])));
}

/** Reads `count` Content-Length responses from `s`, slowly; their bodies' sha256, in order. */
async function readResponses(s: Socket, count: number): Promise<string[]> {
  const hashes: string[] = [];
  let pending = Buffer.alloc(0);
  let left = -1;
  let hash = createHash('sha256');
  await delay(300); // nothing read at first: the proxy's writes to this client queue
  for await (const chunk of s) {
    pending = Buffer.concat([pending, chunk as Buffer]);
    for (;;) {
      if (left < 0) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = pending.subarray(0, end).toString('latin1');
        assert.match(head, /^HTTP\/1\.1 200 /);
        left = Number(/content-length: (\d+)/i.exec(head)![1]);
        pending = pending.subarray(end + 4);
      }
      const n = Math.min(left, pending.length);
      hash.update(pending.subarray(0, n));
      pending = pending.subarray(n);
      left -= n;
      if (left > 0) break;
      hashes.push(hash.digest('hex'));
      hash = createHash('sha256');
      left = -1;
      if (hashes.length === count) return hashes;
    }
    await delay(2);
  }
  return hashes;
}

let origin: Awaited<ReturnType<typeof rawOrigin>>;
let proxy: RunningExaproxy;
let base: string;

before(async () => {
  origin = await rawOrigin();
  base = `http://127.0.0.1:${origin.port}`;
  proxy = await startExaproxy(testArgs(['--security.local=127.0.0.1:*']));
});

after(async () => {
  await proxy?.stop();
  origin?.server.close();
});

describe('response bodies read into recycled buffers', () => {
  test('100 MB with Content-Length to a slow reader: every byte in order (sha256), the proxy does not buffer it', async () => {
    const got = await fetchHash(proxy, `${base}/length/7/${100 * MB}`, 8 * MB);
    assert.equal(got.status, 200);
    assert.equal(got.length, 100 * MB);
    assert.equal(got.hash, sha256(7, 100 * MB));
    const peak = peakRssKb(proxy.child.pid!);
    assert.ok(peak < 150 * 1024, `peak RSS ${peak} kB: the body was buffered`);
  });

  test('a 30 MB chunked body whose chunk boundaries cross reads, to a slow reader: decoded byte for byte', async () => {
    const got = await fetchHash(proxy, `${base}/chunked/11/${30 * MB}`, 4 * MB);
    assert.equal(got.status, 200);
    assert.equal(got.headers['transfer-encoding'], 'chunked');
    assert.equal(got.length, 30 * MB);
    assert.equal(got.hash, sha256(11, 30 * MB));
  });

  test('a head split across three reads, then 3 MB: the head and every body byte arrive', async () => {
    const got = await fetchHash(proxy, `${base}/split/13/${3 * MB}`, MB);
    assert.equal(got.status, 200);
    assert.equal(got.hash, sha256(13, 3 * MB));
  });

  test('heads that leave joined with their first body bytes (small and large) are followed by the right body', async () => {
    for (const size of [1, 5_000, 16 * 1024, 16 * 1024 + 1, 40_000, 200_000]) {
      const got = await fetchHash(proxy, `${base}/length/${size}/${size}`);
      assert.equal(got.length, size);
      assert.equal(got.hash, sha256(size, size), `a body of ${size} bytes`);
    }
  });

  test('six clients pipelining responses of different sizes, each read slowly: every body is its own', async () => {
    const before = origin.connections();
    // A large body fills the buffers on the way to the client; then whole responses that come
    // in one read (the head's), written while the client's socket still holds earlier ones.
    const small = Array.from({ length: 24 }, (_, i) => 17_000 + ((i * 7777) % 40_000));
    const sizes = [4 * MB, ...small, 2 * MB + 3, 70_000, 17, 150_000, 65_536, 300_000];
    const client = async (c: number): Promise<void> => {
      const s = await rawConnect(proxy.port);
      const seed = (i: number): number => c * 100_000 + i * 1000;
      s.write(sizes.map((size, i) => `GET ${base}/length/${seed(i)}/${size} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`).join(''));
      const hashes = await readResponses(s, sizes.length);
      s.destroy();
      assert.deepEqual(
        hashes,
        sizes.map((size, i) => sha256(seed(i), size)),
        `client ${c}`,
      );
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(client));
    // Each client's requests one after another, on pooled upstream connections.
    assert.ok(origin.connections() - before <= 6, `${origin.connections() - before} upstream connections`);
  });

  test('eight slow downloads at once, sharing the pool of read buffers: each gets its own bytes', async () => {
    const sizes = [4 * MB, 3 * MB + 1, 2 * MB + 7, 5 * MB, MB, 6 * MB + 11, 100_000, 3 * MB];
    const results = await Promise.all(sizes.map((size, i) => fetchHash(proxy, `${base}/length/${i * 4099}/${size}`, MB)));
    assert.deepEqual(
      results.map((r) => r.hash),
      sizes.map((size, i) => sha256(i * 4099, size)),
    );
  });
});

for (const relay of ['js', 'splice'] as const) {
  describe(`an upgrade relayed by http.tunnel-relay=${relay}`, () => {
    let tunnelProxy: RunningExaproxy;
    before(async () => {
      tunnelProxy = await startExaproxy(testArgs(['--security.local=127.0.0.1:*', `--http.tunnel-relay=${relay}`]));
    });
    after(async () => {
      await tunnelProxy?.stop();
    });

    test('the bytes that came with the 101 arrive first, then 8 MB echoed both ways byte for byte', async () => {
      const s = await rawConnect(tunnelProxy.port);
      const head = readUntil(s, (t) => t.includes('with the 101;'));
      s.write(`GET ${base}/upgrade HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n`);
      const text = await head;
      assert.match(text, /^HTTP\/1\.1 101 /);
      assert.ok(text.endsWith('\r\n\r\nfrom the server with the 101;'), text);
      const h = createHash('sha256');
      let length = 0;
      const echoed = new Promise<void>((resolve, reject) => {
        s.on('data', (d: Buffer) => {
          h.update(d);
          length += d.length;
          if (length >= 8 * MB) resolve();
        });
        s.on('error', reject);
      });
      writeAll(s, pieces(17, 8 * MB, 10_007), () => undefined);
      await echoed;
      s.destroy();
      assert.equal(length, 8 * MB);
      assert.equal(h.digest('hex'), sha256(17, 8 * MB));
    });
  });
}

describe('a TLS upstream (Node reads it as before)', () => {
  let pki: TestPki;
  let tlsOrigin: Awaited<ReturnType<typeof rawOrigin>>;
  let tlsProxy: RunningExaproxy;
  before(async () => {
    pki = makePki();
    tlsOrigin = await rawOrigin(pki);
    tlsProxy = await startExaproxy(testArgs(['--security.local=127.0.0.1:*']), { NODE_EXTRA_CA_CERTS: pki.caFile });
  });
  after(async () => {
    await tlsProxy?.stop();
    tlsOrigin?.server.close();
  });

  test('20 MB from an https origin and 20 MB from a plain one at once, read slowly: both byte for byte', async () => {
    const [secure, plain] = await Promise.all([
      fetchHash(tlsProxy, `https://127.0.0.1:${tlsOrigin.port}/length/23/${20 * MB}`, 2 * MB),
      fetchHash(tlsProxy, `${base}/chunked/29/${20 * MB}`, 2 * MB),
    ]);
    assert.equal(secure.status, 200);
    assert.equal(secure.hash, sha256(23, 20 * MB));
    assert.equal(plain.hash, sha256(29, 20 * MB));
  });
});
