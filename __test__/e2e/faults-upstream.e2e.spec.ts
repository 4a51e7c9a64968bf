/**
 * Upstream faults (issue 15), each through the real proxy with a scripted origin on a raw
 * socket. The client always gets one of three things, and each test says which: a complete
 * correct response; a 502/504 page before any byte of the response; or a closed connection
 * after some bytes (never a short body presented as complete). Already covered elsewhere:
 * resets mid-body in data-path-flow, an upstream that never answers and the retry rule in
 * proxy-options.
 * The bounds on waits are generous (a loaded machine); they only tell a hang from a timeout.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer as createHttpsServer } from 'node:https';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { freePort, rawConnect, readUntil } from '../helpers/net';
import { makePki } from '../helpers/tls';

let proxy: RunningExaproxy;
const servers: Server[] = [];

before(async () => {
  proxy = await startExaproxy(
    testArgs(['--security.local=127.0.0.1:*', '--http.upstream-response-timeout=2', '--http.upstream-connect-timeout=2']),
  );
});
after(async () => {
  await proxy?.stop();
  for (const s of servers) s.close();
});

/** An origin on a raw socket: `onRequest` gets the socket and the number of the request on it. */
async function scripted(onRequest: (c: Socket, n: number) => void): Promise<number> {
  const server = createServer((c) => {
    let n = 0;
    let pending = '';
    c.on('error', () => undefined);
    c.on('data', (d) => {
      pending += d.toString('latin1');
      let end;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        pending = pending.slice(end + 4);
        onRequest(c, ++n);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function get(port: number, path: string, extra = ''): string {
  return `GET http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`;
}

/** What the client saw: everything it read, and whether the proxy closed the connection. */
async function fetchRaw(request: string, done: (t: string) => boolean = () => false, waitMs = 15_000): Promise<{ text: string; closed: boolean }> {
  const s = await rawConnect(proxy.port);
  const reply = readUntil(s, done, waitMs);
  s.write(request);
  const text = await reply;
  const closed = s.readableEnded || s.destroyed;
  s.destroy();
  return { text, closed };
}

/** `promise`, or a failure naming `what` after `ms` (a generous bound: a hang, not a speed). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A page the proxy wrote itself: the status, and a body exactly as long as announced. */
function assertPage(text: string, status: number): void {
  assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), text.slice(0, 200));
  const end = text.indexOf('\r\n\r\n');
  const length = Number(/\r\nContent-Length: (\d+)/i.exec(text.slice(0, end))?.[1]);
  assert.equal(text.length - end - 4, length, 'the whole page, nothing else');
}

describe('before the response head', () => {
  test('connection refused: a 502 page', async () => {
    const port = await freePort();
    const { text } = await fetchRaw(get(port, '/refused', 'Connection: close\r\n'));
    assertPage(text, 502);
  });

  test('a reset before the head: a 502 page', async () => {
    const port = await scripted((c) => c.resetAndDestroy());
    const { text } = await fetchRaw(get(port, '/reset', 'Connection: close\r\n'));
    assertPage(text, 502);
  });

  test('a head that never completes: a 504 page at the response timeout, nothing of the partial head', async () => {
    const port = await scripted((c) => c.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Le'));
    const { text } = await fetchRaw(get(port, '/half-head', 'Connection: close\r\n'));
    assertPage(text, 504);
    assert.doesNotMatch(text, /text\/plain/);
  });
});

describe('TLS upstream', () => {
  test('a certificate the proxy does not trust: a 502 page, nothing of the response', async () => {
    const pki = makePki(); // its CA is not given to the proxy
    const server = createHttpsServer({ key: pki.key, cert: pki.cert }, (_req, res) => res.end('secret answer'));
    servers.push(server as unknown as Server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const { text } = await fetchRaw(`GET https://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    assertPage(text, 502);
    assert.doesNotMatch(text, /secret answer/);
  });
});

describe('during the body', () => {
  test('a body that stalls: the head and the bytes sent, then a closed connection at the response timeout', async () => {
    const port = await scripted((c) => c.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${'s'.repeat(1000)}`));
    const { text, closed } = await fetchRaw(get(port, '/stall'));
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.equal(text.length - text.indexOf('\r\n\r\n') - 4, 1000, 'the bytes the origin sent, no more');
    assert.ok(closed, 'the proxy closed the connection (the client knows the body is short)');
  });

  for (const when of ['in the same write', 'later, while the connection is idle'] as const) {
    test(`a response bigger than its Content-Length (the extra ${when}): the extra bytes never reach the next response`, async () => {
      const junk = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled';
      let connections = 0;
      const port = await scripted((c, n) => {
        if (n === 1) connections++;
        const body = `answer ${connections}.${n}`;
        const response = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
        if (when === 'in the same write') c.write(response + junk);
        else {
          c.write(response);
          setTimeout(() => c.write(junk), 100);
        }
      });
      const s = await rawConnect(proxy.port);
      const first = readUntil(s, (t) => /answer \d\.\d$/.test(t));
      s.write(get(port, '/one'));
      assert.match(await first, /\r\n\r\nanswer 1\.1$/);
      await new Promise((r) => setTimeout(r, 300)); // the late junk has come by now
      const second = readUntil(s, (t) => /answer \d\.\d$|smuggled/.test(t));
      s.write(get(port, '/two'));
      const text = await second;
      s.destroy();
      assert.doesNotMatch(text, /smuggled/);
      assert.match(text, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nanswer 2\.1$/, 'a fresh upstream connection answered the second request');
    });
  }

  test('a storm of 5,000 interim (1xx) responses, then the final one: the client gets the final response whole', async () => {
    const storm = 'HTTP/1.1 102 Processing\r\n\r\n'.repeat(5000);
    const port = await scripted((c) => c.write(`${storm}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal`));
    const { text } = await fetchRaw(get(port, '/storm', 'Connection: close\r\n'), (t) => t.endsWith('final'));
    const interim = text.match(/HTTP\/1\.1 102 /g)?.length ?? 0;
    assert.ok(interim <= 5000, `${interim} interim heads relayed`);
    const final = text.slice(text.lastIndexOf('HTTP/1.1 '));
    assert.match(final, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nfinal$/);
  });

  test('interim responses that never end: the client is not held past the response timeout', async () => {
    const port = await scripted((c) => {
      const timer = setInterval(() => c.write('HTTP/1.1 102 Processing\r\n\r\n'), 100);
      c.on('close', () => clearInterval(timer));
    });
    const { text, closed } = await fetchRaw(get(port, '/endless'), () => false, 20_000);
    assert.ok(closed, `the proxy ended it (got ${text.length} bytes)`);
    const final = text.slice(text.lastIndexOf('HTTP/1.1 '));
    assert.ok(final.startsWith('HTTP/1.1 102 ') || final.startsWith('HTTP/1.1 504 '), `a 504 or a closed connection, not a 200: ${final.slice(0, 60)}`);
  });
});

describe('the client', () => {
  test('aborts mid-download: the upstream connection is closed too, and the proxy serves the next client', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    const block = Buffer.alloc(64 * 1024, 'd');
    const port = await scripted((c) => {
      c.on('close', upstreamClosed);
      c.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n');
      const pump = (): void => {
        while (!c.destroyed && c.write(block));
      };
      c.on('drain', pump);
      pump();
    });
    const s = await rawConnect(proxy.port);
    const some = readUntil(s, (t) => t.length > 1 << 20);
    s.write(get(port, '/big'));
    assert.ok((await some).length > 1 << 20, 'the download started');
    s.destroy();
    await within(closed, 15_000, 'the upstream connection closed after the client left');
    const fine = await scripted((c) => c.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const { text } = await fetchRaw(get(fine, '/after', 'Connection: close\r\n'));
    assert.match(text, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nok$/);
  });
});
