/**
 * One connection of the ICAP listener: an ICAP client (Squid, c-icap-client, a gateway)
 * sends OPTIONS and REQMOD messages, one after the other or pipelined, and each is
 * answered in order before the next is read. A REQMOD is another entry point into the
 * proxy's phases:
 *
 *   PROXY header → ICAP message (Rust: parseIcapRequest) → admit → decide (any helper
 *   dialect, icap/verdict.ts) → ICAP answer (icap/respond.ts) → the body → log
 *
 * Every byte of a message is read before the next message is: a body the answer does not
 * need is scanned (Rust: scanChunked) and dropped, one it needs is relayed as it arrives.
 * A malformed message gets ICAP 400 and the connection is closed, since where the next
 * message would start is no longer known.
 */
import { isIP } from 'node:net';
import { rfc1738Escape } from '../auth/escape';
import { Outcome } from '../log/outcome';
import { ICAP_REQUEST } from '../monitor/stats';
import { Chunk, ERROR_INFO, Icap, IcapFlag, IcapMethod } from '../native/abi.generated';
import { native } from '../native/addon';
import { ClientSocket, Expiry, State } from '../proxy/client-socket';
import type { ProxyContext } from '../proxy/context';
import { Exchange } from '../proxy/exchange';
import { logExchange } from '../proxy/phases/log';
import { readRequestHead } from '../proxy/phases/read-head';
import { continueResponse, icapError, modifiedRequest, noContent, optionsResponse, servedResponse, type IcapService } from './respond';
import { decideIcap, type IcapReply } from './verdict';

const { parseIcapRequest, scanChunked } = native;

/** The proxy's context, with the ICAP listener's service description and head limit. */
export interface IcapContext extends ProxyContext {
  icap: { service: IcapService; headLimit: number; idleConnect: number };
}

/** What happens to the body bytes of the message being answered. */
const enum Body {
  None,
  /** Scanned and dropped (the answer did not need them). */
  Drop,
  /** Relayed to the client as they are (the answer echoes the body). */
  Relay,
  /** A preview, kept until it ends: then 100 Continue and the rest relayed, or all there (ieof). */
  Preview,
}

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

export class IcapConnection extends ClientSocket {
  declare readonly ctx: IcapContext;
  private readonly table = new Uint32Array(Icap.SIZE);
  private readonly chunk = new Uint32Array(Chunk.SIZE);
  private ex: Exchange | null = null;
  /** The end client's address (X-Client-IP) for the access log, else the ICAP client's. */
  private logIp = '';
  private body = Body.None;
  private hasBody = false;
  private previewing = false;
  private closeAfter = false;
  /** The socket's buffer is full: read nothing more until it drains. */
  private blocked = false;
  private preview: Buffer[] = [];
  /** A 200 waiting for the end of the preview. */
  private held: Buffer | null = null;

  constructor(socket: ConstructorParameters<typeof ClientSocket>[0], ctx: IcapContext) {
    super(socket, ctx);
    this.table[Icap.LIMIT_HEAD] = ctx.icap.headLimit;
  }

  /** `icap.idle-connect`: an ICAP client opens its connections ahead of need (Squid keeps a pool). */
  protected override firstByteTimeout(): number {
    return this.ctx.icap.idleConnect;
  }

  onData(chunk: Buffer): void {
    this.ctx.stats?.bytesFromClient(chunk.length);
    if (this.state === State.Closed) return;
    this.input.append(chunk, this.state === State.Head || this.state === State.ProxyHeader);
    if (this.state === State.ProxyHeader && (!this.readProxyHeader() || this.input.buf === null)) return;
    this.pump();
  }

  onDrain(): void {
    this.blocked = false;
    this.pump();
  }

  onEnd(): void {
    this.clientEnded = true;
    if (this.state === State.Head && this.input.pending === 0) this.close();
    else if (this.state === State.Head) this.fail(400, 'ICAP message incomplete');
    else this.pump(); // what was sent is answered; a body cut short closes the connection
  }

  onClose(): void {
    if (this.ex !== null) {
      this.ex.detail ||= 'client closed';
      this.log();
    }
    this.state = State.Closed;
    this.countClosed();
    this.onClosed?.(this);
  }

  protected expired(what: Expiry): void {
    if (what === Expiry.HeadTimeout) this.fail(408, `ICAP message ${this.state === State.Forwarding ? 'body stalled' : 'not received in time'} (http.header-timeout)`);
    else this.close();
  }

  // ── reading ──────────────────────────────────────────────────────────────────

  /** Reads what can be read now: message heads, then their bodies, in order. */
  private pump(): void {
    while (this.state !== State.Closed && !this.blocked && this.input.buf !== null) {
      if (this.state === State.Forwarding) {
        if (!this.takeBody()) return;
      } else if (this.state !== State.Head || !this.readMessage()) {
        break;
      }
    }
    if (this.state === State.Deciding) return this.limitBuffered();
    if (this.state === State.Forwarding && this.input.pending === 0) {
      if (this.clientEnded) {
        this.ex!.detail ||= 'client closed before the end of the body';
        this.log();
        return this.close();
      }
      // A body that stops arriving: the same bound as a head that does.
      this.deadline = Date.now() + this.ctx.settings.timeouts.header;
      this.expiry = Expiry.HeadTimeout;
    }
    if (!this.blocked && this.state !== State.Closed) this.resumeClient();
  }

