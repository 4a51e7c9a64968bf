/**
 * The addon's contract: argument checking, the numbers it returns, and that the
 * generated constants agree with what the Rust side writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, Flag, Form, Header, Icap, IcapFlag, IcapMethod, Method, NEED_MORE, Rewrite, Scheme, Slot } from '../src/native/abi.generated';
import { native } from '../src/native/addon';
import { HeadView } from '../src/native/head-view';

const table = (): Uint32Array => new Uint32Array(Slot.HEADERS + 5 * 64);
const REQUEST = Buffer.from(
  'GET http://Example.COM:8080/a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nProxy-Connection: keep-alive\r\n\r\n',
  'latin1',
);

test('parseRequest fills the table; HeadView reads it', () => {
  const t = table();
  assert.equal(native.parseRequest(REQUEST, 0, t), REQUEST.length);
  const v = new HeadView(REQUEST, t);
  assert.equal(v.methodId, Method.GET);
  assert.equal(t[Slot.FORM], Form.ABSOLUTE);
  assert.equal(t[Slot.SCHEME], Scheme.HTTP);
  assert.equal(v.host, 'example.com');
  assert.equal(v.port, 8080);
  assert.equal(v.path, '/a/b?c=d');
  assert.ok(v.has(Flag.VERSION_11));
  assert.ok(v.has(Flag.CONNECTION_KEEP_ALIVE));
  assert.equal(v.header(Header.USER_AGENT), 't');
  assert.equal(v.headerNamed('x-drop'), '1');
  assert.equal(v.headerCount, 5);
});

test('a partial head needs more; an offset parses a pipelined head in place', () => {
  const t = table();
  assert.equal(native.parseRequest(REQUEST.subarray(0, 40), 0, t), NEED_MORE);
  const two = Buffer.concat([REQUEST, REQUEST]);
  assert.equal(native.parseRequest(two, REQUEST.length, t), REQUEST.length);
  assert.equal(t[Slot.METHOD_START], REQUEST.length);
});

test('errors come back as -code with the status and position in the table', () => {
  const t = table();
  const bad = Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n');
  assert.equal(native.parseRequest(bad, 0, t), -ErrorCode.CONTENT_LENGTH_AND_TRANSFER_ENCODING);
  assert.equal(t[Slot.ERROR_STATUS], 400);
  assert.ok(t[Slot.ERROR_POS]! > 0);
});

test('rewriteRequest writes origin-form with Via and X-Forwarded-For, hop-by-hop removed', () => {
  const t = table();
  native.parseRequest(REQUEST, 0, t);
  const plan = new native.RewritePlan({ via: 'exaproxy' });
  const out = Buffer.alloc(1024);
  const n = native.rewriteRequest(plan, REQUEST, t, out, 10, '192.0.2.1', Rewrite.UPSTREAM_KEEP_ALIVE);
  const text = out.toString('latin1', 10, 10 + n);
  assert.match(text, /^GET \/a\/b\?c=d HTTP\/1\.1\r\n/);
  assert.match(text, /\r\nHost: Example\.COM:8080\r\n/);
  assert.match(text, /\r\nVia: 1\.1 exaproxy\r\n/);
  assert.match(text, /\r\nX-Forwarded-For: 192\.0\.2\.1\r\n/);
  assert.doesNotMatch(text, /X-Drop|Proxy-Connection|keep-alive/i);
  assert.equal(native.rewriteRequest(plan, REQUEST, t, Buffer.alloc(20), 0, '192.0.2.1', 0), -ErrorCode.OUTPUT_TOO_SMALL);
});

test('readRequest parses and rewrites in one call, the address as bytes: the same table and head as parseRequest then rewriteRequest', () => {
  const plan = new native.RewritePlan({ via: 'exaproxy' });
  const apart = table();
  assert.equal(native.parseRequest(REQUEST, 0, apart), REQUEST.length);
  const out = Buffer.alloc(1024);
  const n = native.rewriteRequest(plan, REQUEST, apart, out, 0, '192.0.2.1', Rewrite.UPSTREAM_KEEP_ALIVE);
  const joined = table();
  const together = Buffer.alloc(1024);
  const ip = Buffer.from('192.0.2.1', 'latin1');
  assert.equal(native.readRequest(plan, REQUEST, 0, joined, together, 7, ip, Rewrite.UPSTREAM_KEEP_ALIVE), REQUEST.length);
  assert.equal(joined[Slot.REWRITTEN], n);
  assert.equal(together.toString('latin1', 7, 7 + n), out.toString('latin1', 0, n));
  assert.match(out.toString('latin1', 0, n), /\r\nX-Forwarded-For: 192\.0\.2\.1\r\n/);
  assert.deepEqual(joined.subarray(0, Slot.REWRITTEN), apart.subarray(0, Slot.REWRITTEN));
  // Incomplete: nothing written; too little room: parsed, not written.
  assert.equal(native.readRequest(plan, REQUEST.subarray(0, 40), 0, joined, together, 0, ip, 0), NEED_MORE);
  assert.equal(joined[Slot.REWRITTEN], 0);
  assert.equal(native.readRequest(plan, REQUEST, 0, joined, Buffer.alloc(32), 0, ip, 0), REQUEST.length);
  assert.equal(joined[Slot.REWRITTEN], 0);
  // The output may not overlap the address it copies.
  assert.throws(() => native.readRequest(plan, REQUEST, 0, joined, together, 0, together.subarray(0, 9), 0), /share memory/);
  assert.throws(() => native.readRequest(plan, REQUEST, 0, joined, together, 0, '192.0.2.1' as unknown as Buffer, 0), /^TypeError: clientIp /);
});

test('readResponse parses and rewrites in one call: the same table and head as parseResponse then rewriteResponse', () => {
  const plan = new native.RewritePlan({ via: 'exaproxy', viaResponse: true });
  const response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n\r\nok', 'latin1');
  const apart = table();
  const consumed = native.parseResponse(response, 0, apart, Method.GET);
  const out = Buffer.alloc(1024);
  const n = native.rewriteResponse(plan, response, apart, out, 0, Rewrite.CLIENT_KEEP_ALIVE);
  const joined = table();
  const together = Buffer.alloc(1024);
  assert.equal(native.readResponse(plan, response, 0, joined, Method.GET, together, 10, Rewrite.CLIENT_KEEP_ALIVE), consumed);
  assert.equal(joined[Slot.REWRITTEN], n);
  assert.equal(together.toString('latin1', 10, 10 + n), out.toString('latin1', 0, n));
  assert.match(out.toString('latin1', 0, n), /\r\nVia: 1\.1 exaproxy\r\n/);
  assert.ok((joined[Slot.FLAGS]! & Flag.KEEP_ALIVE) !== 0);
  // Incomplete: nothing parsed, nothing written; too little room: parsed, not written.
  assert.equal(native.readResponse(plan, response.subarray(0, 20), 0, joined, Method.GET, together, 0, 0), NEED_MORE);
  assert.equal(joined[Slot.REWRITTEN], 0);
  assert.equal(native.readResponse(plan, response, 0, joined, Method.GET, Buffer.alloc(16), 0, 0), consumed);
  assert.equal(joined[Slot.REWRITTEN], 0);
});

test('scanChunked finds the end of a chunked body across calls', () => {
  const state = new Uint32Array(8);
  const body = Buffer.from('5\r\nhello\r\n0\r\n\r\nNEXT');
  assert.equal(native.scanChunked(body, 0, 7, state), 7);
  assert.equal(native.scanChunked(body, 7, body.length, state), body.length - 7 - 4);
  assert.equal(state[0], 0xff);
});

test('wrong argument types throw a TypeError with code EXA_ERR_INVALID_ARG', () => {
  const t = table();
  const cases: [string, () => unknown][] = [
    ['buf', () => native.parseRequest('GET' as unknown as Buffer, 0, t)],
    ['start', () => native.parseRequest(REQUEST, 'x' as unknown as number, t)],
    ['start past the end', () => native.parseRequest(REQUEST, REQUEST.length + 1, t)],
    ['table', () => native.parseRequest(REQUEST, 0, new Uint8Array(200) as unknown as Uint32Array)],
    ['short table', () => native.parseRequest(REQUEST, 0, new Uint32Array(4))],
    ['state', () => native.scanChunked(REQUEST, 0, 1, {} as Uint32Array)],
    ['plan option', () => new native.RewritePlan({ forwardedFor: 'sideways' as 'append' })],
    ['plan header name', () => new native.RewritePlan({ removeRequest: ['bad name'] })],
  ];
  for (const [name, call] of cases) {
    assert.throws(call, (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'EXA_ERR_INVALID_ARG', name);
  }
});

test('every argument of the wrong type is a TypeError naming it, numbers included', () => {
  const t = table();
  const plan = new native.RewritePlan({});
  const named: [string, () => unknown][] = [
    ['requestMethod', () => native.parseResponse(REQUEST, 0, t, 'GET' as unknown as number)],
    ['bits', () => native.rewriteRequest(plan, REQUEST, t, Buffer.alloc(64), 0, '192.0.2.1', 'x' as unknown as number)],
    ['outStart', () => native.rewriteResponse(plan, REQUEST, t, Buffer.alloc(64), {} as number, 0)],
    ['out', () => native.rewriteResponse(plan, REQUEST, t, new Uint16Array(8) as unknown as Buffer, 0, 0)],
    ['requestMethod', () => native.readResponse(plan, REQUEST, 0, t, 'GET' as unknown as number, Buffer.alloc(64), 0, 0)],
    ['outStart', () => native.readResponse(plan, REQUEST, 0, t, 1, Buffer.alloc(64), 65, 0)],
  ];
  for (const [name, call] of named) {
    assert.throws(
      call,
      (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'EXA_ERR_INVALID_ARG' && e.message.startsWith(`${name} `),
      name,
    );
  }
});

test('a writable argument that shares memory with another argument is refused, not written', () => {
  const t = table();
  assert.equal(native.parseRequest(REQUEST, 0, t), REQUEST.length);
  const plan = new native.RewritePlan({ via: 'exaproxy' });
  const copy = Buffer.from(REQUEST);
  const refused = (call: () => unknown, name: string): void => {
    assert.throws(call, (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'EXA_ERR_INVALID_ARG' && /share memory/.test(e.message), name);
  };
  // The head rewritten over itself: out is buf.
  refused(() => native.rewriteRequest(plan, copy, t, copy, 0, '192.0.2.1', 0), 'out = buf');
  refused(() => native.rewriteResponse(plan, copy, t, copy.subarray(8), 0, 0), 'out inside buf');
  refused(() => native.readResponse(plan, copy, 0, t, Method.GET, copy, 0, 0), 'readResponse: out = buf');
  assert.deepEqual(copy, REQUEST, 'nothing was written');
  // A table viewing the bytes it is asked to describe.
  const memory = new ArrayBuffer(4096);
  const bytes = Buffer.from(memory, 0, 2048);
  REQUEST.copy(bytes);
  refused(() => native.parseRequest(bytes, 0, new Uint32Array(memory, 1024, 512)), 'table over buf');
  // Disjoint views of one ArrayBuffer are fine.
  const head = new Uint32Array(memory, 2048, 512);
  assert.equal(native.parseRequest(bytes.subarray(0, REQUEST.length), 0, head), REQUEST.length);
  const out = Buffer.from(memory, 0, 2048).subarray(REQUEST.length + 8);
  assert.ok(native.rewriteRequest(plan, bytes.subarray(0, REQUEST.length), head, out, 0, '192.0.2.1', 0) > 0);
});

test('parseIcapRequest fills the ICAP table and the head table; the two tables may not share memory', () => {
  const message = Buffer.concat([
    Buffer.from(`REQMOD icap://127.0.0.1/filter ICAP/1.0\r\nAllow: 204\r\nEncapsulated: req-hdr=0, null-body=${REQUEST.length}\r\n\r\n`, 'latin1'),
    REQUEST,
  ]);
  const icap = new Uint32Array(Icap.SIZE);
  const head = table();
  assert.equal(native.parseIcapRequest(message, 0, icap, head), message.length);
  assert.equal(icap[Icap.METHOD], IcapMethod.REQMOD);
  assert.equal(icap[Icap.FLAGS]! & IcapFlag.ALLOW_204, IcapFlag.ALLOW_204);
  assert.equal(new HeadView(message, head).host, 'example.com');
  assert.equal(native.parseIcapRequest(message.subarray(0, 40), 0, icap, head), NEED_MORE);
  const missing = Buffer.from('REQMOD icap://h/ ICAP/1.0\r\n\r\n');
  assert.equal(native.parseIcapRequest(missing, 0, icap, head), -ErrorCode.ICAP_ENCAPSULATED_MISSING);
  assert.equal(icap[Icap.ERROR_STATUS], 400);
  const memory = new ArrayBuffer(4096);
  assert.throws(
    () => native.parseIcapRequest(message, 0, new Uint32Array(memory, 0, Icap.SIZE), new Uint32Array(memory, 64, 512)),
    (e: unknown) => e instanceof TypeError && /share memory/.test((e as Error).message),
  );
});
