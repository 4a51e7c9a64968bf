/**
 * One client connection: the state machine of the data path.
 *
 *   PROXY ─▶ HEAD ─▶ (DECIDING) ─▶ FORWARDING ─▶ HEAD … (keep-alive, pipelining)
 *                                  └─▶ TUNNEL (CONNECT, 101)
 *
 * Requests on a connection are handled strictly one after another: the next head is
 * parsed only when the previous response is complete, so pipelined responses can never
 * be reordered. Bytes that arrive meanwhile wait in `input` (reading pauses when too
 * many wait). All per-request state lives in fields of this object (no allocation per
 * request), and the addon's parse table is shared by the whole worker (see Scratch).
 */
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
// Imported from the modules themselves, not the folder's index: CommonJS re-exports are
// getters, and these are read several times per request.
import {
  Chunk,
  ERROR_INFO,
  ErrorCode,
  Flag,
  Form,
  Header,
  METHOD_NAMES,
  Method,
  Proxy as ProxySlot,
  Rewrite,
  Scheme,
  Slot,
} from '../native/abi.generated';
import { native } from '../native/addon';
import { HeadView } from '../native/head-view';
import { LOCAL_DESTINATIONS, RangeList, plainAddress } from './acl';
import type { Decision, ProxyContext } from './context';
import { ResolveError } from './dns';
import { tunnel } from './tunnel';
import { Upstream, type UpstreamOwner } from './upstream';

const { parseProxyHeader, parseRequest, parseResponse, rewriteRequest, rewriteResponse, scanChunked } = native;

const CONNECTION = Symbol('exaproxy.connection');
type OwnedSocket = Socket & { [CONNECTION]: ClientConnection };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[CONNECTION].onData(chunk);
}
function onSocketDrain(this: OwnedSocket): void {
  this[CONNECTION].onDrain();
}
function onSocketEnd(this: OwnedSocket): void {
  this[CONNECTION].onEnd();
}
function onSocketError(): void {
  // 'close' follows; nothing else to do here.
}
function onSocketClose(this: OwnedSocket): void {
  this[CONNECTION].onClose();
}

/** Access-log decisions as the monitor's decision kinds. */
const DECISION_KIND: Record<string, 'permit' | 'deny' | 'error' | 'local' | 'rewrite' | 'redirect' | 'file' | 'intercept'> = {
  PERMIT: 'permit',
  DENY: 'deny',
  ERROR: 'error',
  LOCAL: 'local',
  REWRITE: 'rewrite',
  REDIRECT: 'redirect',
  FILE: 'file',
  INTERCEPT: 'intercept',
};

const enum State {
  ProxyHeader,
  Head,
  Deciding,
  Connecting,
  Forwarding,
  Tunnel,
  Closed,
}

const enum Body {
  None,
  Length,
  Chunked,
  UntilClose,
}

/** What a timeout does when it fires. */
const enum Expiry {
  None,
  /** Close without a word (idle before a request, or between requests). */
  Silent,
  /** 408: the head did not complete in time. */
  HeadTimeout,
  /** 504: the upstream did not connect or answer in time. */
  UpstreamTimeout,
}

/** Input waiting beyond this (pipelined requests, bodies before the upstream is ready) pauses reading. */
const MAX_BUFFERED = 256 * 1024;

/** Methods a request with no body may be retried with on a fresh connection (RFC 9110 §9.2.2). */
function idempotent(methodId: number): boolean {
  return (
    methodId === Method.GET ||
    methodId === Method.HEAD ||
    methodId === Method.OPTIONS ||
    methodId === Method.TRACE ||
    methodId === Method.PUT ||
    methodId === Method.DELETE
  );
}

/** Methods ExaProxy hands to the helpers (reference §7.5). */
function decided(methodId: number): boolean {
  return methodId >= Method.GET && methodId <= Method.PATCH && methodId !== Method.OPTIONS && methodId !== Method.TRACE;
}

export class ClientConnection implements UpstreamOwner {
  state = State.Head;
  /** When the current timeout fires, and what it does. */
  deadline = 0;
  expiry = Expiry.Silent;

  /** The client's address (from the socket, the PROXY header, or a trusted forward header). */
  clientIp: string;
  clientPort: number;
  readonly localIp: string;
  readonly localPort: number;
  private readonly socketIp: string;
  private allowed: boolean;
  private clientEnded = false;
  private paused = false;
  /** Parsing waits for 'drain': the client does not read its answers (see readRequests). */
  private awaitingDrain = false;
  /** readRequests is on the stack: nextRequest lets its loop go on instead of recursing. */
  private parsing = false;
  /** The current request is being served and has not been logged yet. */
  private exchangeOpen = false;

  // Unprocessed input: bytes from `inputPos` to the end of `input`.
  private input: Buffer | null = null;
  private inputPos = 0;
  /** Where a head that arrives in pieces grows, so each byte is copied once, not once per piece. */
  private headStore: Buffer | null = null;
  /** Bytes of the pending head (from `inputPos`) a parse has already found incomplete. */
  private headSeen = 0;

  // The current request.
  private reqMethodId = 0;
  private reqMinor = 1;
  private reqKeepAlive = true;
  /** A helper's decision was counted for this request. */
  private reqCounted = false;
  /** The request asked to switch protocols (Connection: upgrade + Upgrade). */
  private reqUpgrade = false;
  private reqBody = Body.None;
  private reqBodyLeft = 0;
  private reqChunk: Uint32Array | null = null;
  private reqStarted = 0;
  private reqMethod = '';
  private reqUrl = '';
  private reqDetail = '';
  private reqDecision = 'PERMIT';
  private closeAfter = false;

  // The upstream exchange.
  private up: Upstream | null = null;
  private upHead: Buffer | null = null;
  private upTarget = '';
  private upRetried = false;
  private upReceived = false;
  private upPort = 0;
  private upTls: { servername: string } | null = null;

  // The response.
  private resBody = Body.None;
  private resLeft = 0;
  private resChunk: Uint32Array | null = null;
  private resHead: Buffer | null = null;
  /** The rewritten response head, waiting to leave with the first body bytes. */
  private heldHead: Buffer | null = null;
  private resStatus = 0;
  private resKeepAlive = false;
  private resReusable = false;
  private resStarted = false;
  private resBytes = 0;

  constructor(
    readonly socket: Socket,
    private readonly ctx: ProxyContext,
  ) {
    this.socketIp = plainAddress(socket.remoteAddress);
    this.clientIp = this.socketIp;
    this.clientPort = socket.remotePort ?? 0;
    this.localIp = plainAddress(socket.localAddress);
    this.localPort = socket.localPort ?? 0;
    const s = ctx.settings;
    this.allowed = s.proxied || s.clients.has(this.clientIp);
    this.state = s.proxied ? State.ProxyHeader : State.Head;
    this.deadline = Date.now() + (s.proxied ? Math.min(s.timeouts.header, 3000) : firstByteTimeout(s.timeouts));
    this.expiry = Expiry.Silent;
    socket.setNoDelay(true);
    // Shared listeners that find this object on the socket: no closures per connection
    // (an idle keep-alive connection should cost as little memory as possible).
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on('data', onSocketData);
    socket.on('drain', onSocketDrain);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    ctx.stats?.clientOpened(this.clientIp);
    if (s.proxied && !s.forwardTrust.has(this.socketIp)) {
      // Anyone could claim any address in a PROXY header: only trusted front ends may.
      ctx.log.debug({ client: this.socketIp }, 'PROXY protocol from a peer outside http.forward-trust: closed');
      socket.destroy();
    }
  }

