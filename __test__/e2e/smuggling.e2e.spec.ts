/**
 * The smuggling corpus (fixtures/smuggling, format in its README) through the real
 * proxy, against a raw origin that counts every byte it receives.
 *
 * Each request case is written at once on a fresh client connection, with `{origin}`
 * standing for the origin's address. A case refused at the head must give the
 * client its status and a close, and the origin must receive no byte at all while it
 * runs; refused in the body, the origin must never get a complete request; accepted,
 * the origin gets exactly the messages the RFC framing gives, each with its body
 * length. Then a few desync probes send the messages of one keep-alive connection
 * one after the other, each after the previous answer.
 *
 * Cases run one at a time (the proxy pools its upstream connections, so "bytes the
 * origin received while this case ran" is what belongs to the case).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERROR_INFO } from '../../src/native/abi.generated';
import { ROOT, startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { rawConnect } from '../helpers/net';

// ── the corpus ─────────────────────────────────────────────────────────────────

type Framing = { kind: 'none' | 'length' | 'chunked' | 'close' | 'tunnel' | 'interim'; bytes: number };

interface Case {
  file: string;
  name: string;
  request: boolean;
  /** For a response case: the method of the request it answers. */
  method: string;
  accept: boolean;
  /** Error name of a refusal. */
  error: string;
  stage: 'head' | 'body';
  messages: number;
  framing: Framing[];
  /** `e2e:` — what the proxy does instead of forwarding, or why the case cannot run here. */
  answer?: number;
  forward?: number;
  skip?: string;
  /** The parser's verdict when it knowingly differs from `expect` (see the README). */
  known?: string;
  /** The raw text after `data:` (escapes, placeholders and repeats still in it). */
  text: string;
}

const CORPUS = join(ROOT, 'fixtures', 'smuggling');

function loadCorpus(): Case[] {
  const cases: Case[] = [];
  for (const file of readdirSync(CORPUS).filter((f) => f.endsWith('.txt')).sort()) {
    const blocks = readFileSync(join(CORPUS, file), 'utf8').split(/^(?====)/m).filter((b) => b.startsWith('==='));
    for (const block of blocks) cases.push(parseCase(file, block));
  }
  return cases;
}

function parseCase(file: string, block: string): Case {
  const lines = block.split('\n').filter((l) => !l.startsWith('#'));
  const name = lines[0]!.replace(/^=+/, '').trim();
  const c: Case = { file, name, request: true, method: '', accept: true, error: '', stage: 'head', messages: -1, framing: [], text: '' };
  let framing: Framing[] | null = null;
  let i = 1;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'data') break;
    if (key === 'kind') {
      c.request = value === 'request';
      c.method = value.split(' ')[1] ?? '';
    }
    else if (key === 'expect') {
      c.accept = value === 'accept';
      c.error = c.accept ? '' : value.replace(/^reject\s+/, '');
    } else if (key === 'messages') c.messages = Number(value);
    else if (key === 'stage') c.stage = value === 'body' ? 'body' : 'head';
    else if (key === 'known') c.known = value.split(' -- ')[0]!.trim();
    else if (key === 'framing') {
      framing = value.split(',').map((f) => {
        const [kind, n] = f.trim().split(' ');
        return { kind: kind as Framing['kind'], bytes: Number(n ?? 0) };
      });
    } else if (key === 'e2e') {
      const [word, ...rest] = value.split(' ');
      if (word === 'answer') c.answer = Number(rest[0]);
      else if (word === 'forward') c.forward = Number(rest[0]);
      else c.skip = rest.join(' ');
    }
  }
  c.text = lines.slice(i + 1).join('');
  // The proxy runs the parser we have, so a known disagreement is run as the parser decides.
  if (c.known !== undefined) {
    c.accept = c.known === 'accept';
    c.error = c.accept ? '' : c.known.replace(/^reject\s+/, '');
  }
  if (c.messages < 0) c.messages = c.accept ? 1 : 0;
  c.framing = framing ?? Array.from({ length: c.messages }, () => ({ kind: 'none' as const, bytes: 0 }));
  return c;
}

