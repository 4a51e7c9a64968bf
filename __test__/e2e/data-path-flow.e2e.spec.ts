/**
 * Regression tests for the data path's flow control and framing defects found by
 * probing (issue 9): memory bounded when a client never reads, uploads not cut at the
 * response timeout, truncated bodies never presented as complete, half-closes passed on
 * and answered. Real exaproxy, real sockets, real curl.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { dataPathPid, startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, rawConnect, readUntil, startOrigin, type Origin } from '../helpers/net';

let origin: Origin;
let proxy: RunningExaproxy;
let base: string;

before(async () => {
  origin = await startOrigin((req, res, body) => {
    if (req.url === '/upload') {
      res.end(`got ${body.length}`);
      return true;
    }
    return false;
  });
  base = `http://127.0.0.1:${origin.port}`;
  proxy = await startExaproxy(testArgs([`--security.local=127.0.0.1:*`, '--http.upstream-response-timeout=2']));
});

after(async () => {
  await proxy?.stop();
  await origin?.close();
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Writes `block` again and again without reading, until `limit` bytes or no progress for `stallMs`. */
async function floodWithoutReading(s: Socket, block: Buffer, limit: number, stallMs: number): Promise<number> {
  let sent = 0;
  while (sent < limit) {
    if (!s.write(block)) {
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), stallMs);
        s.once('drain', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) return sent;
    }
    sent += block.length;
  }
  return sent;
}

function repeated(request: string, bytes: number): Buffer {
  return Buffer.from(request.repeat(Math.ceil(bytes / request.length)), 'latin1');
}

describe('a client that pipelines and never reads', () => {
  for (const kind of ['answered by the proxy (405)', 'forwarded to the origin'] as const) {
    test(`requests ${kind}: reading stops, worker memory stays bounded`, async () => {
      const request =
        kind === 'forwarded to the origin'
          ? `GET ${base}/small HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`
          : `get ${base}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
      const pid = dataPathPid(proxy);
      const before = rssBytes(pid);
      const s = await rawConnect(proxy.port);
      s.pause(); // never read what the proxy answers
      const sent = await floodWithoutReading(s, repeated(request, 1 << 20), 80 << 20, 1500);
      const grown = rssBytes(pid) - before;
      // Bound per connection: 256 KiB of output + one response, 256 KiB + one read of input;
      // the rest of what the client could send sits in the kernel's socket buffers.
      assert.ok(sent < 32 << 20, `the proxy stopped reading (the client sent ${sent >> 20} MiB)`);
      assert.ok(grown < 48 << 20, `worker RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
      // Nothing was lost meanwhile: the answers start in order once the client reads.
      s.resume();
      const text = await readUntil(s, (t) => t.length > 4096, 5000);
      assert.match(text, kind === 'forwarded to the origin' ? /^HTTP\/1\.1 200 / : /^HTTP\/1\.1 405 /);
      s.destroy();
    });
  }
});

describe('uploads', () => {
  test('an upload slower than http.upstream-response-timeout completes (progress keeps it alive)', async () => {
    const s = await rawConnect(proxy.port);
    const total = 40 * 1000;
    s.write(`POST ${base}/upload HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nContent-Length: ${total}\r\n\r\n`);
    const reply = readUntil(s, (t) => /\r\n\r\n.+/s.test(t), 15_000);
    // 4 s of body at 10 KB/s against a 2 s response timeout.
    for (let i = 0; i < 40; i++) {
      s.write(Buffer.alloc(1000, 'u'));
      await new Promise((r) => setTimeout(r, 100));
    }
    const text = await reply;
    assert.match(text, /^HTTP\/1\.1 200 /, text.slice(0, 200));
    assert.match(text, new RegExp(`got ${total}`));
    s.destroy();
  });

  test('a client FIN before the body is complete aborts the exchange at once (400, upstream closed)', async () => {
    const fresh = await startOrigin();
    try {
      const originClosed = new Promise<void>((resolve) => fresh.server.once('connection', (c) => c.once('close', () => resolve())));
      const s = await rawConnect(proxy.port);
      s.write(`POST http://127.0.0.1:${fresh.port}/upload HTTP/1.1\r\nHost: 127.0.0.1:${fresh.port}\r\nContent-Length: 100000\r\n\r\n`);
      s.write(Buffer.alloc(1000, 'u'));
      await new Promise((r) => setTimeout(r, 200));
      const reply = readUntil(s, () => false, 1500); // well below the 2 s response timeout
      s.end();
      const text = await reply;
      assert.match(text, /^HTTP\/1\.1 400 /, `got: ${text.slice(0, 120) || 'nothing'}`);
      assert.ok(s.readableEnded || s.destroyed, 'the client connection was closed');
      await originClosed;
      assert.equal(fresh.requests.length, 0, 'the origin never saw a complete request');
      s.destroy();
    } finally {
      await fresh.close();
    }
  });
});