  // ── client socket events ──────────────────────────────────────────────────────

  onData(chunk: Buffer): void {
    this.ctx.stats?.bytesFromClient(chunk.length);
    if (this.input === null) {
      this.input = chunk;
      this.inputPos = 0;
    } else if (this.state === State.Head) {
      this.appendToHead(chunk);
    } else {
      this.input = Buffer.concat([this.input.subarray(this.inputPos), chunk]);
      this.inputPos = 0;
    }
    switch (this.state) {
      case State.ProxyHeader:
        this.readProxyHeader();
        break;
      case State.Head:
        this.readRequests();
        break;
      case State.Forwarding:
        if (this.reqBody !== Body.None) this.pumpRequestBody();
        this.limitBuffered();
        break;
      default:
        this.limitBuffered();
    }
  }

  onDrain(): void {
    if (this.state === State.Forwarding) {
      // The client reads: progress, so the exchange is not idle.
      this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamResponse;
      this.up?.socket.resume();
    } else if (this.awaitingDrain) {
      this.awaitingDrain = false;
      if (this.state !== State.Head) return;
      this.resumeClient();
      if (this.input !== null) this.readRequests();
    }
  }

  onEnd(): void {
    // The client will send nothing more; answer what it asked, then close.
    this.clientEnded = true;
    if (this.state === State.Head && (this.input === null || this.inputPos >= this.input.length)) this.close();
    else if (this.state === State.Head) this.readRequests();
    else if (this.state === State.Forwarding && this.reqBody !== Body.None) this.pumpRequestBody();
  }

  onClose(): void {
    if (this.state === State.Tunnel) return; // the tunnel accounts for itself
    if (this.exchangeOpen && this.state !== State.Closed) {
      // The client went away in the middle of an exchange: it is logged with what it got.
      this.reqDetail ||= 'client closed';
      this.resBytes -= this.socket.writableLength;
      this.logAccess();
    }
    this.state = State.Closed;
    const up = this.up;
    this.up = null;
    if (up) {
      up.owner = null;
      up.destroy();
    }
    this.countClosed();
    this.onClosed?.(this);
  }

  /** The connection gauge: exactly one clientClosed for the clientOpened of the constructor. */
  private counted = true;
  private countClosed(): void {
    if (this.counted) {
      this.counted = false;
      this.ctx.stats?.clientClosed(this.clientIp);
    }
  }

  /** Set by the server to forget this connection. */
  onClosed: ((c: ClientConnection) => void) | null = null;

  // ── PROXY protocol ───────────────────────────────────────────────────────────

  private proxyTable: Uint32Array | null = null;

  private readProxyHeader(): void {
    const input = this.input!;
    const table = (this.proxyTable ??= new Uint32Array(ProxySlot.SIZE));
    const n = parseProxyHeader(input, this.inputPos, table);
    if (n === 0) return;
    if (n < 0) {
      this.ctx.log.warn({ client: this.socketIp }, 'invalid PROXY protocol header: connection closed');
      this.socket.destroy();
      return;
    }
    this.inputPos += n;
    if (table[ProxySlot.COMMAND] === 1 && table[ProxySlot.FAMILY] !== 0) {
      const previous = this.clientIp;
      this.clientIp = formatAddress(table, ProxySlot.SRC_ADDR, table[ProxySlot.FAMILY]!);
      this.clientPort = table[ProxySlot.SRC_PORT]!;
      this.ctx.stats?.clientClosed(previous);
      this.ctx.stats?.clientOpened(this.clientIp);
    }
    this.proxyTable = null;
    this.allowed = this.ctx.settings.clients.has(this.clientIp);
    this.state = State.Head;
    this.deadline = Date.now() + firstByteTimeout(this.ctx.settings.timeouts);
    if (this.inputPos < input.length) this.readRequests();
    else this.input = null;
  }

  // ── requests ─────────────────────────────────────────────────────────────────

  /**
   * Parses and starts every complete request in the input, one at a time. While the
   * client does not read what it was answered (the socket's buffer is above its high
   * water mark), nothing more is parsed and reading pauses: a connection holds at most
   * SOCKET_BUFFER plus one response of output and MAX_BUFFERED plus one read of input.
   */
  private readRequests(): void {
    if (this.parsing) return;
    this.parsing = true;
    try {
      this.parseRequests();
    } finally {
      this.parsing = false;
    }
  }

  private parseRequests(): void {
    const table = this.ctx.scratch.table;
    while (this.state === State.Head && this.input !== null) {
      if (this.socket.writableNeedDrain) {
        this.awaitingDrain = true;
        this.pauseClient();
        return;
      }
      const input = this.input;
      const start = this.inputPos;
      // A head arriving in pieces is parsed again only once a new line has ended in it
      // (or it is over the size limit): not for every byte a slow client drips.
      const unchanged =
        this.headSeen > 0 && input.length - start <= this.ctx.settings.limits.head && input.indexOf(10, start + this.headSeen) < 0;
      const n = unchanged ? 0 : parseRequest(input, start, table);
      this.headSeen = n === 0 ? input.length - start : 0;
      if (n === 0) {
        if (this.expiry !== Expiry.HeadTimeout) {
          // The first bytes of a head: from now on it must complete in time (slowloris).
          this.deadline = Date.now() + this.ctx.settings.timeouts.header;
          this.expiry = Expiry.HeadTimeout;
        }
        if (this.clientEnded) this.close();
        return;
      }
      if (n < 0) {
        this.rejectRequest(-n, table);
        return;
      }
      this.inputPos = start + n;
      if (this.inputPos >= input.length) this.input = null; // the head still lives in `input` for startRequest
      this.headStore = null; // views of it (this head, the rest of the input) keep it while needed
      this.startRequest(input, table);
    }
  }

  /**
   * Appends to an incomplete head: in place behind it when its store has room (no byte
   * before the end of `input` is ever overwritten, so views of earlier heads stay
   * valid), else into a store twice the size.
   */
  private appendToHead(chunk: Buffer): void {
    const input = this.input!;
    const store = this.headStore;
    const end = input.length + chunk.length;
    if (store !== null && input.buffer === store.buffer && input.byteOffset === store.byteOffset && end <= store.length) {
      chunk.copy(store, input.length);
      this.input = store.subarray(0, end);
      return;
    }
    const pending = input.length - this.inputPos;
    const grown = Buffer.allocUnsafeSlow(Math.max(16 * 1024, 2 * (pending + chunk.length)));
    input.copy(grown, 0, this.inputPos);
    chunk.copy(grown, pending);
    this.headStore = grown;
    this.input = grown.subarray(0, pending + chunk.length);
    this.inputPos = 0;
  }