/** The bytes of a case, `{origin}` replaced (the rules of the README's "Data rules"). */
function caseBytes(text: string, origin: string): Buffer {
  const expanded = text.replace(/\{repeat (\d+)\}(.*?)\{\/repeat\}/g, (_, n: string, body: string) => body.repeat(Number(n)));
  const out: number[] = [];
  for (let i = 0; i < expanded.length; i++) {
    const ch = expanded[i]!;
    if (ch === '\\') {
      const e = expanded[++i]!;
      if (e === 'x') {
        out.push(parseInt(expanded.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push({ r: 13, n: 10, t: 9, '\\': 92, '{': 123 }[e as 'r']);
    } else if (expanded.startsWith('{origin}', i)) {
      for (const b of Buffer.from(origin, 'latin1')) out.push(b);
      i += '{origin}'.length - 1;
    } else {
      for (const b of Buffer.from(ch, 'utf8')) out.push(b);
    }
  }
  return Buffer.from(out);
}

function errorStatus(name: string): number {
  const info = ERROR_INFO.find((e) => e[0] === name);
  assert.ok(info, `unknown error name ${name}`);
  return info[1];
}

// ── the origin ─────────────────────────────────────────────────────────────────

interface Seen {
  method: string;
  target: string;
  bodyLength: number;
}

/**
 * A strict little HTTP/1.1 server on a raw socket: it counts every byte, frames each
 * request by its Content-Length or chunked body, and answers 200 with a Content-Length.
 * Anything it cannot frame (which a correct proxy never sends) is recorded as an anomaly.
 */
class CountingOrigin {
  bytes = 0;
  requests: Seen[] = [];
  anomalies: string[] = [];
  private readonly sockets = new Set<Socket>();
  readonly server: Server = createServer((socket) => this.serve(socket));

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('data', (data: Buffer) => {
      this.bytes += data.length;
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const r = readRequest(pending);
        if (r === null) return;
        if (typeof r === 'string') {
          this.anomalies.push(r);
          socket.destroy();
          return;
        }
        pending = pending.subarray(r.used);
        this.requests.push(r.seen);
        const body = r.seen.method === 'HEAD' ? '' : JSON.stringify(r.seen);
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
    });
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** One request from the start of `buf`: null when incomplete, a string when unframeable. */
function readRequest(buf: Buffer): { used: number; seen: Seen } | string | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > 1 << 20 ? 'head larger than 1 MiB' : null;
  const lines = buf.latin1Slice(0, end).split('\r\n');
  const start = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]!);
  if (!start) return `bad request line ${JSON.stringify(lines[0])}`;
  let length: number | null = null;
  const codings: string[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) return `bad field line ${JSON.stringify(line)}`;
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (length !== null || !/^\d+$/.test(value)) return `bad or repeated Content-Length ${JSON.stringify(value)}`;
      length = Number(value);
    } else if (lower === 'transfer-encoding') {
      // A list over any number of lines; empty elements and parameters allowed.
      for (const element of value.split(',')) {
        const coding = element.split(';')[0]!.trim().toLowerCase();
        // The proxy cuts parameters from chunked (`chunked;custom_param`): a next hop comparing
        // the value with `chunked` must read the framing the proxy read.
        if (coding === 'chunked' && element.includes(';')) return `chunked forwarded with parameters: ${JSON.stringify(value)}`;
        if (coding !== '') codings.push(coding);
      }
      if (value === '') codings.push(''); // an empty line: the last coding is no longer chunked
    }
  }
  const chunked = codings.length > 0;
  if (chunked && codings.at(-1) !== 'chunked') return `Transfer-Encoding not ending in chunked: ${codings.join(', ')}`;
  if (chunked && length !== null) return 'Content-Length and Transfer-Encoding both forwarded';
  const bodyStart = end + 4;
  const seen = (bodyLength: number): Seen => ({ method: start[1]!, target: start[2]!, bodyLength });
  if (!chunked) {
    const n = length ?? 0;
    return buf.length - bodyStart < n ? null : { used: bodyStart + n, seen: seen(n) };
  }
  // Chunked: size [;ext] CRLF data CRLF … 0 CRLF *(trailer CRLF) CRLF.
  let i = bodyStart;
  let total = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return null;
    const size = /^([0-9A-Fa-f]+)([ \t]*;.*)?$/.exec(buf.latin1Slice(i, eol));
    if (!size) return `bad chunk size line ${JSON.stringify(buf.latin1Slice(i, eol))}`;
    const n = parseInt(size[1]!, 16);
    i = eol + 2;
    if (n === 0) break;
    if (buf.length < i + n + 2) return null;
    if (buf[i + n] !== 13 || buf[i + n + 1] !== 10) return 'chunk data not followed by CRLF';
    total += n;
    i += n + 2;
  }
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return null;
    const empty = eol === i;
    i = eol + 2;
    if (empty) return { used: i, seen: seen(total) };
  }
}

