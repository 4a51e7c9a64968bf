/**
 * The data path's phases without sockets: real heads (as curl and Chromium send them)
 * parsed by the real addon, then read-head, admit, decide → route, and the body framer
 * over byte slices.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config';
import { Outcome } from '../src/log/outcome';
import { native } from '../src/native/addon';
import { BodyFramer, Framing } from '../src/proxy/body-framer';
import { Scratch, type ProxyContext } from '../src/proxy/context';
import { Proxy as ProxySlot, Slot } from '../src/native/abi.generated';
import { Exchange } from '../src/proxy/exchange';
import { InputBuffer } from '../src/proxy/input-buffer';
import { admit } from '../src/proxy/phases/admit';
import { parseRequestHead, replacedTarget, rewriteRequestHead } from '../src/proxy/phases/forward';
import { readProxyHeader } from '../src/proxy/phases/proxy-header';
import { routeOf } from '../src/proxy/phases/decide';
import { readRequestHead, type RequestHead } from '../src/proxy/phases/read-head';
import { settingsFromConfig } from '../src/proxy/settings';

const CURL_GET =
  'GET http://www.example.test/path?q=1 HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n';
const CURL_CONNECT = 'CONNECT www.example.test:443 HTTP/1.1\r\nHost: www.example.test:443\r\nUser-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n';
const CHROMIUM_GET =
  'GET http://www.example.test/ HTTP/1.1\r\nHost: www.example.test\r\nProxy-Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\n' +
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n' +
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\n' +
  'Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n';

function settings(argv: string[] = []) {
  return settingsFromConfig(loadConfig({ argv, env: {}, cwd: process.cwd() }).config, 'test');
}

function parsed(text: string): { head: RequestHead; ex: Exchange } {
  const table = new Scratch({ head: 65536, target: 8192, headers: 100 }).table;
  const input = Buffer.from(text, 'latin1');
  const n = native.parseRequest(input, 0, table);
  assert.equal(n, input.length, 'the addon parses the whole head');
  const ex = new Exchange(0);
  return { head: readRequestHead(input, table, ex, true), ex };
}

describe('read head', () => {
  test("curl's absolute-form GET: target, keep-alive, no body, the URL spelled out", () => {
    const { head, ex } = parsed(CURL_GET);
    assert.equal(head.host, 'www.example.test');
    assert.equal(head.port, 80);
    assert.equal(head.tls, false);
    assert.equal(ex.keepAlive, true);
    assert.equal(ex.body.pending, false);
    assert.equal(ex.url, 'http://www.example.test/path?q=1');
  });

  test("Chromium's GET and curl's CONNECT", () => {
    assert.equal(parsed(CHROMIUM_GET).head.host, 'www.example.test');
    const { head, ex } = parsed(CURL_CONNECT);
    assert.equal(head.port, 443);
    assert.equal(ex.url, 'www.example.test:443');
  });

  test('a POST with Content-Length announces its body; HTTP/1.0 without keep-alive closes', () => {
    const { ex } = parsed('POST http://a.test/ HTTP/1.0\r\nContent-Length: 5\r\n\r\n');
    assert.equal(ex.body.framing, Framing.Length);
    assert.equal(ex.hadBody, true);
    assert.equal(ex.keepAlive, false);
  });
});

describe('admit', () => {
  const s = settings();
  test('ordinary requests pass', () => {
    for (const text of [CURL_GET, CHROMIUM_GET, CURL_CONNECT]) {
      const { head, ex } = parsed(text);
      assert.equal(admit(head, ex, s, true), null, text.slice(0, 20));
    }
  });

  test('a client outside security.clients: 403, the connection closes', () => {
    const { head, ex } = parsed(CURL_GET);
    const a = admit(head, ex, s, false);
    assert.equal(a?.status, 403);
    assert.equal(a?.close, true);
    assert.equal(a?.outcome, Outcome.Deny);
  });

  test('an unknown method: 405, a denial', () => {
    const { head, ex } = parsed('get http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n');
    const a = admit(head, ex, s, true);
    assert.equal(a?.status, 405);
    assert.equal(a?.outcome, Outcome.Deny);
  });

  test('an expectation other than 100-continue: 417', () => {
    const { head, ex } = parsed('PUT http://a.test/ HTTP/1.1\r\nHost: a.test\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\n');
    assert.equal(admit(head, ex, s, true)?.status, 417);
  });

  test('OPTIONS with Max-Forwards: 0 is answered here with Allow; TRACE echoes the head', () => {
    const options = parsed('OPTIONS http://a.test/ HTTP/1.1\r\nHost: a.test\r\nMax-Forwards: 0\r\n\r\n');
    const a = admit(options.head, options.ex, s, true);
    assert.equal(a?.status, 200);
    assert.match(a?.headers ?? '', /^Allow: GET/);
    const traceText = 'TRACE http://a.test/ HTTP/1.1\r\nHost: a.test\r\nMax-Forwards: 0\r\n\r\n';
    const trace = parsed(traceText);
    assert.equal(admit(trace.head, trace.ex, s, true)?.body, traceText);
  });

  test('CONNECT to a port outside security.connect: 403, closed', () => {
    const { head, ex } = parsed('CONNECT a.test:25 HTTP/1.1\r\nHost: a.test:25\r\n\r\n');
    const a = admit(head, ex, s, true);
    assert.equal(a?.status, 403);
    assert.equal(a?.detail, 'CONNECT NOT ALLOWED');
  });

  test('an origin-form request without Host (meant for the proxy itself): 400', () => {
    const { head, ex } = parsed('GET / HTTP/1.0\r\n\r\n');
    assert.equal(admit(head, ex, s, true)?.status, 400);
  });
});

describe('decide → route', () => {
  test('permit forwards to the target; intercept to the helper’s host; CONNECT tunnels', () => {
    const get = parsed(CURL_GET);
    assert.deepEqual(routeOf({ kind: 'permit' }, get.head, get.ex), { kind: 'forward', host: 'www.example.test', port: 80, tls: false });
    assert.deepEqual(routeOf({ kind: 'intercept', host: '10.0.0.1', port: 8080 }, get.head, get.ex), {
      kind: 'forward',
      host: '10.0.0.1',
      port: 8080,
      tls: false,
    });
    assert.equal(get.ex.outcome, Outcome.Intercept);
    const connect = parsed(CURL_CONNECT);
    assert.deepEqual(routeOf({ kind: 'permit' }, connect.head, connect.ex), { kind: 'tunnel', host: 'www.example.test', port: 443 });
  });

  test('rewrite replaces the request line and keeps the header lines', () => {
    const { head, ex } = parsed(CURL_GET);
    const route = routeOf({ kind: 'rewrite', url: 'http://other.test/x' }, head, ex);
    assert.equal(route.kind, 'replace');
    const text = route.kind === 'replace' ? route.head.toString('latin1') : '';
    assert.match(text, /^GET http:\/\/other\.test\/x HTTP\/1\.1\r\nHost: www\.example\.test\r\n/);
    assert.equal(ex.outcome, Outcome.Rewrite);
  });

  test('redirect, file, deny: local answers', () => {
    const { head, ex } = parsed(CURL_GET);
    const redirect = routeOf({ kind: 'redirect', url: 'http://x.test/\r\nSet-Cookie: a', status: 302 }, head, ex);
    assert.ok(redirect.kind === 'answer' && redirect.answer.status === 302);
    assert.equal(redirect.kind === 'answer' && redirect.answer.headers, 'Location: http://x.test/Set-Cookie: a\r\n');
    const file = routeOf({ kind: 'file', name: 'deny.html' }, head, ex);
    assert.ok(file.kind === 'answer' && file.answer.page === 'deny.html' && file.answer.pageRequired);
    const deny = routeOf({ kind: 'deny', reason: 'x' }, head, ex);
    assert.ok(deny.kind === 'answer' && deny.answer.status === 503 && deny.answer.outcome === Outcome.Deny);
  });

  test("a helper's 2xx response to CONNECT becomes a 403 (clients take 2xx as an open tunnel)", () => {
    const { head, ex } = parsed(CURL_CONNECT);
    const route = routeOf({ kind: 'response', head: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), body: Buffer.alloc(0) }, head, ex);
    assert.ok(route.kind === 'answer' && route.answer.status === 403);
  });
});

/** A response table parsed from `head` by the addon. */
function responseTable(head: string, method = 'GET'): Uint32Array {
  const table = new Scratch({ head: 65536, target: 8192, headers: 100 }).responseTable;
  const methodId = parsed(`${method} http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n`).ex.methodId;
  assert.ok(native.parseResponse(Buffer.from(head, 'latin1'), 0, table, methodId) > 0);
  return table;
}