  /** A head the parser refused: answer its status and close (the stream is out of sync). */
  private rejectRequest(code: number, table: Uint32Array): void {
    const [name, status, meaning] = ERROR_INFO[code] ?? ['UNKNOWN', 400, 'malformed request'];
    this.ctx.log.debug({ client: this.clientIp, error: name, at: table[Slot.ERROR_POS] }, 'request rejected');
    this.resetRequest();
    this.reqMethod = '-';
    this.reqUrl = '-';
    this.closeAfter = true;
    this.reqDecision = 'ERROR';
    this.reqDetail = name;
    this.localError(status, `The request was refused: ${meaning}.`);
  }

  /** Forgets everything about the previous request on this connection. */
  private resetRequest(): void {
    this.exchangeOpen = true;
    this.reqCounted = false;
    this.reqMethodId = 0;
    this.reqMinor = 1;
    this.reqUpgrade = false;
    this.reqKeepAlive = false;
    this.reqBody = Body.None;
    this.reqStarted = Date.now();
    this.reqMethod = '';
    this.reqUrl = '';
    this.closeAfter = false;
    this.reqDecision = 'PERMIT';
    this.reqDetail = '';
    this.upRetried = false;
    this.upTarget = '';
    this.resStarted = false;
    this.resBytes = 0;
    this.resStatus = 0;
    this.deadline = 0;
    this.expiry = Expiry.None;
  }

  private startRequest(input: Buffer, table: Uint32Array): void {
    const ctx = this.ctx;
    const s = ctx.settings;
    const flags = table[Slot.FLAGS]!;
    const methodId = table[Slot.METHOD]!;
    this.resetRequest();
    this.reqMethodId = methodId;
    this.reqMinor = table[Slot.VERSION]!;
    this.reqUpgrade = (flags & Flag.IS_UPGRADE) !== 0;
    this.reqKeepAlive =
      (flags & Flag.VERSION_11) !== 0 ? (flags & Flag.CONNECTION_CLOSE) === 0 : (flags & Flag.CONNECTION_KEEP_ALIVE) !== 0;
    if ((flags & Flag.CHUNKED) !== 0) {
      this.reqBody = Body.Chunked;
      (this.reqChunk ??= new Uint32Array(Chunk.SIZE)).fill(0);
    } else if ((flags & Flag.CONTENT_LENGTH) !== 0 && (table[Slot.LENGTH_LO]! | table[Slot.LENGTH_HI]!) !== 0) {
      this.reqBody = Body.Length;
      this.reqBodyLeft = table[Slot.LENGTH_HI]! * 0x1_0000_0000 + table[Slot.LENGTH_LO]!;
    } else {
      this.reqBody = Body.None;
    }
    ctx.stats?.requestStarted(methodId);

    const form = table[Slot.FORM]!;
    const scheme = table[Slot.SCHEME]!;
    const host = input.latin1Slice(table[Slot.HOST_START]!, table[Slot.HOST_END]!).toLowerCase();
    const tls = scheme === Scheme.HTTPS;
    const port = table[Slot.PORT]! || (tls ? 443 : 80);
    this.reqMethod = methodId === Method.OTHER ? input.latin1Slice(table[Slot.METHOD_START]!, table[Slot.METHOD_END]!) : '';
    // The URL is only spelled out when something will print it.
    this.reqUrl = ctx.access ? requestUrl(input, table, host, port, tls, form) : '';

    if (!this.allowed) {
      this.closeAfter = true;
      this.reqDecision = 'DENY';
      this.reqDetail = 'client not allowed';
      this.localError(403, 'This proxy does not accept requests from your address.');
      return;
    }
    if (methodId === Method.OTHER && !s.extensions.has(this.reqMethod)) {
      this.reqDecision = 'DENY';
      this.reqDetail = 'method not allowed';
      this.closeAfter ||= this.reqBody !== Body.None;
      this.localError(405, `The method ${this.reqMethod} is not allowed by this proxy.`);
      return;
    }
    if ((flags & (Flag.EXPECT_CONTINUE | Flag.EXPECT_OTHER)) !== 0 && (s.rejectExpect || (flags & Flag.EXPECT_OTHER) !== 0)) {
      this.closeAfter ||= this.reqBody !== Body.None;
      this.localError(417, 'This proxy does not support the expectation given in the Expect header.');
      return;
    }
    if (form === Form.ABSOLUTE && scheme === Scheme.OTHER) {
      this.closeAfter ||= this.reqBody !== Body.None;
      this.localError(400, 'Only http:// and https:// URLs can be fetched through this proxy.');
      return;
    }
    if (form === Form.ASTERISK || (form === Form.ORIGIN && (flags & Flag.HOST_HEADER) === 0)) {
      // `OPTIONS *` or a request meant for the proxy itself.
      this.closeAfter ||= this.reqBody !== Body.None;
      this.localError(400, 'The request has no host to forward it to: configure this address as your HTTP proxy.');
      return;
    }
    if ((methodId === Method.OPTIONS || methodId === Method.TRACE) && this.maxForwardsAnswered(input, table)) return;
    if (s.forwardHeader) this.takeForwardedClient(input, table);

    if (methodId === Method.CONNECT) {
      if (!s.connect || !s.connectPorts.has(port)) {
        this.reqDecision = 'DENY';
        this.reqDetail = 'CONNECT NOT ALLOWED';
        this.reqUrl = `${host}:${port}`;
        this.closeAfter = true;
        this.localError(403, `CONNECT to port ${port} is not allowed by this proxy.`);
        return;
      }
      if (ctx.decider && decided(methodId)) return this.decide(input, table, host, port, 'http');
      this.openTunnel(host, port);
      return;
    }
    if (ctx.decider && decided(methodId)) {
      this.decide(input, table, host, port, tls ? 'https' : 'http');
      return;
    }
    this.forward(input, table, host, port, tls);
  }

  /** OPTIONS/TRACE with `Max-Forwards: 0` are answered here (RFC 9110 §7.6.2). */
  private maxForwardsAnswered(input: Buffer, table: Uint32Array): boolean {
    const value = new HeadView(input, table).header(Header.MAX_FORWARDS);
    if (value === undefined) return false;
    if (!/^\d+$/.test(value)) {
      this.closeAfter ||= this.reqBody !== Body.None;
      this.localError(400, 'Max-Forwards must be a number.');
      return true;
    }
    if (Number(value) > 0) return false;
    this.reqDecision = 'LOCAL';
    this.closeAfter ||= this.reqBody !== Body.None;
    if (this.reqMethodId === Method.TRACE) {
      const head = input.latin1Slice(table[Slot.METHOD_START]!, table[Slot.HEAD_END]!);
      this.sendLocal(200, head, 'message/http');
    } else {
      this.sendLocal(200, '', 'text/plain', 'Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH, CONNECT\r\n');
    }
    return true;
  }

  /** `http.forward`: a trusted front end names the real client in a header. */
  private takeForwardedClient(input: Buffer, table: Uint32Array): void {
    const s = this.ctx.settings;
    if (!s.forwardTrust.has(this.socketIp)) return;
    const value = new HeadView(input, table).headerNamed(s.forwardHeader);
    if (!value) return;
    const last = value.slice(value.lastIndexOf(',') + 1).trim();
    if (isIP(last)) this.clientIp = last;
  }

