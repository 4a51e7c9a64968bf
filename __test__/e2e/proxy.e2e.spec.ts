/**
 * The data path end to end: the real `exaproxy` command, real curl, real origin servers
 * on loopback.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, exchange, parseDump, rawConnect, readUntil, startOrigin, type Origin } from '../helpers/net';
import { makePki, type TestPki } from '../helpers/tls';
import { echoWebSockets, frame, unframe } from '../helpers/websocket';

let origin: Origin;
let proxy: RunningExaproxy;
let base: string;

before(async () => {
  origin = await startOrigin((req, res, body) => {
    const url = new URL(req.url!, 'http://x');
    switch (url.pathname) {
      case '/204':
        res.statusCode = 204;
        res.end();
        return true;
      case '/304':
        res.statusCode = 304;
        res.setHeader('etag', '"v1"');
        res.end();
        return true;
      case '/chunked':
        res.write('first,');
        res.write('second,');
        res.end('third');
        return true;
      case '/sha256':
        res.end(createHash('sha256').update(body).digest('hex'));
        return true;
      case '/big': {
        // Deterministic bytes, streamed with backpressure.
        let left = Number(url.searchParams.get('bytes'));
        res.setHeader('content-length', left);
        const block = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789');
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, block.length);
            left -= n;
            if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return true;
      }
      default:
        return false;
    }
  });
  echoWebSockets(origin.server);
  proxy = await startExaproxy(testArgs([`--security.local=127.0.0.1:${origin.port}`]));
  base = `http://127.0.0.1:${origin.port}`;
});

after(async () => {
  await proxy?.stop();
  await origin?.close();
});

function through(...args: string[]) {
  return curl(['-i', '-x', proxy.url, ...args]);
}

describe('methods and bodies', () => {
  test('GET is forwarded with Via and X-Forwarded-For, hop-by-hop headers removed', async () => {
    const r = await through('-H', 'Connection: keep-alive, X-Secret', '-H', 'X-Secret: s', '-H', 'Keep-Alive: 5', `${base}/get?x=1`);
    assert.equal(r.code, 0, r.stderr);
    const { status, body } = parseDump(r.stdout);
    assert.equal(status, 200);
    const seen = JSON.parse(body) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/get?x=1');
    assert.match(seen.headers['via']!, /^1\.1 ExaProxy$/);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['host'], `127.0.0.1:${origin.port}`);
    assert.equal(seen.headers['x-secret'], undefined, 'a header named by Connection is hop-by-hop');
    assert.equal(seen.headers['keep-alive'], undefined);
    assert.equal(seen.headers['proxy-connection'], undefined);
  });

  test('HEAD gets the headers and no body', async () => {
    const r = await through('-I', `${base}/head`);
    const { status, headers, body } = parseDump(r.stdout);
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'application/json');
    assert.equal(body, '');
  });

  test('POST with a body', async () => {
    const r = await through('--data-binary', 'name=exaproxy&x=1', `${base}/post`);
    const seen = JSON.parse(parseDump(r.stdout).body) as { method: string; bodyLength: number };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.bodyLength, 17);
  });

  test('chunked upload arrives whole', async () => {
    const payload = Buffer.alloc(200_000, 'chunky');
    const r = await curl(['-i', '-x', proxy.url, '-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', `${base}/sha256`], {
      input: payload,
    });
    assert.equal(parseDump(r.stdout).body, createHash('sha256').update(payload).digest('hex'));
  });

  test('chunked response is relayed with its framing', async () => {
    const r = await through(`${base}/chunked`);
    const { headers, body } = parseDump(r.stdout);
    assert.equal(headers.get('transfer-encoding'), 'chunked');
    assert.equal(body, 'first,second,third');
  });

  test('204 and 304 have no body and keep the connection usable', async () => {
    const r = await through(`${base}/204`, `${base}/304`, `${base}/after`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 204 /);
    assert.match(r.stdout, /\r\nHTTP\/1\.1 304 /);
    assert.match(r.stdout, /"url":"\/after"/);
  });

  test('Expect: 100-continue works end to end', async () => {
    const payload = Buffer.alloc(5000, 'e');
    const r = await curl(['-i', '-x', proxy.url, '-H', 'Expect: 100-continue', '--expect100-timeout', '15', '--data-binary', '@-', `${base}/sha256`], {
      input: payload,
    });
    assert.match(r.stdout, /^HTTP\/1\.1 100 Continue\r\n/);
    assert.equal(parseDump(r.stdout).body, createHash('sha256').update(payload).digest('hex'));
  });
});

describe('connections', () => {
  test('keep-alive: two requests on one client connection use one upstream connection', async () => {
    const before = origin.connections();
    const r = await through(`${base}/ka1`, `${base}/ka2`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stdout.match(/HTTP\/1\.1 200 /g) ?? []).length, 2);
    assert.match(r.stderr, /^$/);
    const [a, b] = origin.requests.slice(-2);
    assert.deepEqual([a!.url, b!.url], ['/ka1', '/ka2']);
    assert.equal(a!.socketId, b!.socketId, 'both requests reached the origin on one connection');
    assert.ok(origin.connections() - before <= 1, 'at most one new upstream connection (an idle pooled one may be reused)');
  });

  test('three pipelined requests are answered in order', async () => {
    const req = (n: number) => `GET ${base}/p${n} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`;
    const s = await rawConnect(proxy.port);
    const reply = readUntil(s, (t) => (t.match(/"url":"\/p\d"/g) ?? []).length === 3);
    s.write(req(1) + req(2) + req(3));
    const text = await reply;
    s.destroy();
    assert.deepEqual(text.match(/"url":"\/p\d"/g), ['"url":"/p1"', '"url":"/p2"', '"url":"/p3"']);
  });

  test('HTTP/1.0 client without keep-alive gets the response then a close', async () => {
    const text = await exchange(proxy.port, `GET ${base}/ten HTTP/1.0\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /"url":"\/ten"/);
  });
});

describe('policy', () => {
  test('a loopback destination not listed in security.local is refused', async () => {
    const other = await startOrigin();
    try {
      const r = await through(`http://127.0.0.1:${other.port}/`);
      assert.equal(parseDump(r.stdout).status, 403);
      const mapped = await exchange(proxy.port, `GET http://[::ffff:127.0.0.1]:${other.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(mapped, /^HTTP\/1\.1 403 /);
      assert.equal(other.requests.length, 0);
    } finally {
      await other.close();
    }
  });

  test('dns.fqdn: a name without a dot gets the dns page with 200, without a lookup', async () => {
    const r = await through('http://intranet/search?q=x');
    const { status, body } = parseDump(r.stdout);
    assert.equal(status, 200);
    assert.match(body, /intranet/);
    assert.match(body, /not found/i);
  });

  test('a name that does not resolve gets 503 with the dns page', async () => {
    const r = await through('http://does-not-exist.invalid/');
    const { status, body } = parseDump(r.stdout);
    assert.equal(status, 503);
    assert.match(body, /does-not-exist\.invalid/);
  });

  test('an unknown method gets 405', async () => {
    const r = await through('-X', 'BREW', `${base}/`);
    assert.equal(parseDump(r.stdout).status, 405);
  });

  test('CONNECT to a port not in security.connect gets 403', async () => {
    const text = await exchange(proxy.port, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 403 /);
  });

  test('request-smuggling probes are answered 400 and never reach the origin', async () => {
    const host = `127.0.0.1:${origin.port}`;
    const probes = [
      `POST ${base}/ HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `POST ${base}/ HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
      `POST ${base}/ HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5, 5\r\n\r\nhello`,
      `POST ${base}/ HTTP/1.1\r\nHost: ${host}\r\nContent-Length: +5\r\n\r\nhello`,
      `POST ${base}/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
      `POST ${base}/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: gzip\r\n\r\nabc`,
      `POST ${base}/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
      `POST ${base}/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
      `GET ${base}/ HTTP/1.1\r\nHost: ${host}\r\nX-A: a\r\n b\r\n\r\n`,
      `GET ${base}/ HTTP/1.1\nHost: ${host}\n\n`,
      `GET ${base}/ HTTP/1.1\r\nHost: ${host}\r\nX-A: a\rb\r\n\r\n`,
      `GET ${base}/ HTTP/1.1\r\nHost: ${host}\r\nX-A: a\x00b\r\n\r\n`,
      `GET ${base}/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`,
      `GET / HTTP/1.1\r\n\r\n`,
    ];
    const before = origin.requests.length;
    for (const probe of probes) {
      const text = await exchange(proxy.port, probe);
      assert.match(text, /^HTTP\/1\.1 400 /, JSON.stringify(probe));
    }
    assert.equal(origin.requests.length, before, 'no probe reached the origin');
  });

  test('a chunked body with a bad chunk size is refused before the bad bytes are forwarded', async () => {
    const text = await exchange(
      proxy.port,
      `POST ${base}/sha256 HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 400 /);
  });
});

describe('client access control', () => {
  test('a client outside security.clients gets 403', async () => {
    const closed = await startExaproxy(testArgs(['--security.clients=10.0.0.0/8', `--security.local=127.0.0.1:${origin.port}`]));
    try {
      const r = await curl(['-i', '-x', closed.url, `${base}/`]);
      assert.equal(parseDump(r.stdout).status, 403);
    } finally {
      await closed.stop();
    }
  });
});

describe('timeouts', () => {
  test('a slowloris client is closed at the header timeout while others are served', async () => {
    const p = await startExaproxy(testArgs(['--http.header-timeout=1', `--security.local=127.0.0.1:${origin.port}`]));
    try {
      const slow = await rawConnect(p.port);
      const reply = readUntil(slow, () => false, 6000);
      const line = `GET ${base}/slow HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nX-Drip: `;
      let i = 0;
      const drip = setInterval(() => {
        if (!slow.destroyed) slow.write(line[i++ % line.length]!);
      }, 100);
      const r = await curl(['-i', '-x', p.url, `${base}/fast`]);
      assert.equal(parseDump(r.stdout).status, 200, 'other clients are served meanwhile');
      const text = await reply;
      clearInterval(drip);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.ok(slow.destroyed || slow.readableEnded, 'the slow client was closed');
      slow.destroy();
    } finally {
      await p.stop();
    }
  });
});

describe('tunnels and TLS', () => {
  let pki: TestPki;
  let tlsPort = 0;
  let tlsServer: ReturnType<typeof createHttpsServer>;
  let tproxy: RunningExaproxy;

  before(async () => {
    pki = makePki();
    tlsServer = createHttpsServer({ key: pki.key, cert: pki.cert }, (req, res) => res.end(`secure ${req.method} ${req.url}`));
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsPort = (tlsServer.address() as AddressInfo).port;
    tproxy = await startExaproxy(
      testArgs([`--security.connect=${tlsPort}`, `--security.local=127.0.0.1:${tlsPort} 127.0.0.1:${origin.port}`]),
      { NODE_EXTRA_CA_CERTS: pki.caFile },
    );
  });
  after(async () => {
    await tproxy?.stop();
    tlsServer?.close();
  });

  test('CONNECT to a local TLS server with curl and a test CA', async () => {
    const r = await curl(['-i', '-x', tproxy.url, '--cacert', pki.caFile, `https://127.0.0.1:${tlsPort}/tunnelled`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /HTTP\/1\.1 200 Connection established/i);
    assert.match(r.stdout, /secure GET \/tunnelled$/);
  });

  test('bytes sent right after the CONNECT head are not lost', async () => {
    // The CONNECT head and the first tunnelled request in one packet, to a plain origin.
    const plainPort = origin.port;
    const p = await startExaproxy(testArgs([`--security.connect=${plainPort}`, `--security.local=127.0.0.1:${plainPort}`]));
    try {
      const text = await exchange(
        p.port,
        `CONNECT 127.0.0.1:${plainPort} HTTP/1.1\r\nHost: 127.0.0.1:${plainPort}\r\n\r\nGET /inside HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(text, /^HTTP\/1\.1 200 Connection established\r\n\r\nHTTP\/1\.1 200 OK/);
      assert.match(text, /"url":"\/inside"/);
    } finally {
      await p.stop();
    }
  });

  test('https:// absolute-form is fetched over TLS with certificate verification', async () => {
    const text = await exchange(
      tproxy.port,
      `GET https://127.0.0.1:${tlsPort}/abs HTTP/1.1\r\nHost: 127.0.0.1:${tlsPort}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /secure GET \/abs$/);
  });

  test('https:// absolute-form to a server whose certificate is not trusted fails with 502', async () => {
    const untrusting = await startExaproxy(testArgs([`--security.local=127.0.0.1:${tlsPort}`]));
    try {
      const text = await exchange(
        untrusting.port,
        `GET https://127.0.0.1:${tlsPort}/abs HTTP/1.1\r\nHost: 127.0.0.1:${tlsPort}\r\nConnection: close\r\n\r\n`,
      );
      assert.match(text, /^HTTP\/1\.1 502 /);
      assert.doesNotMatch(text, /secure GET/);
    } finally {
      await untrusting.stop();
    }
  });

  test('a WebSocket echo works through the proxy', async () => {
    const s = await rawConnect(proxy.port);
    const handshake = readUntil(s, (t) => t.includes('\r\n\r\n'));
    s.write(
      `GET ${base}/ws HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    const head = await handshake;
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
    const echoed = new Promise<string>((resolve) => {
      let pending = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        pending = Buffer.concat([pending, d]);
        const f = unframe(pending);
        if (f) resolve(f.payload.toString());
      });
    });
    s.write(frame(Buffer.from('hello through exaproxy'), true));
    assert.equal(await echoed, 'hello through exaproxy');
    s.destroy();
  });
});

describe('large bodies', () => {
  const SIZE = 100 * 1024 * 1024;

  /** Peak RSS of the proxy's busiest process (the primary or a worker), in kB. */
  function rssKb(pid: number): number {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return Math.max(...[pid, ...children].map((p) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1])));
  }

  test('100 MB up: the origin receives every byte (sha256)', async () => {
    const payload = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    const r = await curl(['-x', proxy.url, '--data-binary', '@-', `${base}/sha256`], { input: payload });
    assert.equal(r.stdout, createHash('sha256').update(payload).digest('hex'));
  });

  test('100 MB down to a slow reader: every byte arrives, the proxy does not buffer it', async () => {
    const s = await rawConnect(proxy.port);
    const hash = createHash('sha256');
    let headDone = false;
    let body = 0;
    let head = '';
    const done = new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        if (!headDone) {
          head += d.toString('latin1');
          const i = head.indexOf('\r\n\r\n');
          if (i < 0) return;
          headDone = true;
          const rest = Buffer.from(head.slice(i + 4), 'latin1');
          hash.update(rest);
          body += rest.length;
        } else {
          hash.update(d);
          body += d.length;
        }
        // Read slowly for the first megabytes: the proxy must hold the origin back.
        if (body < 8 * 1024 * 1024) {
          s.pause();
          setTimeout(() => s.resume(), 5);
        }
        if (body >= SIZE) resolve();
      });
    });
    s.write(`GET ${base}/big?bytes=${SIZE} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`);
    await done;
    s.destroy();
    const expected = createHash('sha256');
    const block = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789');
    for (let left = SIZE; left > 0; left -= block.length) expected.update(left >= block.length ? block : block.subarray(0, left));
    assert.equal(body, SIZE);
    assert.equal(hash.digest('hex'), expected.digest('hex'));
    assert.ok(rssKb(proxy.child.pid!) < 150 * 1024, `peak RSS ${rssKb(proxy.child.pid!)} kB: the body was buffered`);
  });
});
