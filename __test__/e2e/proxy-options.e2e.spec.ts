/**
 * Options of the data path, each against the real command: limits, timeouts, retries,
 * PROXY protocol, trusted forward headers, methods.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, exchange, parseDump, rawConnect, readUntil, startOrigin, type Origin } from '../helpers/net';

let origin: Origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

/** A proxy allowed to reach the test origin, with extra flags. */
function proxyWith(...flags: string[]): Promise<RunningExaproxy> {
  return startExaproxy(testArgs([`--security.local=127.0.0.1:${origin.port}`, ...flags]));
}

function get(path: string, extra = ''): string {
  return `GET http://127.0.0.1:${origin.port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n${extra}\r\n`;
}

async function withProxy(flags: string[], body: (p: RunningExaproxy) => Promise<void>): Promise<void> {
  const p = await proxyWith(...flags);
  try {
    await body(p);
  } finally {
    await p.stop();
  }
}

describe('limits', () => {
  test('a head over http.header-size gets 431, a target over http.target-size gets 414', () =>
    withProxy(['--http.header-size=2048', '--http.target-size=100'], async (p) => {
      const big = await exchange(p.port, get('/h', `X-Big: ${'a'.repeat(3000)}\r\n`));
      assert.match(big, /^HTTP\/1\.1 431 /);
      const long = await exchange(p.port, get(`/${'t'.repeat(200)}`));
      assert.match(long, /^HTTP\/1\.1 414 /);
      const many = await exchange(p.port, get('/', 'X-A: 1\r\n'.repeat(150)));
      assert.match(many, /^HTTP\/1\.1 431 /);
    }));

  test('at http.connections, a new client waits until another leaves, then is served', () =>
    withProxy(['--http.connections=1'], async (p) => {
      const first = await rawConnect(p.port);
      const firstReply = readUntil(first, (t) => t.includes('"url":"/first"'));
      first.write(get('/first'));
      await firstReply;
      const second = await rawConnect(p.port);
      const secondReply = readUntil(second, (t) => t.includes('"url":"/second"'), 8000);
      second.write(get('/second'));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(origin.requests.at(-1)!.url, '/first', 'the second client is not served while the first is connected');
      first.destroy();
      assert.match(await secondReply, /"url":"\/second"/);
      second.destroy();
    }));
});