  // ── decisions ────────────────────────────────────────────────────────────────

  private decide(input: Buffer, table: Uint32Array, host: string, port: number, scheme: 'http' | 'https'): void {
    const ctx = this.ctx;
    // The shared table is reused by other connections while the helper thinks: keep a copy.
    const saved = table.slice(0, Slot.HEADERS + 5 * table[Slot.HEADER_COUNT]!);
    const headStart = table[Slot.METHOD_START]!;
    const rawHead = input.subarray(headStart, table[Slot.HEAD_END]!);
    const methodId = this.reqMethodId;
    const method = methodId === Method.OTHER ? this.reqMethod : methodName(methodId);
    const path = methodId === Method.CONNECT ? '/' : new HeadView(input, table).path;
    this.state = State.Deciding;
    const started = Date.now();
    ctx.decider!.decide({
      method,
      scheme,
      host,
      port,
      path,
      clientIp: this.clientIp,
      myIp: this.localIp,
      myPort: this.localPort,
      rawHead,
      transport: 'http',
    }).then(
      ({ decision, verdict }) => {
        ctx.stats?.decision(decision.kind, Date.now() - started);
        this.reqCounted = true;
        if (this.state !== State.Deciding) return; // the client went away meanwhile
        this.reqDetail = verdict;
        this.apply(decision, input, saved, host, port, scheme === 'https');
      },
      (err: unknown) => {
        ctx.log.error({ err }, 'redirector failed');
        if (this.state !== State.Deciding) return;
        this.apply({ kind: 'deny', reason: String(err) }, input, saved, host, port, scheme === 'https');
      },
    );
  }

  private apply(d: Decision, input: Buffer, table: Uint32Array, host: string, port: number, tls: boolean): void {
    const connect = this.reqMethodId === Method.CONNECT;
    switch (d.kind) {
      case 'permit':
        if (connect) return this.openTunnel(host, port);
        return this.forward(input, table, host, port, tls);
      case 'intercept':
        this.reqDecision = 'INTERCEPT';
        if (connect) return this.openTunnel(d.host, d.port);
        return this.forward(input, table, d.host, d.port, false);
      case 'rewrite': {
        this.reqDecision = 'REWRITE';
        // A new request line, the client's own header lines: parsed again so every rule applies.
        const lineEnd = input.indexOf(10, table[Slot.TARGET_END]!) + 1;
        const head = Buffer.concat([
          Buffer.from(`${this.methodText()} ${d.url} HTTP/1.${this.reqMinor}\r\n`, 'latin1'),
          input.subarray(lineEnd, table[Slot.HEAD_END]!),
        ]);
        return this.forwardReplaced(head);
      }
      case 'request':
        this.reqDecision = 'REWRITE';
        return this.forwardReplaced(d.head);
      case 'redirect':
        this.reqDecision = 'REDIRECT';
        this.closeAfter ||= this.reqBody !== Body.None;
        return this.sendLocal(d.status, '', 'text/html', `Location: ${d.url.replace(/[\r\n]/g, '')}\r\n`);
      case 'file': {
        this.reqDecision = 'FILE';
        this.closeAfter ||= this.reqBody !== Body.None;
        const page = this.ctx.pages.page(d.name, this.pageVars(host));
        if (page === undefined) return this.localError(501, `could not serve missing file ${d.name}`);
        return this.sendLocal(200, page, 'text/html; charset=utf-8');
      }
      case 'response':
        this.reqDecision = 'LOCAL';
        this.closeAfter = true;
        if (connect && statusOf(d.head) < 300) return this.sendPage(403, 'internal_error.html', host);
        this.resStatus = statusOf(d.head);
        this.writeClient(d.head);
        if (d.body.length) this.writeClient(d.body);
        return this.finishLocal();
      case 'deny':
        this.reqDecision = 'DENY';
        this.closeAfter ||= this.reqBody !== Body.None;
        return this.sendPage(503, 'internal_error.html', host);
      case 'error':
        this.reqDecision = 'ERROR';
        this.closeAfter ||= this.reqBody !== Body.None;
        return this.sendPage(503, 'internal_error.html', host);
    }
  }

  /** Forwards a head that replaces the client's (helper rewrite), body unchanged. */
  private forwardReplaced(head: Buffer): void {
    const table = this.ctx.scratch.table;
    const n = parseRequest(head, 0, table);
    if (n <= 0) {
      this.ctx.log.error({ head: head.toString('latin1') }, 'the helper returned a request exaproxy cannot parse');
      this.closeAfter ||= this.reqBody !== Body.None;
      return this.sendPage(503, 'internal_error.html', '');
    }
    const tls = table[Slot.SCHEME] === Scheme.HTTPS;
    const host = head.latin1Slice(table[Slot.HOST_START]!, table[Slot.HOST_END]!).toLowerCase();
    const port = table[Slot.PORT]! || (tls ? 443 : 80);
    this.forward(head, table, host, port, tls);
  }

  // ── forwarding ───────────────────────────────────────────────────────────────

  private forward(input: Buffer, table: Uint32Array, host: string, port: number, tls: boolean): void {
    const ctx = this.ctx;
    // Rewrite now, while the table describes this head; keep the bytes for a retry.
    const headLen = table[Slot.HEAD_END]! - table[Slot.METHOD_START]!;
    let bits = Rewrite.UPSTREAM_KEEP_ALIVE;
    if ((table[Slot.FLAGS]! & Flag.IS_UPGRADE) !== 0) bits |= Rewrite.ALLOW_UPGRADE;
    let n = -ErrorCode.OUTPUT_TOO_SMALL;
    // Usually fits in the head's size plus our few lines; configured additions may need more.
    for (let room = headLen + 1024; n === -ErrorCode.OUTPUT_TOO_SMALL && room <= 4 * headLen + 65536; room *= 4) {
      const { buf, start } = ctx.scratch.out(room);
      n = rewriteRequest(ctx.plan, input, table, buf, start, this.clientIp, bits);
    }
    if (n <= 0) {
      const [name, status] = (n < 0 && ERROR_INFO[-n]) || ['EMPTY_REWRITE', 500];
      ctx.log.error({ error: name }, 'request rewrite failed');
      this.closeAfter = true;
      return this.localError(status, 'The request could not be forwarded.');
    }
    this.upHead = ctx.scratch.take(n);
    this.upTarget = `${host}:${port}`;
    this.upTls = tls ? { servername: isIP(host) ? '' : host } : null;
    this.upPort = port;
    this.resKeepAlive = false;
    this.state = State.Connecting;
    const key = tls ? `s:${host}:${port}` : `${host}:${port}`;
    const pooled = ctx.upstreams.acquire(key);
    if (pooled) {
      this.useUpstream(pooled);
      return;
    }
    this.resolveAndConnect(host, port, key);
  }