describe('body framer', () => {
  test('Content-Length: exactly that many bytes, split anywhere, the rest is not the body', () => {
    const table = responseTable('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
    const body = Buffer.from('0123456789NEXT');
    for (let cut = 0; cut <= body.length; cut++) {
      const f = new BodyFramer().start(table, true);
      const a = f.take(body, 0, cut);
      const b = f.take(body, a, body.length);
      assert.equal(a + b, 10, `split at ${cut}`);
      assert.equal(f.pending, false);
    }
  });

  test('chunked: the end is found however the bytes are split; broken framing is an error', () => {
    const table = responseTable('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    const body = Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT');
    const whole = body.length - 4;
    for (let cut = 0; cut <= body.length; cut++) {
      const f = new BodyFramer().start(table, true);
      const a = f.take(body, 0, cut);
      const b = f.pending ? f.take(body, a, body.length) : 0;
      assert.equal(a + b, whole, `split at ${cut}`);
      assert.equal(f.pending, false);
    }
    assert.ok(new BodyFramer().start(table, true).take(Buffer.from('zz\r\n'), 0, 4) < 0);
  });

  test('a response with neither lasts until the close; a HEAD response or a 204 has none', () => {
    const untilClose = new BodyFramer().start(responseTable('HTTP/1.1 200 OK\r\n\r\n'), true);
    assert.equal(untilClose.framing, Framing.UntilClose);
    assert.equal(untilClose.take(Buffer.alloc(100), 0, 100), 100);
    assert.equal(untilClose.closed(), true);
    assert.equal(new BodyFramer().start(responseTable('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', 'HEAD'), true).pending, false);
    assert.equal(new BodyFramer().start(responseTable('HTTP/1.1 204 No Content\r\n\r\n'), true).pending, false);
  });
});

describe('input buffer', () => {
  test('a head dripped byte by byte is copied once and worth parsing only when a line ends', () => {
    const input = new InputBuffer();
    const head = 'GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n';
    let worth = 0;
    for (const ch of head) {
      input.append(Buffer.from(ch), true);
      if (input.worthParsing(65536)) worth++;
      input.parsed(false);
    }
    assert.equal(input.buf!.toString(), head);
    assert.equal(worth, 4, 'the first byte, then once per line end');
  });
});

describe('PROXY header', () => {
  test('v1 TCP4 and TCP6 name the client and the destination as inet_ntop writes them; LOCAL keeps the socket', () => {
    const table = new Uint32Array(ProxySlot.SIZE);
    const read = (text: string) => readProxyHeader(Buffer.from(text, 'latin1'), 0, table);
    const v4 = 'PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n';
    assert.deepEqual(read(`${v4}GET`), {
      kind: 'done',
      consumed: v4.length,
      client: { ip: '192.0.2.7', port: 40000 },
      destination: { ip: '198.51.100.1', port: 80 },
    });
    const v6 = read('PROXY TCP6 2001:db8:0:0:0:0:0:1 2001:db8::2 40001 80\r\n');
    assert.ok(v6.kind === 'done' && v6.client?.ip === '2001:db8::1' && v6.client.port === 40001);
    assert.deepEqual(v6.destination, { ip: '2001:db8::2', port: 80 });
    const unknown = read('PROXY UNKNOWN\r\n');
    assert.ok(unknown.kind === 'done' && unknown.client === null && unknown.destination === null);
    assert.equal(read('PROXY TCP4 192.0.2.7').kind, 'more');
    assert.equal(read('GET / HTTP/1.1\r\n\r\n').kind, 'invalid');
  });
});

describe('a head a helper wrote', () => {
  test('goes where its own target says; one that cannot be parsed is a 503, logged without its header lines', () => {
    const logged: string[] = [];
    const log = { info() {}, warn() {}, debug() {}, error: (o: object | string) => void logged.push(JSON.stringify(o)) };
    const ctx = { scratch: new Scratch({ head: 65536, target: 8192, headers: 100 }), log } as unknown as ProxyContext;
    assert.deepEqual(replacedTarget(ctx, Buffer.from('GET https://other.test:8443/x HTTP/1.1\r\nHost: other.test:8443\r\n\r\n')), {
      host: 'other.test',
      port: 8443,
      tls: true,
    });
    const broken = replacedTarget(ctx, Buffer.from('GET http://a.test/ HTTP/1.1\r\nProxy-Authorization: Basic c2VjcmV0\r\nBad Header\r\n\r\n'));
    assert.ok(!('host' in broken) && broken.status === 503);
    assert.equal(logged.length, 1);
    assert.doesNotMatch(logged[0]!, /c2VjcmV0|Authorization/);
  });
});

describe('a head rewritten while it is parsed', () => {
  const IP = '192.0.2.9';
  function context(extra: Partial<ProxyContext> = {}): ProxyContext {
    return {
      scratch: new Scratch({ head: 65536, target: 8192, headers: 100 }),
      plan: new native.RewritePlan({ via: 'exaproxy' }),
      settings: settings(),
      decider: null,
      auth: null,
      externalAcl: null,
      parents: null,
      log: { error() {} },
      ...extra,
    } as unknown as ProxyContext;
  }
  /** What the rewrite at forwarding time writes for `text` (parsed with parseRequest alone). */
  function forwardedLater(text: string, toParent = false): string {
    const ctx = context({ decider: {} as ProxyContext['decider'] });
    const input = Buffer.from(text, 'latin1');
    assert.equal(parseRequestHead(ctx, input, 0, ctx.scratch.table, IP), input.length);
    const head = rewriteRequestHead(ctx, input, ctx.scratch.table, '192.0.2.9', toParent);
    assert.ok(Buffer.isBuffer(head));
    return head.toString('latin1');
  }

  test('with nothing left to decide, forwarding takes the head written at parse time: the same bytes', () => {
    const ctx = context();
    const input = Buffer.from(CHROMIUM_GET, 'latin1');
    assert.equal(parseRequestHead(ctx, input, 0, ctx.scratch.table, IP), input.length);
    assert.ok(ctx.scratch.table[Slot.REWRITTEN]! > 0, 'rewritten at parse time');
    const head = rewriteRequestHead(ctx, input, ctx.scratch.table, '192.0.2.9');
    assert.ok(Buffer.isBuffer(head));
    assert.equal(head.toString('latin1'), forwardedLater(CHROMIUM_GET));
    assert.match(head.toString('latin1'), /^GET \/ HTTP\/1\.1\r\n[^]*X-Forwarded-For: 192\.0\.2\.9\r\n/);
  });

  test('requests from two addresses in turn: each head names its own client', () => {
    const ctx = context();
    const input = Buffer.from(CURL_GET, 'latin1');
    for (const ip of ['192.0.2.9', '198.51.100.7', '192.0.2.9', '2001:db8::1']) {
      parseRequestHead(ctx, input, 0, ctx.scratch.table, ip);
      const head = rewriteRequestHead(ctx, input, ctx.scratch.table, ip);
      assert.ok(Buffer.isBuffer(head));
      assert.match(head.toString('latin1'), new RegExp(`\\r\\nX-Forwarded-For: ${ip.replace(/\./g, '\\.')}\\r\\n`));
    }
  });

  test('a helper to ask: parsed only; a parent: rewritten again in absolute-form', () => {
    const ctx = context({ decider: {} as ProxyContext['decider'] });
    const input = Buffer.from(CURL_GET, 'latin1');
    parseRequestHead(ctx, input, 0, ctx.scratch.table, IP);
    assert.equal(ctx.scratch.table[Slot.REWRITTEN], 0);
    const direct = context();
    parseRequestHead(direct, input, 0, direct.scratch.table, IP);
    const head = rewriteRequestHead(direct, input, direct.scratch.table, '192.0.2.9', true);
    assert.ok(Buffer.isBuffer(head));
    assert.match(head.toString('latin1'), /^GET http:\/\/www\.example\.test\/path\?q=1 HTTP\/1\.1\r\n/);
    assert.equal(head.toString('latin1'), forwardedLater(CURL_GET, true));
  });

  test('output taken from the scratch meanwhile: the head is rewritten again, never sent as someone else overwrote it', () => {
    const ctx = context();
    const input = Buffer.from(CURL_GET, 'latin1');
    parseRequestHead(ctx, input, 0, ctx.scratch.table, IP);
    const other = ctx.scratch.out(64);
    other.buf.fill(0x21, other.start, other.start + 64);
    ctx.scratch.take(64);
    const head = rewriteRequestHead(ctx, input, ctx.scratch.table, '192.0.2.9');
    assert.ok(Buffer.isBuffer(head));
    assert.equal(head.toString('latin1'), forwardedLater(CURL_GET));
  });

  test('a head that does not fit the room left in the scratch output is rewritten when forwarded', () => {
    const big = CURL_GET.replace('Accept: */*\r\n', `Accept: */*\r\nCookie: ${'c'.repeat(8000)}\r\n`);
    const ctx = context();
    // 6000 bytes left in the slab: enough to be offered, too few for this head.
    const used = 256 * 1024 - 6000;
    ctx.scratch.out(used);
    ctx.scratch.take(used);
    const input = Buffer.from(big, 'latin1');
    assert.equal(parseRequestHead(ctx, input, 0, ctx.scratch.table, IP), input.length);
    assert.equal(ctx.scratch.table[Slot.REWRITTEN], 0);
    const head = rewriteRequestHead(ctx, input, ctx.scratch.table, '192.0.2.9');
    assert.ok(Buffer.isBuffer(head));
    assert.equal(head.toString('latin1'), forwardedLater(big));
  });
});