describe('half-closing pipelining clients', () => {
  test('1,000 pipelined requests then SHUT_WR: every one is answered, in order', async () => {
    const s = await rawConnect(proxy.port);
    let all = '';
    for (let i = 0; i < 1000; i++) all += `GET ${base}/n${i} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`;
    const reply = readUntil(s, () => false, 20_000);
    s.end(all);
    const text = await reply;
    const urls = [...text.matchAll(/"url":"\/n(\d+)"/g)].map((m) => Number(m[1]));
    assert.equal(urls.length, 1000, `answers: ${urls.length}`);
    assert.deepEqual(urls, [...Array(1000).keys()]);
    assert.ok(s.readableEnded, 'closed after the last answer');
  });
});

describe('a client that asks to close', () => {
  /** Writes a byte every 20 ms, at most 50 times, until the socket fails; its error code, or null. */
  async function writeUntilRefused(s: Socket): Promise<string | null> {
    const failed = new Promise<string>((resolve) => s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error')));
    for (let i = 0; i < 50; i++) {
      const code = await Promise.race([failed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 20))]);
      if (code !== null) return code;
      if (!s.destroyed) s.write('x');
    }
    return null;
  }

  test('gets the whole answer and the end, and the proxy closes without waiting for the client to close first', async () => {
    // Half-open allowed: the client's side stays open after the proxy's end, as a slow client's would.
    const s = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const ended = new Promise<void>((resolve) => s.once('end', resolve));
    s.write(`GET ${base}/last HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`);
    await ended;
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /"url":"\/last"/);
    assert.ok(s.readableEnded, 'the answer ends with the connection');
    // The client keeps its side open: its next bytes find the proxy's socket closed (a reset).
    // Before, the proxy kept reading until the client closed, and they were taken silently.
    assert.ok(['ECONNRESET', 'EPIPE'].includes((await writeUntilRefused(s)) ?? ''), 'the proxy closed its socket');
    s.destroy();
  });

  test('a keep-alive client that half-closes after its request still gets its answer (nothing else changes)', async () => {
    const s = await rawConnect(proxy.port);
    const reply = readUntil(s, () => false);
    s.end(`GET ${base}/open HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    const text = await reply;
    assert.match(text, /"url":"\/open"/);
    assert.ok(s.readableEnded);
  });
});

/** An origin that answers with the first part of a body, then resets the connection. */
async function resettingOrigin(head: string, body: Buffer): Promise<Server> {
  const server = createNetServer((c) => {
    c.once('data', () => {
      c.write(head);
      c.write(body, () => setTimeout(() => c.resetAndDestroy(), 50));
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('a response cut short by the upstream', () => {
  const cases = [
    ['close-delimited', 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n', Buffer.alloc(100_000, 'b')],
    ['Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n', Buffer.alloc(100_000, 'b')],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', Buffer.from(`186a0\r\n${'b'.repeat(100_000)}\r\n`)],
  ] as const;
  for (const [framing, head, body] of cases) {
    test(`${framing}: an upstream reset mid-body reaches the client as a broken connection`, async () => {
      const server = await resettingOrigin(head, body);
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cut`;
        const direct = await curl(['-o', '/dev/null', url]);
        assert.notEqual(direct.code, 0, 'curl sees the cut directly');
        for (const version of ['--http1.1', '--http1.0']) {
          const through = await curl(['-o', '/dev/null', version, '-x', proxy.url, url]);
          assert.notEqual(through.code, 0, `through exaproxy (${version}) curl must see the cut too: ${through.stderr}`);
        }
      } finally {
        server.close();
      }
    });
  }
});