  private readMessage(): boolean {
    const input = this.input;
    if (!input.worthParsing(this.ctx.icap.headLimit)) return false;
    const n = parseIcapRequest(input.buf!, input.pos, this.table, this.ctx.scratch.table);
    input.parsed(n !== 0);
    if (n === 0) {
      if (this.expiry !== Expiry.HeadTimeout) {
        this.deadline = Date.now() + this.ctx.settings.timeouts.header;
        this.expiry = Expiry.HeadTimeout;
      }
      return false;
    }
    if (n < 0) {
      const [name, , meaning] = ERROR_INFO[-n] ?? ['ICAP', 400, 'invalid ICAP message'];
      this.fail(this.table[Icap.ERROR_STATUS] || 400, `invalid ICAP message: ${meaning} (${name})`);
      return false;
    }
    this.start(input.buf!, n);
    return true;
  }

  private start(buf: Buffer, n: number): void {
    const t = this.table;
    const flags = t[Icap.FLAGS]!;
    this.input.consume(n);
    this.expiry = Expiry.None;
    this.closeAfter = (flags & IcapFlag.CONNECTION_CLOSE) !== 0;
    this.hasBody = (flags & IcapFlag.BODY) !== 0;
    this.previewing = this.hasBody && (flags & IcapFlag.PREVIEW) !== 0;
    this.chunk.fill(0);
    const ex = this.newExchange();
    this.logIp = this.clientIp;
    const uri = buf.latin1Slice(t[Icap.URI_START]!, t[Icap.URI_END]!);
    const method = t[Icap.METHOD]!;
    if (!this.allowed) {
      ex.url = uri;
      ex.outcome = Outcome.Deny;
      return this.fail(403, 'ICAP client not allowed (security.clients)');
    }
    if (method === IcapMethod.REQMOD) return this.reqmod(buf, ex, uri);
    ex.method = method === IcapMethod.OPTIONS ? 'OPTIONS' : 'RESPMOD';
    ex.url = uri;
    if (method === IcapMethod.OPTIONS) {
      ex.outcome = Outcome.Local;
      ex.status = 200;
      this.send(optionsResponse(this.ctx.icap.service, this.ctx.pages.date()));
    } else {
      // This service modifies requests only (its OPTIONS say Methods: REQMOD).
      ex.outcome = Outcome.Error;
      ex.status = 405;
      ex.detail = 'RESPMOD not offered';
      this.send(icapError(this.ctx.icap.service, 405, false));
    }
    this.bodyThen(Body.Drop);
  }

  private reqmod(buf: Buffer, ex: Exchange, uri: string): void {
    const t = this.table;
    const span = (start: number): string => buf.latin1Slice(t[start]!, t[start + 1]!);
    const head = readRequestHead(buf, this.ctx.scratch.table, ex, true);
    const claimed = span(Icap.CLIENT_IP_START);
    const ip = isIP(claimed) !== 0 ? claimed : this.clientIp;
    this.logIp = ip;
    const user = span(Icap.USER_START);
    ex.user = user === '' ? '' : rfc1738Escape(Buffer.from(user, 'latin1'));
    const groups = span(Icap.GROUPS_START);
    const allow204 = (t[Icap.FLAGS]! & IcapFlag.ALLOW_204) !== 0;
    // As ExaProxy: the customer is what follows the last comma of the ICAP URI.
    const customer = uri.includes(',') ? uri.slice(uri.lastIndexOf(',') + 1) : 'default';
    const icapHeaders = (claimed === '' ? '' : `X-Client-IP: ${claimed}\n`) + (groups === '' ? '' : `X-Authenticated-Groups: ${groups}\n`)
      + `X-Customer-Name: ${customer}\n` + (allow204 ? 'Allow: 204\n' : '');
    const original = buf.subarray(t[Icap.REQ_HDR_START]!, t[Icap.REQ_HDR_END]!);
    this.state = State.Deciding;
    let sync = true;
    decideIcap(this.ctx, head, ex, { ip, localIp: this.localIp, localPort: this.localPort, icapHeaders }, (reply) => {
      if (this.ex !== ex || this.state !== State.Deciding) return; // the client went away meanwhile
      this.answer(ex, reply, original, allow204);
      if (!sync) this.pump();
    });
    sync = false;
  }