// ── the client side ────────────────────────────────────────────────────────────

interface Reply {
  statuses: number[];
  /** Body length of each response. */
  bodies: number[];
  closed: boolean;
}

/**
 * Reads responses from `socket` until `count` complete ones arrived and, when
 * `waitClose`, the socket closed (or `timeoutMs` passed). The first response is
 * to a HEAD request when `headFirst` (no body whatever its Content-Length says).
 */
function readReplies(socket: Socket, count: number, waitClose: boolean, headFirst: boolean, timeoutMs = 5000): Promise<Reply> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const statuses: number[] = [];
    const bodies: number[] = [];
    let closed = false;
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ statuses, bodies, closed });
    };
    const parse = (): void => {
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.latin1Slice(0, end);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        const noBody = (headFirst && statuses.length === 0) || (status >= 100 && status < 200) || status === 204 || status === 304;
        const n = noBody ? 0 : cl ? Number(cl[1]) : closed ? buf.length - end - 4 : Infinity;
        if (buf.length < end + 4 + n) return;
        statuses.push(status);
        bodies.push(n);
        buf = buf.subarray(end + 4 + n);
      }
    };
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      parse();
      if (statuses.length >= count && !waitClose) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.once('close', () => {
      closed = true;
      parse();
      finish();
    });
  });
}

function bodyBytes(f: Framing): number {
  return f.kind === 'length' || f.kind === 'chunked' ? f.bytes : 0;
}

// ── the run ────────────────────────────────────────────────────────────────────

let origin: CountingOrigin;
let proxy: RunningExaproxy;
let authority: string;

before(async () => {
  origin = new CountingOrigin();
  const port = await origin.listen();
  authority = `127.0.0.1:${port}`;
  proxy = await startExaproxy(testArgs([`--security.local=127.0.0.1:${port}`]));
});

after(async () => {
  await proxy?.stop();
  await origin?.close();
});

const corpus = loadCorpus();
const requestCases = corpus.filter((c) => c.request);

test('the corpus loads: 150+ request cases, with accepted and refused ones', () => {
  assert.ok(requestCases.length >= 150, `${requestCases.length} request cases`);
  assert.ok(requestCases.some((c) => c.accept) && requestCases.some((c) => !c.accept));
  for (const c of requestCases) assert.ok(c.text.length > 0, `${c.file} ${c.name}: no data`);
});

/** Where to cut a case delivered in pieces: inside the first blank line, and halfway through the rest. */
function pieces(data: Buffer): Buffer[] {
  const blank = data.indexOf('\r\n\r\n');
  if (blank < 0) return [data.subarray(0, data.length >> 1), data.subarray(data.length >> 1)];
  const first = blank + 3;
  const second = first + ((data.length - first) >> 1);
  return [data.subarray(0, first), data.subarray(first, second), data.subarray(second)].filter((p) => p.length > 0);
}