  /** `dns.fqdn`: a name without a dot is not looked up (ExaProxy answers its dns page with 200). */
  private refusedShortName(host: string): boolean {
    if (!this.ctx.settings.dns.fqdn || host.includes('.') || isIP(host)) return false;
    this.reqDecision = 'LOCAL';
    this.reqDetail = 'not a fully qualified name';
    this.closeAfter ||= this.reqBody !== Body.None || this.reqMethodId === Method.CONNECT;
    this.sendPage(200, 'dns.html', host);
    return true;
  }

  private resolveAndConnect(host: string, port: number, key: string): void {
    if (this.refusedShortName(host)) return;
    const found = this.ctx.resolver.resolve(host, Date.now());
    if (Array.isArray(found)) return this.connectTo(host, found, port, key);
    this.state = State.Connecting;
    found.then(
      (addresses) => {
        if (this.state === State.Connecting) this.connectTo(host, addresses, port, key);
      },
      (err: unknown) => {
        if (this.state !== State.Connecting) return;
        this.reqDecision = 'ERROR';
        this.reqDetail = err instanceof ResolveError ? err.code : 'dns';
        this.closeAfter ||= this.reqBody !== Body.None;
        this.sendPage(503, 'dns.html', host);
      },
    );
  }

  private connectTo(host: string, addresses: string[], port: number, key: string): void {
    const s = this.ctx.settings;
    const usable = addresses.filter((a) => this.destinationAllowed(host, a, port));
    if (usable.length === 0) {
      this.reqDecision = 'DENY';
      this.reqDetail = 'destination not allowed';
      this.closeAfter ||= this.reqBody !== Body.None;
      return this.localError(403, `The proxy does not connect to ${host}:${port}.`);
    }
    this.deadline = Date.now() + s.timeouts.upstreamConnect;
    this.expiry = Expiry.UpstreamTimeout;
    const up = Upstream.open(key, usable, port, this.upTls, this, host, this.ctx.settings.bind);
    this.countUpstream(up);
    this.up = up;
    this.upReceived = false;
  }

  /** Destination protection: `security.deny`, and local addresses unless `security.local` lists them. */
  private destinationAllowed(host: string, address: string, port: number): boolean {
    const s = this.ctx.settings;
    if (s.deny.has(address)) return false;
    if (!isLocalDestination(address, this.localIp)) return true;
    return s.localAllowed.some((l) => (l.host === '*' || l.host === host || l.host === address) && (l.port === 0 || l.port === port));
  }

  upstreamConnected(up: Upstream): void {
    if (this.state !== State.Connecting || this.up !== up) return;
    this.sendHead(up);
  }

  private useUpstream(up: Upstream): void {
    up.owner = this;
    this.up = up;
    this.upReceived = false;
    this.sendHead(up);
  }

  /** Writes the rewritten head and whatever body bytes are already here. */
  private sendHead(up: Upstream): void {
    const s = this.ctx.settings;
    this.state = State.Forwarding;
    this.resBody = Body.None;
    this.resHead = null;
    this.deadline = Date.now() + s.timeouts.upstreamResponse;
    this.expiry = Expiry.UpstreamTimeout;
    const socket = up.socket;
    socket.cork();
    socket.write(this.upHead!);
    this.ctx.stats?.bytesToUpstream(this.upHead!.length);
    if (this.reqBody !== Body.None) this.pumpRequestBody();
    socket.uncork();
  }

  /** Moves request-body bytes from the input to the upstream, tracking the framing. */
  private pumpRequestBody(): void {
    const up = this.up;
    const input = this.input;
    if (!up || this.state !== State.Forwarding) return;
    if (input === null) {
      if (this.clientEnded && this.reqBody !== Body.None) this.bodyCutShort();
      return;
    }
    const start = this.inputPos;
    let n: number;
    if (this.reqBody === Body.Length) {
      n = Math.min(input.length - start, this.reqBodyLeft);
      this.reqBodyLeft -= n;
      if (this.reqBodyLeft === 0) this.reqBody = Body.None;
    } else {
      n = scanChunked(input, start, input.length, this.reqChunk!);
      if (n < 0) {
        // Broken chunked framing: nothing after this point can be trusted.
        this.ctx.log.debug({ client: this.clientIp, error: ERROR_INFO[-n]?.[0] }, 'invalid chunked request body');
        if (!this.resStarted) {
          this.closeAfter = true;
          this.dropUpstream();
          return this.localError(400, 'The request body has invalid chunked framing.');
        }
        return this.abort('invalid chunked request body');
      }
      if (this.reqChunk![Chunk.PHASE] === Chunk.PHASE_DONE) this.reqBody = Body.None;
    }
    if (n > 0) {
      this.ctx.stats?.bytesToUpstream(n);
      const more = up.socket.write(n === input.length && start === 0 ? input : input.subarray(start, start + n));
      if (!more) this.pauseClient();
    }
    this.inputPos = start + n;
    if (this.inputPos >= input.length) this.input = null;
    if (this.reqBody === Body.None) {
      // The whole request has gone: from now on the upstream has this long to answer.
      this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamResponse;
      this.limitBuffered();
    } else if (n > 0) {
      this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamResponse; // progress
    }
    if (this.clientEnded && this.reqBody !== Body.None && this.input === null) this.bodyCutShort();
  }

  /** The client half-closed before its request body was complete: it never will be. */
  private bodyCutShort(): void {
    this.reqDetail = 'request body incomplete';
    this.closeAfter = true;
    this.dropUpstream();
    if (this.resStarted) return this.abort('request body incomplete');
    this.reqBody = Body.None;
    this.localError(400, 'The request body ended before it was complete.');
  }

  // ── response ─────────────────────────────────────────────────────────────────

  upstreamData(chunk: Buffer): void {
    this.ctx.stats?.bytesFromUpstream(chunk.length);
    this.upReceived = true;
    if (this.state !== State.Forwarding) {
      this.dropUpstream();
      return;
    }
    this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamResponse;
    if (this.resBody === Body.None && !this.resStarted) {
      this.readResponseHead(chunk);
    } else {
      this.relayResponse(chunk, 0);
    }
  }

  private readResponseHead(chunk: Buffer): void {
    let buf = this.resHead === null ? chunk : Buffer.concat([this.resHead, chunk]);
    const table = this.ctx.scratch.responseTable;
    for (;;) {
      const n = parseResponse(buf, 0, table, this.reqMethodId);
      if (n === 0) {
        this.resHead = buf;
        return;
      }
      if (n < 0) {
        const [name] = ERROR_INFO[-n] ?? ['UNKNOWN'];
        this.ctx.log.warn({ upstream: this.upTarget, error: name }, 'invalid response from upstream');
        this.reqDetail = name;
        this.closeAfter = true;
        this.dropUpstream();
        return this.localError(502, `The server ${this.upTarget} sent an invalid response.`);
      }
      const flags = table[Slot.FLAGS]!;
      if ((flags & Flag.INTERIM) !== 0) {
        // 100 Continue and friends go to HTTP/1.1 clients (hop-by-hop fields removed);
        // the final response follows.
        if (this.reqMinor === 1) {
          if (!this.writeRewritten(buf, n, table, 0)) return;
          this.sendHeld(null);
        }
        buf = buf.subarray(n);
        this.resHead = null;
        if (buf.length === 0) return;
        continue;
      }
      this.resHead = null;
      this.startResponse(buf, n, table, flags);
      // A head whose body did not come with it (or has none) leaves now.
      if (this.heldHead !== null) this.sendHeld(null);
      return;
    }
  }