  /** Writes the answer to a REQMOD and says what becomes of its body. */
  private answer(ex: Exchange, reply: IcapReply, original: Buffer, allow204: boolean): void {
    const service = this.ctx.icap.service;
    if (reply.kind === 'response') {
      ex.responded = true;
      this.send(servedResponse(service, reply.head, reply.body));
      return this.bodyThen(Body.Drop);
    }
    // 204 needs Allow: 204, except in answer to a preview (RFC 3507 §4.6).
    if (reply.kind === 'permit' && (allow204 || this.previewing)) {
      ex.status = 204;
      this.send(noContent(service));
      return this.bodyThen(Body.Drop);
    }
    const request = reply.kind === 'permit' ? original : reply.head;
    if (reply.kind === 'permit') ex.status = 200;
    const message = modifiedRequest(service, request, this.hasBody);
    if (this.previewing) {
      this.held = message;
      return this.bodyThen(Body.Preview);
    }
    this.send(message);
    this.bodyThen(Body.Relay);
  }

  private bodyThen(body: Body): void {
    if (!this.hasBody) return this.done();
    this.body = body;
    this.state = State.Forwarding;
  }

  /** Takes the body bytes that are there; false when reading must wait (the socket is full). */
  private takeBody(): boolean {
    this.expiry = Expiry.None;
    const { buf, pos } = this.input;
    const n = scanChunked(buf!, pos, buf!.length, this.chunk);
    if (n < 0) {
      this.fail(400, `invalid ICAP body: ${ERROR_INFO[-n]?.[2] ?? 'bad chunk'}`);
      return false;
    }
    const piece = buf!.subarray(pos, pos + n);
    this.input.consume(n);
    if (this.body === Body.Relay) this.send(piece);
    else if (this.body === Body.Preview) this.preview.push(Buffer.from(piece));
    if (this.chunk[Chunk.PHASE] === Chunk.PHASE_DONE) this.bodyEnded();
    return !this.blocked;
  }

  private bodyEnded(): void {
    if (this.body !== Body.Preview) return this.done();
    const preview = splitPreview(Buffer.concat(this.preview));
    this.preview = [];
    const message = this.held!;
    this.held = null;
    if (preview === null) return this.fail(400, 'invalid ICAP preview: trailers or extensions after its last chunk');
    if (preview.complete) {
      this.send(Buffer.concat([message, preview.data, LAST_CHUNK]));
      return this.done();
    }
    // The rest of the body follows the 100 Continue, as a chunked body of its own, ending the message.
    this.send(Buffer.concat([continueResponse(), message, preview.data]));
    this.chunk.fill(0);
    this.body = Body.Relay;
  }

  /** The message is answered and all of it read: log it, then the next one (or close). */
  private done(): void {
    this.body = Body.None;
    this.log();
    if (this.closeAfter || (this.clientEnded && this.input.pending === 0)) return this.close();
    this.state = State.Head;
    this.deadline = Date.now() + this.ctx.settings.timeouts.keepAlive;
    this.expiry = this.ctx.settings.timeouts.keepAlive > 0 ? Expiry.Silent : Expiry.None;
  }

  // ── writing, logging, closing ────────────────────────────────────────────────

  private newExchange(): Exchange {
    const ex = (this.ex = new Exchange(Date.now()));
    ex.keepAlive = true;
    this.ctx.stats?.requestStarted(ICAP_REQUEST);
    return ex;
  }

  private send(data: Buffer): void {
    if (this.ex !== null) this.ex.bytes += data.length;
    if (!this.write(data)) {
      this.blocked = true;
      this.pauseClient();
    }
  }

  /** ICAP error `status`, logged with `reason`, and the connection closed. */
  private fail(status: number, reason: string): void {
    if (this.state === State.Closed) return;
    const ex = this.ex ?? this.newExchange();
    if (ex.method === '' && ex.methodId === 0) ex.method = 'ICAP';
    if (ex.url === '') ex.url = '-';
    ex.status = status;
    if (ex.outcome === Outcome.Permit) ex.outcome = Outcome.Error;
    ex.detail = reason;
    this.ctx.log.debug({ client: this.clientIp, reason }, 'ICAP connection closed');
    this.send(icapError(this.ctx.icap.service, status, true));
    this.log();
    this.close();
  }

  private log(): void {
    const ex = this.ex;
    if (ex === null) return;
    this.ex = null;
    logExchange(this.ctx, ex, { id: this.id, clientIp: this.logIp || this.clientIp, clientPort: this.clientPort, localPort: this.localPort });
  }

  private close(): void {
    if (this.state === State.Closed) return;
    this.input.clear();
    this.endSocket();
  }
}

/**
 * The data of a preview, without its last chunk (`0` CRLF CRLF, or `0; ieof` CRLF CRLF
 * when the whole body fit in it). ICAP previews carry no trailers: anything else after
 * the last chunk's size is refused (null).
 */
export function splitPreview(raw: Buffer): { data: Buffer; complete: boolean } | null {
  const lineEnd = raw.length - 4;
  const before = lineEnd > 0 ? raw.lastIndexOf('\r\n', lineEnd - 1) : -1;
  const start = before === -1 ? 0 : before + 2;
  const m = /^0+[ \t]*(?:;[ \t]*(ieof)[ \t]*)?$/i.exec(raw.latin1Slice(start, Math.max(start, lineEnd)));
  return m === null ? null : { data: raw.subarray(0, start), complete: m[1] !== undefined };
}