/** Sends `c` to the proxy (whole, or in pieces each written after the event loop turned) and checks all. */
async function runRequestCase(c: Case, split: boolean): Promise<void> {
  const data = caseBytes(c.text, authority);
  const bytesBefore = origin.bytes;
  const requestsBefore = origin.requests.length;
  const anomaliesBefore = origin.anomalies.length;
  const forwarded = c.answer !== undefined ? 0 : (c.forward ?? c.messages);
  const refused = !c.accept || c.answer !== undefined;
  const expected = refused ? forwarded + 1 : forwarded;

  const socket = await rawConnect(proxy.port);
  socket.setNoDelay(true);
  // A request the parser refuses leaves the stream out of sync: the proxy must close.
  // A policy answer (405, 417…) to a well-framed request may keep the connection.
  const replies = readReplies(socket, expected, !c.accept, /^(\r\n)*HEAD /.test(data.latin1Slice(0, 16)));
  if (split) {
    for (const piece of pieces(data)) {
      if (socket.destroyed) break;
      socket.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } else {
    socket.write(data);
  }
  const reply = await replies;
  socket.destroy();

  const seen = origin.requests.slice(requestsBefore);
  const wantStatuses = Array.from({ length: forwarded }, () => 200);
  if (c.answer !== undefined) wantStatuses.push(c.answer);
  else if (!c.accept) wantStatuses.push(c.stage === 'body' ? 400 : errorStatus(c.error));
  assert.deepEqual(reply.statuses, wantStatuses, `statuses to the client (origin saw ${JSON.stringify(seen)})`);
  if (!c.accept) assert.ok(reply.closed, 'the proxy closes the connection after a request it cannot parse');
  assert.deepEqual(
    seen.map((s) => s.bodyLength),
    c.framing.slice(0, forwarded).map(bodyBytes),
    'one request per message at the origin, each with its body length',
  );
  assert.deepEqual(origin.anomalies.slice(anomaliesBefore), [], 'the origin could frame everything it got');
  if (forwarded === 0 && c.stage === 'head') {
    assert.equal(origin.bytes - bytesBefore, 0, 'no byte of a refused or locally answered request reaches the origin');
  }
}

describe('every request case through the proxy', () => {
  for (const c of requestCases) {
    test(`${c.file} ${c.name}`, { skip: c.skip }, () => runRequestCase(c, false));
  }
});

describe('every request case through the proxy, delivered in pieces', () => {
  for (const c of requestCases) {
    test(`${c.file} ${c.name}`, { skip: c.skip }, () => runRequestCase(c, true));
  }
});

// ── keep-alive probes: the next request is sent after the previous answer ─────

interface Step {
  send: string;
  /** The statuses of the answers this step gets. */
  statuses: number[];
  /** The proxy closes the connection after them. */
  close?: boolean;
}

/** Runs `steps` on one connection; returns the requests the origin saw meanwhile. */
async function converse(steps: Step[]): Promise<Seen[]> {
  const requestsBefore = origin.requests.length;
  const socket = await rawConnect(proxy.port);
  try {
    for (const [i, step] of steps.entries()) {
      const replies = readReplies(socket, step.statuses.length, step.close === true, step.send.startsWith('HEAD '));
      socket.write(caseBytes(step.send, authority));
      const reply = await replies;
      assert.deepEqual(reply.statuses, step.statuses, `step ${i + 1}: ${JSON.stringify(step.send.slice(0, 60))}`);
      if (step.close) assert.ok(reply.closed, `step ${i + 1}: the proxy closes the connection`);
    }
  } finally {
    socket.destroy();
  }
  return origin.requests.slice(requestsBefore);
}

const GET = (path: string): string => `GET http://{origin}${path} HTTP/1.1\\r\\nHost: {origin}\\r\\n\\r\\n`;
const UPGRADE = 'GET http://{origin}/ws HTTP/1.1\\r\\nHost: {origin}\\r\\nConnection: Upgrade\\r\\nUpgrade: websocket\\r\\n\\r\\n';

describe('desync probes on one keep-alive connection', () => {
  test('an upgrade answered 200 is no switch: the next request is a request, not tunnel bytes', async () => {
    const seen = await converse([
      { send: UPGRADE, statuses: [200] },
      { send: GET('/after-upgrade'), statuses: [200] },
    ]);
    assert.deepEqual(seen.map((s) => s.target), ['/ws', '/after-upgrade']);
  });

  test('an upgrade request and the next request in one write: nothing is tunnelled before a 101', async () => {
    const seen = await converse([{ send: UPGRADE + GET('/second'), statuses: [200, 200] }]);
    assert.deepEqual(seen.map((s) => s.target), ['/ws', '/second']);
  });

  test('bytes after a GET without framing are no body: they start the next request line', async () => {
    // `hello` waits for the rest of its line; with it, `hello / HTTP/1.1` is a request with
    // an extension method, which the proxy refuses itself: the origin never sees those bytes.
    const seen = await converse([
      { send: GET('/first') + 'hello', statuses: [200] },
      { send: ' http://{origin}/ HTTP/1.1\\r\\nHost: {origin}\\r\\n\\r\\n', statuses: [405] },
      { send: GET('/third'), statuses: [200] },
    ]);
    assert.deepEqual(seen.map((s) => s.target), ['/first', '/third']);
  });

  test('a CL body that holds a request is a body, then the real next request', async () => {
    const hidden = 'GET /hidden HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n';
    const seen = await converse([
      { send: `POST http://{origin}/post HTTP/1.1\\r\\nHost: {origin}\\r\\nContent-Length: 33\\r\\n\\r\\n${hidden}`, statuses: [200] },
      { send: GET('/next'), statuses: [200] },
    ]);
    assert.deepEqual(
      seen.map((s) => [s.target, s.bodyLength]),
      [
        ['/post', 33],
        ['/next', 0],
      ],
    );
  });

  test('a chunk that holds a fake last chunk and a request is data, then the real next request', async () => {
    const seen = await converse([
      {
        send:
          'POST http://{origin}/post HTTP/1.1\\r\\nHost: {origin}\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n' +
          '26\\r\\n0\\r\\n\\r\\nGET /hidden HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n\\r\\n0\\r\\n\\r\\n',
        statuses: [200],
      },
      { send: GET('/next'), statuses: [200] },
    ]);
    assert.deepEqual(
      seen.map((s) => [s.target, s.bodyLength]),
      [
        ['/post', 38],
        ['/next', 0],
      ],
    );
  });

  test('CL.TE after a good request: refused with a close, nothing of it forwarded', async () => {
    const seen = await converse([
      { send: GET('/good'), statuses: [200] },
      {
        send: 'POST http://{origin}/clte HTTP/1.1\\r\\nHost: {origin}\\r\\nContent-Length: 6\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nX',
        statuses: [400],
        close: true,
      },
    ]);
    assert.deepEqual(seen.map((s) => s.target), ['/good']);
  });

  test('a broken chunked body after a good request: 400 with a close, the broken request never completes', async () => {
    const seen = await converse([
      { send: GET('/good'), statuses: [200] },
      {
        send: 'POST http://{origin}/broken HTTP/1.1\\r\\nHost: {origin}\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5;a\\rb\\r\\nhello\\r\\n0\\r\\n\\r\\n',
        statuses: [400],
        close: true,
      },
    ]);
    assert.deepEqual(seen.map((s) => s.target), ['/good']);
  });
});

// ── responses: the upstream side ──────────────────────────────────────────────

/**
 * An origin that answers every request head it receives with the bytes of the
 * current response case, then closes its side (one response per connection).
 */
class ScriptedOrigin {
  script: Buffer = Buffer.alloc(0);
  private readonly sockets = new Set<Socket>();
  readonly server: Server = createServer((socket) => {
    this.sockets.add(socket);
    let head = '';
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        head = '';
        socket.end(this.script);
      }
    });
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The status codes of the messages of a response case, in order. */
function messageStatuses(data: Buffer): number[] {
  return [...data.toString('latin1').matchAll(/(?:^|\n)HTTP\/\d\.\d (\d{3})/g)].map((m) => Number(m[1]));
}

describe('every response case through the proxy', () => {
  let scripted: ScriptedOrigin;
  let scriptedProxy: RunningExaproxy;
  let target: string;

  before(async () => {
    scripted = new ScriptedOrigin();
    const port = await scripted.listen();
    target = `127.0.0.1:${port}`;
    scriptedProxy = await startExaproxy(testArgs([`--security.local=127.0.0.1:${port}`]));
  });

  after(async () => {
    await scriptedProxy?.stop();
    await scripted?.close();
  });

  // Tunnels (101, 2xx to CONNECT) need an upgrade or CONNECT policy of their own: the
  // parser side of them is in the Rust walk.
  const responseCases = corpus.filter((c) => !c.request && !c.framing.some((f) => f.kind === 'tunnel'));

  for (const c of responseCases) {
    test(`${c.file} ${c.name}`, async () => {
      scripted.script = caseBytes(c.text, target);
      const socket = await rawConnect(scriptedProxy.port);
      const head = c.method === 'HEAD';
      const replies = readReplies(socket, Infinity, true, head);
      socket.write(`${head ? 'HEAD' : 'GET'} http://${target}/ HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`);
      const reply = await replies;
      socket.destroy();
      assert.ok(reply.closed, 'the client connection closes (it asked for close)');

      const statuses = messageStatuses(scripted.script);
      const interim = (k: number): boolean => statuses[k]! >= 100 && statuses[k]! < 200;
      // The client gets the interim answers, then the first final one; whatever the
      // origin sends after a complete final response is not the client's.
      const relayed: number[] = [];
      for (let k = 0; k < c.messages; k++) {
        relayed.push(statuses[k]!);
        if (!interim(k)) break;
      }
      const finalRelayed = relayed.length > 0 && !interim(relayed.length - 1);
      if (c.accept || finalRelayed) {
        assert.deepEqual(reply.statuses, relayed);
        const last = c.framing[relayed.length - 1]!;
        if (!head && last.kind === 'length') assert.equal(reply.bodies.at(-1), last.bytes, 'the body length of the final response');
      } else if (c.stage === 'head') {
        assert.deepEqual(reply.statuses, [...relayed, 502], 'an unparseable response becomes 502');
      } else if (reply.statuses[0] === 502) {
        // The broken body came with the head: nothing had left yet, so the client gets a 502.
        assert.deepEqual(reply.statuses, [...relayed.slice(0, -1), 502]);
      } else {
        // The head went out before the body turned bad: the client sees that head, then the
        // connection cut with not one byte of the broken body (the scanner runs before relaying).
        assert.deepEqual(reply.statuses, [statuses[0]]);
        assert.deepEqual(reply.bodies, [0], 'nothing of the broken body is relayed');
      }
    });
  }
});

// ── 101 without an upgrade request ───────────────────────────────────────────

describe('a switch the client did not ask for', () => {
  test('a 101 to a request without Upgrade is an invalid response: 502, and the next request is never relayed raw', async () => {
    // RFC 9110 §15.2.2: a server MUST NOT switch to a protocol the request did not offer.
    // A proxy that tunnels on such a 101 lets the client's next request through unparsed
    // and unfiltered (the Pingora GHSA-xq2h-p299-vjwv class, from the response side).
    let received = '';
    const sockets = new Set<Socket>();
    const liar = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      let answered = false;
      s.on('data', (d: Buffer) => {
        received += d.toString('latin1');
        if (!answered && received.includes('\r\n\r\n')) {
          answered = true;
          s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    const port = (liar.address() as AddressInfo).port;
    const liarProxy = await startExaproxy(testArgs([`--security.local=127.0.0.1:${port}`]));
    try {
      const t = `127.0.0.1:${port}`;
      const socket = await rawConnect(liarProxy.port);
      const replies = readReplies(socket, 1, false, false);
      socket.write(`GET http://${t}/first HTTP/1.1\r\nHost: ${t}\r\n\r\n`);
      const reply = await replies;
      // Whatever the proxy answered, the next request must not reach the origin as raw bytes.
      const closed = readReplies(socket, Infinity, true, false, 2000);
      socket.write(`GET http://${t}/smuggled HTTP/1.1\r\nHost: ${t}\r\n\r\n`);
      await closed;
      socket.destroy();
      assert.doesNotMatch(received, /GET http:\/\//, 'a request relayed unparsed through a tunnel nobody asked for');
      assert.deepEqual(reply.statuses, [502]);
    } finally {
      await liarProxy.stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => liar.close(() => resolve()));
    }
  });
});