  private startResponse(buf: Buffer, n: number, table: Uint32Array, flags: number): void {
    if ((flags & Flag.TUNNEL) !== 0 && !this.reqUpgrade) {
      // A 101 nobody asked for (RFC 9110 §15.2.2): tunnelling now would let the client's
      // next bytes reach the server unparsed and unfiltered.
      this.reqDetail = 'unsolicited 101';
      this.closeAfter = true;
      this.dropUpstream();
      return this.localError(502, `The server ${this.upTarget} switched protocols without being asked to.`);
    }
    this.resStatus = table[Slot.STATUS]!;
    // A client that half-closed still gets every complete request it sent answered
    // (nextRequest closes once none is left), so its FIN alone does not say close.
    const clientKeepAlive = this.reqKeepAlive && !this.closeAfter && this.reqBody === Body.None;
    let bits = clientKeepAlive ? Rewrite.CLIENT_KEEP_ALIVE : 0;
    if (this.reqMinor === 0) bits |= Rewrite.CLIENT_HTTP_10;
    if (!this.writeRewritten(buf, n, table, bits)) return;
    this.resKeepAlive = (table[Slot.FLAGS]! & Flag.KEEP_ALIVE) !== 0;
    this.resStarted = true;
    this.ctx.stats?.upstreamLatency(Date.now() - this.reqStarted);

    if ((flags & Flag.TUNNEL) !== 0) {
      // 101 Switching Protocols: from now on, bytes both ways.
      this.reqDecision = this.reqDecision === 'PERMIT' ? 'PERMIT' : this.reqDecision;
      return this.becomeTunnel(this.up!, buf.subarray(n));
    }
    this.resReusable = (flags & (Flag.CONNECTION_CLOSE | Flag.BODY_UNTIL_CLOSE)) === 0 && (flags & Flag.VERSION_11) !== 0;
    if ((flags & Flag.BODY_NONE) !== 0) {
      this.resBody = Body.None;
      if (n < buf.length) this.resReusable = false; // bytes after a bodyless response: do not trust this connection
      return this.finishExchange();
    }
    if ((flags & Flag.CHUNKED) !== 0) {
      this.resBody = Body.Chunked;
      (this.resChunk ??= new Uint32Array(Chunk.SIZE)).fill(0);
    } else if ((flags & Flag.CONTENT_LENGTH) !== 0) {
      this.resBody = Body.Length;
      this.resLeft = table[Slot.LENGTH_HI]! * 0x1_0000_0000 + table[Slot.LENGTH_LO]!;
      if (this.resLeft === 0) {
        this.resBody = Body.None;
        if (n < buf.length) this.resReusable = false;
        return this.finishExchange();
      }
    } else {
      this.resBody = Body.UntilClose;
    }
    if (n < buf.length) this.relayResponse(buf, n);
  }

  /**
   * Rewrites the response head `buf[0..n]` (parsed into `table`) for the client into
   * `heldHead`, which leaves with the first body bytes (see `sendHeld`). False when it
   * could not be rewritten (the client got a 502).
   */
  private writeRewritten(buf: Buffer, n: number, table: Uint32Array, bits: number): boolean {
    const scratch = this.ctx.scratch;
    // Usually fits in the head's size plus our few lines; configured additions may need more.
    for (let room = n + 1024; room <= 4 * n + 65536; room *= 4) {
      const { buf: out, start } = scratch.out(room);
      const written = rewriteResponse(this.ctx.plan, buf, table, out, start, bits);
      if (written > 0) {
        this.heldHead = scratch.take(written);
        return true;
      }
      if (written !== -ErrorCode.OUTPUT_TOO_SMALL) break;
    }
    this.closeAfter = true;
    this.dropUpstream();
    this.localError(502, `The response from ${this.upTarget} could not be relayed.`);
    return false;
  }

  /**
   * Writes the held response head, with `body` (the first body bytes) when given: a small
   * body is copied behind the head so both leave in one buffer, one system call.
   */
  private sendHeld(body: Buffer | null): boolean {
    const head = this.heldHead!;
    this.heldHead = null;
    if (body === null) return this.writeClient(head);
    const joined = body.length <= 16 * 1024 ? this.ctx.scratch.extend(head, body) : null;
    if (joined !== null) return this.writeClient(joined);
    this.socket.cork();
    this.writeClient(head);
    const more = this.writeClient(body);
    this.socket.uncork();
    return more;
  }

  private relayResponse(buf: Buffer, start: number): void {
    let n: number;
    switch (this.resBody) {
      case Body.Length:
        n = Math.min(buf.length - start, this.resLeft);
        this.resLeft -= n;
        break;
      case Body.Chunked:
        n = scanChunked(buf, start, buf.length, this.resChunk!);
        if (n < 0) {
          this.ctx.log.warn({ upstream: this.upTarget, error: ERROR_INFO[-n]?.[0] }, 'invalid chunked response');
          this.dropUpstream();
          if (this.heldHead !== null) {
            // Nothing of this response has left yet: the client can get a clean 502.
            this.heldHead = null;
            this.resStarted = false;
            this.closeAfter = true;
            this.reqDetail = ERROR_INFO[-n]?.[0] ?? 'chunked';
            return this.localError(502, `The server ${this.upTarget} sent a response with broken chunked framing.`);
          }
          // The client already has part of this response: breaking the connection is the only honest signal.
          return this.abort(ERROR_INFO[-n]?.[0] ?? 'chunked');
        }
        break;
      case Body.UntilClose:
        n = buf.length - start;
        break;
      default:
        // Bytes after a complete response: the upstream is out of sync.
        this.resReusable = false;
        this.dropUpstream();
        return;
    }
    if (n > 0 || this.heldHead !== null) {
      const body = n === 0 ? null : start === 0 && n === buf.length ? buf : buf.subarray(start, start + n);
      const more = this.heldHead !== null ? this.sendHeld(body) : this.writeClient(body!);
      if (!more) this.up?.socket.pause();
    }
    const done =
      (this.resBody === Body.Length && this.resLeft === 0) ||
      (this.resBody === Body.Chunked && this.resChunk![Chunk.PHASE] === Chunk.PHASE_DONE);
    if (done) {
      if (start + n < buf.length) this.resReusable = false;
      this.resBody = Body.None;
      this.finishExchange();
    }
  }

  upstreamDrain(): void {
    if (this.state !== State.Forwarding) return;
    this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamResponse; // the upload moves
    if (this.paused) this.resumeClient();
  }

  upstreamEnd(): void {
    if (this.state === State.Forwarding && this.resBody === Body.UntilClose) {
      this.resBody = Body.None;
      this.resReusable = false;
      this.resKeepAlive = false;
      this.finishExchange();
      return;
    }
    this.up?.destroy();
  }