describe('timeouts', () => {
  test('an upstream that does not answer gets 504 after http.upstream-response-timeout', async () => {
    const silent = createServer((s) => s.on('data', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const p = await startExaproxy(testArgs(['--http.upstream-response-timeout=1', `--security.local=127.0.0.1:${port}`]));
    try {
      const started = Date.now();
      const text = await exchange(p.port, `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.1 504 /);
      assert.ok(Date.now() - started < 5000);
    } finally {
      await p.stop();
      silent.close();
    }
  });

  test('an idle keep-alive client is closed after http.keepalive-timeout', () =>
    withProxy(['--http.keepalive-timeout=1'], async (p) => {
      const s = await rawConnect(p.port);
      const all = readUntil(s, () => false, 6000);
      s.write(get('/idle'));
      const text = await all; // resolves when the proxy closes the connection
      assert.match(text, /"url":"\/idle"/);
      assert.ok(s.readableEnded || s.destroyed);
    }));
});

describe('source address', () => {
  test('tcp4.bind sets the source address of connections to web servers', async () => {
    const seen: string[] = [];
    const server = createServer((s) => {
      seen.push(s.remoteAddress ?? '');
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const p = await startExaproxy(testArgs(['--tcp4.bind=127.0.0.2', `--security.local=127.0.0.1:${port}`]));
    try {
      const text = await exchange(p.port, `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.deepEqual(seen, ['127.0.0.2']);
    } finally {
      await p.stop();
      server.close();
    }
  });
});

describe('upstream reuse', () => {
  /** An origin that answers one request per connection, then silently drops the connection on the next one. */
  async function forgetfulOrigin(): Promise<{ port: number; connections: () => number; close: () => void }> {
    let connections = 0;
    const server = createServer((s: Socket) => {
      connections++;
      let served = 0;
      s.on('data', (d: Buffer) => {
        if (!d.includes('\r\n\r\n')) return;
        if (served++ === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else s.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as AddressInfo).port, connections: () => connections, close: () => server.close() };
  }

  test('an idempotent request that fails on a reused connection is retried once on a new one', async () => {
    const o = await forgetfulOrigin();
    const p = await startExaproxy(testArgs([`--security.local=127.0.0.1:${o.port}`]));
    try {
      const url = `http://127.0.0.1:${o.port}/`;
      const r = await curl(['-i', '-x', p.url, url, url]);
      assert.equal((r.stdout.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2, r.stdout);
      assert.equal(o.connections(), 2);
    } finally {
      await p.stop();
      o.close();
    }
  });

  test('a POST that fails on a reused connection is not retried: 502', async () => {
    const o = await forgetfulOrigin();
    const p = await startExaproxy(testArgs([`--security.local=127.0.0.1:${o.port}`]));
    try {
      const url = `http://127.0.0.1:${o.port}/`;
      const r = await curl(['-i', '-x', p.url, url, '-d', 'x=1', url]);
      assert.match(r.stdout, /HTTP\/1\.1 200 OK[\s\S]*HTTP\/1\.1 502 /);
      assert.equal(o.connections(), 1);
    } finally {
      await p.stop();
      o.close();
    }
  });
});

describe('client identity', () => {
  test('http.proxied: the PROXY v1 source becomes the client address; no header closes the connection', () =>
    withProxy(['--http.proxied=true'], async (p) => {
      const text = await exchange(p.port, `PROXY TCP4 10.20.30.40 127.0.0.1 5555 3128\r\n${get('/proxied', 'Connection: close\r\n')}`);
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.equal(origin.requests.at(-1)!.headers['x-forwarded-for'], '10.20.30.40');
      const plain = await exchange(p.port, get('/plain'));
      assert.equal(plain, '', 'a connection without a PROXY header is closed without an answer');
      const outsider = await exchange(p.port, `PROXY TCP4 192.0.2.7 127.0.0.1 5555 3128\r\n${get('/outsider', 'Connection: close\r\n')}`);
      assert.match(outsider, /^HTTP\/1\.1 403 /, 'the address from the PROXY header is what security.clients checks');
    }));

  test('http.proxied: PROXY headers are refused from peers outside http.forward-trust', () =>
    withProxy(['--http.proxied=true', '--http.forward-trust=10.0.0.0/8'], async (p) => {
      const before = origin.requests.length;
      const text = await exchange(p.port, `PROXY TCP4 10.1.1.1 127.0.0.1 5555 3128\r\n${get('/spoof', 'Connection: close\r\n')}`);
      assert.equal(text, '');
      assert.equal(origin.requests.length, before);
    }));

  test('http.proxied with PROXY v2', () =>
    withProxy(['--http.proxied=true'], async (p) => {
      const header = Buffer.concat([
        Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 12]),
        Buffer.from([10, 51, 100, 9, 127, 0, 0, 1, 0x15, 0xb3, 0x0c, 0x38]),
      ]);
      const text = await exchange(p.port, Buffer.concat([header, Buffer.from(get('/v2', 'Connection: close\r\n'))]));
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.equal(origin.requests.at(-1)!.headers['x-forwarded-for'], '10.51.100.9');
    }));

  test('http.forward is believed only from http.forward-trust, and http.mask removes it', async () => {
    await withProxy(['--http.forward=x-real-client', '--http.mask=true'], async (p) => {
      await exchange(p.port, get('/fwd', 'X-Real-Client: 203.0.113.5\r\nConnection: close\r\n'));
      const seen = origin.requests.at(-1)!;
      assert.equal(seen.headers['x-forwarded-for'], '203.0.113.5');
      assert.equal(seen.headers['x-real-client'], undefined);
    });
    await withProxy(['--http.forward=x-real-client', '--http.forward-trust=10.0.0.0/8'], async (p) => {
      await exchange(p.port, get('/untrusted', 'X-Real-Client: 203.0.113.5\r\nConnection: close\r\n'));
      assert.equal(origin.requests.at(-1)!.headers['x-forwarded-for'], '127.0.0.1');
    });
  });

  test('http.transparent adds neither Via nor X-Forwarded-For', () =>
    withProxy(['--http.transparent=true'], async (p) => {
      await exchange(p.port, get('/quiet', 'Connection: close\r\n'));
      const seen = origin.requests.at(-1)!;
      assert.equal(seen.headers['via'], undefined);
      assert.equal(seen.headers['x-forwarded-for'], undefined);
    }));
});

describe('methods and local answers', () => {
  let p: RunningExaproxy;
  before(async () => {
    p = await proxyWith('--http.extensions=PURGE', '--http.expect=true');
  });
  after(async () => {
    await p?.stop();
  });

  test('WebDAV methods and http.extensions are forwarded', async () => {
    for (const method of ['PROPFIND', 'MKCOL', 'PURGE']) {
      const r = await curl(['-i', '-x', p.url, '-X', method, `http://127.0.0.1:${origin.port}/dav`]);
      assert.equal(parseDump(r.stdout).status, 200, method);
      assert.equal(origin.requests.at(-1)!.method, method);
    }
  });

  test('http.expect answers 417 to Expect', async () => {
    const text = await exchange(p.port, get('/e', 'Expect: 100-continue\r\nContent-Length: 3\r\n') + 'abc');
    assert.match(text, /^HTTP\/1\.1 417 /);
  });

  test('OPTIONS with Max-Forwards: 0 is answered by the proxy; 1 is forwarded as 0', async () => {
    const before = origin.requests.length;
    const local = await exchange(p.port, `OPTIONS http://127.0.0.1:${origin.port}/ HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\nConnection: close\r\n\r\n`);
    assert.match(local, /^HTTP\/1\.1 200 /);
    assert.match(local, /\r\nAllow: /);
    assert.equal(origin.requests.length, before);
    await exchange(p.port, `OPTIONS http://127.0.0.1:${origin.port}/ HTTP/1.1\r\nHost: x\r\nMax-Forwards: 1\r\nConnection: close\r\n\r\n`);
    assert.equal(origin.requests.at(-1)!.headers['max-forwards'], '0');
  });

  test('local answers use the client HTTP version', async () => {
    const text = await exchange(p.port, 'BREW http://127.0.0.1/ HTTP/1.0\r\n\r\n');
    assert.match(text, /^HTTP\/1\.0 405 /);
    assert.match(text, /\r\nContent-Length: \d+\r\n/);
    assert.match(text, /\r\nCache-Control: no-store\r\n/);
    assert.match(text, /\r\nDate: .+ GMT\r\n/);
  });
});