  upstreamClosed(error: Error | undefined): void {
    const up = this.up;
    this.up = null;
    if (this.state === State.Closed) return;
    if (this.state === State.Connecting || (this.state === State.Forwarding && !this.resStarted)) {
      // Nothing of a response yet. A reused connection may simply have been closed by
      // the server while idle: an idempotent request without a body is tried once more.
      if (
        up &&
        up.uses > 0 &&
        !this.upReceived &&
        !this.upRetried &&
        idempotent(this.reqMethodId) &&
        this.reqBody === Body.None &&
        this.state === State.Forwarding
      ) {
        this.upRetried = true;
        this.state = State.Connecting;
        const key = up.key;
        const host = this.upTarget.slice(0, this.upTarget.lastIndexOf(':'));
        return this.resolveAndConnect(host, this.upPort, key);
      }
      this.reqDecision = 'ERROR';
      this.reqDetail = (error as NodeJS.ErrnoException | undefined)?.code ?? 'closed';
      this.closeAfter = true;
      return this.sendPage(502, 'noconnect.html', this.upTarget.slice(0, this.upTarget.lastIndexOf(':')));
    }
    if (this.state === State.Forwarding) {
      // The response was cut short (a clean end of a close-delimited body came through
      // upstreamEnd): the client must see a broken connection, not a short message.
      this.abort((error as NodeJS.ErrnoException | undefined)?.code ?? 'upstream closed mid-response');
    }
  }

  /** The upstream gauge: opened now, closed when its socket closes (pooled or not). */
  private countUpstream(up: Upstream): void {
    const stats = this.ctx.stats;
    if (!stats) return;
    stats.upstreamOpened();
    up.onGone = () => stats.upstreamClosed();
  }

  private dropUpstream(): void {
    const up = this.up;
    this.up = null;
    if (up) {
      up.owner = null;
      up.destroy();
    }
  }

  /** A response is complete: log it, pool the upstream, and go on with the next request. */
  private finishExchange(): void {
    // Before anything of the next request can be written.
    if (this.heldHead !== null) this.sendHeld(null);
    this.upHead = null; // no retry any more; do not pin its output slab
    const up = this.up;
    this.up = null;
    if (up) {
      if (this.resReusable && this.reqBody === Body.None && !up.ended) {
        up.socket.resume();
        this.ctx.upstreams.release(up, Date.now());
      } else {
        up.owner = null;
        up.destroy();
      }
    }
    this.logAccess();
    this.nextRequest(this.resKeepAlive);
  }

  /** After a local response: the connection goes on only if the framing allows. */
  private finishLocal(): void {
    this.upHead = null;
    this.dropUpstream();
    this.logAccess();
    this.nextRequest(this.reqKeepAlive && !this.closeAfter);
  }

  private nextRequest(keepAlive: boolean): void {
    if (!keepAlive || this.clientEnded && (this.input === null || this.inputPos >= this.input.length)) {
      this.close();
      return;
    }
    this.state = State.Head;
    this.deadline = Date.now() + this.ctx.settings.timeouts.keepAlive;
    this.expiry = Expiry.Silent;
    // Reading goes on only while what waits unparsed is under the bound.
    if (this.paused && (this.input === null || this.input.length - this.inputPos <= MAX_BUFFERED)) this.resumeClient();
    if (this.input !== null) this.readRequests();
  }

  // ── tunnels ──────────────────────────────────────────────────────────────────

  /** CONNECT: connect, answer 200, then relay bytes both ways. */
  private openTunnel(host: string, port: number): void {
    this.upTarget = `${host}:${port}`;
    this.reqUrl = this.upTarget;
    this.upTls = null;
    this.upPort = port;
    this.upHead = null;
    if (this.refusedShortName(host)) return;
    this.state = State.Connecting;
    const found = this.ctx.resolver.resolve(host, Date.now());
    const go = (addresses: string[]): void => {
      if (this.state !== State.Connecting) return;
      const usable = addresses.filter((a) => this.destinationAllowed(host, a, port));
      if (usable.length === 0) {
        this.reqDecision = 'DENY';
        this.reqDetail = 'destination not allowed';
        this.closeAfter = true;
        return this.localError(403, `The proxy does not connect to ${host}:${port}.`);
      }
      this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamConnect;
      this.expiry = Expiry.UpstreamTimeout;
      this.up = Upstream.open(`t:${host}:${port}`, usable, port, null, {
        upstreamConnected: (up) => {
          if (this.state !== State.Connecting) return up.destroy();
          this.resStatus = 200;
          this.resStarted = true;
          this.writeClient(Buffer.from(`HTTP/1.${this.reqMinor} 200 Connection established\r\n\r\n`, 'latin1'));
          this.becomeTunnel(up, null);
        },
        upstreamData: () => undefined,
        upstreamDrain: () => undefined,
        upstreamEnd: () => undefined,
        upstreamClosed: (err) => this.upstreamClosed(err),
      }, host, this.ctx.settings.bind);
      this.countUpstream(this.up);
    };
    if (Array.isArray(found)) return go(found);
    found.then(go, (err: unknown) => {
      if (this.state !== State.Connecting) return;
      this.reqDecision = 'ERROR';
      this.reqDetail = err instanceof ResolveError ? err.code : 'dns';
      this.closeAfter = true;
      this.sendPage(503, 'dns.html', host);
    });
  }

  private becomeTunnel(up: Upstream, fromUpstream: Buffer | null): void {
    if (this.heldHead !== null) this.sendHeld(null);
    this.state = State.Tunnel;
    this.deadline = 0;
    this.expiry = Expiry.None;
    const client = this.socket;
    const upstream = up.socket;
    up.owner = null;
    upstream.removeAllListeners('data');
    upstream.removeAllListeners('drain');
    upstream.removeAllListeners('end');
    upstream.removeAllListeners('close');
    upstream.removeAllListeners('error');
    client.removeListener('data', onSocketData);
    client.removeListener('drain', onSocketDrain);
    client.removeListener('end', onSocketEnd);
    client.removeListener('close', onSocketClose);
    this.up = null;
    // Bytes that came with the head (both directions) must not be lost.
    if (fromUpstream && fromUpstream.length) client.write(fromUpstream);
    if (this.input !== null && this.inputPos < this.input.length) upstream.write(this.input.subarray(this.inputPos));
    this.input = null;
    if (this.clientEnded) upstream.end();
    if (this.paused) this.resumeClient();
    tunnel(client, upstream, this.ctx.settings.timeouts.tunnelIdle, (bytesUp, bytesDown) => {
      this.ctx.stats?.bytesToUpstream(bytesUp);
      this.ctx.stats?.bytesToClient(bytesDown);
      this.ctx.stats?.upstreamClosed();
      this.resBytes += bytesDown;
      this.logAccess();
      this.state = State.Closed;
      this.countClosed();
      this.onClosed?.(this);
    });
  }

  // ── local responses ──────────────────────────────────────────────────────────

  private pageVars(host: string): { url: string; host: string; client_ip: string; protocol: string } {
    return { url: this.reqUrl || host, host, client_ip: this.clientIp, protocol: 'http' };
  }

  private sendPage(status: number, name: string, host: string): void {
    const body = this.ctx.pages.page(name, this.pageVars(host)) ?? this.ctx.pages.error(status, name);
    this.sendLocal(status, body, 'text/html; charset=utf-8');
  }

  private localError(status: number, message: string): void {
    if (this.reqDecision === 'PERMIT') this.reqDecision = status === 403 ? 'DENY' : 'ERROR';
    this.sendLocal(status, this.ctx.pages.error(status, message), 'text/html; charset=utf-8');
  }

  private sendLocal(status: number, body: string, type: string, headers = ''): void {
    if (this.state === State.Closed) return;
    this.dropUpstream();
    if (this.resStarted) {
      // Part of another response is already out: the only safe signal is a broken connection.
      this.abort(this.reqDetail || `${status}`);
      return;
    }
    // Clients take any 2xx to CONNECT as an open tunnel: a page instead of one is a refusal.
    if (status < 300 && this.reqMethodId === Method.CONNECT) status = 403;
    this.resStatus = status;
    const close = this.closeAfter || !this.reqKeepAlive;
    this.closeAfter = close;
    const response = this.ctx.pages.response(status, body, {
      minor: this.reqMinor,
      close,
      type,
      headers,
      head: this.reqMethodId === Method.HEAD,
    });
    this.writeClient(response);
    this.finishLocal();
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────

  private writeClient(data: Buffer): boolean {
    this.resBytes += data.length;
    this.ctx.stats?.bytesToClient(data.length);
    return this.socket.write(data);
  }

  private pauseClient(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private resumeClient(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Pauses reading while too much unprocessed input waits. */
  private limitBuffered(): void {
    if (this.input !== null && this.input.length - this.inputPos > MAX_BUFFERED) this.pauseClient();
  }

  private methodText(): string {
    return this.reqMethodId === Method.OTHER ? this.reqMethod : methodName(this.reqMethodId);
  }

  private logAccess(): void {
    this.exchangeOpen = false;
    const ctx = this.ctx;
    ctx.stats?.responseSent(this.resStatus);
    // Requests no helper decided are counted by what happened to them.
    if (!this.reqCounted) ctx.stats?.decision(DECISION_KIND[this.reqDecision] ?? 'error', 0);
    if (!ctx.access) return;
    ctx.access({
      time: this.reqStarted,
      clientIp: this.clientIp,
      clientPort: this.clientPort,
      acceptPort: this.localPort,
      method: this.reqMethod || this.methodText(),
      url: this.reqUrl || this.upTarget,
      status: this.resStatus,
      bytes: this.resBytes,
      durationMs: Date.now() - this.reqStarted,
      decision: this.reqDecision,
      // ExaProxy's detail: the helper's verdict or the reason, else the host.
      detail: this.reqDetail || this.upTarget.slice(0, this.upTarget.lastIndexOf(':')),
      upstream: this.upTarget || '-',
    });
  }

  /**
   * Ends an exchange whose response is partly out with a reset: a FIN would end a
   * close-delimited body as if it were complete. The access log counts what left.
   */
  private abort(reason: string): void {
    if (this.state === State.Closed) return;
    this.reqDetail = reason;
    this.dropUpstream();
    if (this.exchangeOpen) {
      this.resBytes -= this.socket.writableLength;
      this.logAccess();
    }
    this.socket.resetAndDestroy();
  }

  /** Ends the connection after what was written has been sent. */
  close(): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.dropUpstream();
    this.socket.end();
    // A client that never reads its last response must not hold the socket forever.
    this.socket.setTimeout(10_000, () => this.socket.destroy());
  }

  /** Called by the server's sweeper with the current time. */
  expire(now: number): void {
    if (this.expiry === Expiry.None || now < this.deadline) return;
    const what = this.expiry;
    this.expiry = Expiry.None;
    if (what === Expiry.Silent) {
      this.close();
    } else if (what === Expiry.HeadTimeout) {
      // A head that started after an earlier exchange on this connection: that one is over.
      this.resetRequest();
      this.reqMinor = 1;
      this.reqMethod = '-';
      this.reqUrl = '-';
      this.reqStarted = now;
      this.closeAfter = true;
      this.localError(408, 'The request head was not received in time.');
    } else {
      this.reqDecision = 'ERROR';
      this.reqDetail = 'upstream timeout';
      this.closeAfter = true;
      this.dropUpstream();
      if (this.resStarted) this.abort('upstream timeout');
      else this.localError(504, `The server ${this.upTarget} did not answer in time.`);
    }
  }
}

/**
 * How long a new connection may stay silent: `http.idle-connect`, but never longer than
 * the header timeout, so connections that send nothing cannot hold slots cheaply.
 */
function firstByteTimeout(t: { idleConnect: number; header: number }): number {
  return Math.min(t.idleConnect, t.header);
}

function methodName(id: number): string {
  return METHOD_NAMES[id]!;
}

/** The absolute URL of a request, for logs and pages. */
function requestUrl(input: Buffer, table: Uint32Array, host: string, port: number, tls: boolean, form: number): string {
  if (form === Form.ABSOLUTE) return input.latin1Slice(table[Slot.TARGET_START]!, table[Slot.TARGET_END]!);
  if (form === Form.AUTHORITY) return `${host}:${port}`;
  const h = host.includes(':') ? `[${host}]` : host;
  const p = port === (tls ? 443 : 80) ? '' : `:${port}`;
  return `${tls ? 'https' : 'http'}://${h}${p}${input.latin1Slice(table[Slot.TARGET_START]!, table[Slot.TARGET_END]!)}`;
}

function statusOf(head: Buffer): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head.latin1Slice(0, Math.min(head.length, 16)));
  return m ? Number(m[1]) : 0;
}

/** An address from the PROXY table (big-endian words) as text. */
function formatAddress(table: Uint32Array, at: number, family: number): string {
  if (family === 4) {
    const w = table[at]!;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) {
    const w = table[at + i]!;
    groups.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
  }
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

const localRanges = new RangeList(LOCAL_DESTINATIONS);

let interfacesFailed = false;
/**
 * The addresses of this machine's interfaces, or null when they cannot be read: a
 * sandbox without AF_NETLINK (systemd's RestrictAddressFamilies) makes the call throw.
 */
function interfaceAddresses(): Set<string> | null {
  try {
    return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
  } catch (err) {
    if (!interfacesFailed) {
      interfacesFailed = true;
      process.emitWarning(`cannot list this machine's addresses (${(err as Error).message}): only loopback and link-local destinations are refused as local`);
    }
    return null;
  }
}

/** Loopback, unspecified, link-local (and mapped forms), and every address of this machine. */
function isLocalDestination(address: string, ownAddress: string): boolean {
  return address === ownAddress || localRanges.has(address) || ownAddresses().has(address);
}

let own: Set<string> | null = null;
let ownAt = 0;
/** This machine's interface addresses, re-read every 5 minutes (ExaProxy's poll-interfaces). */
function ownAddresses(): Set<string> {
  const now = Date.now();
  if (own === null || now - ownAt > 300_000) {
    own = interfaceAddresses() ?? own ?? new Set();
    ownAt = now;
  }
  return own;
}
