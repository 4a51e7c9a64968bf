/**
 * One client connection: its socket, its input, the PROXY header, keep-alive and
 * pipelining, and the phases of each request, in order:
 *
 *   read head → admit → [authenticate] → [external-acl] → decide → connect → forward → respond → log
 *
 * The connection reads the client socket and writes to both; what the upstream socket
 * says is read by the UpstreamLeg (connect, respond, the response body). Requests are
 * handled strictly one after another: the next head is parsed only when the previous
 * response is complete, so pipelined responses can never be reordered. Bytes that arrive
 * meanwhile wait in `input`; reading pauses when too many wait, or while the client does
 * not read its answers. Each request gets its own Exchange.
 */
import { ERROR_INFO, Method } from '../native/abi.generated';
import { Outcome } from '../log/outcome';
import { Exchange } from './exchange';
import { MAX_BUFFERED } from './buffers';
import { ClientSocket, Expiry, State } from './client-socket';
import { admit, forwardedClient } from './phases/admit';
import { authenticate } from './phases/authenticate';
import { checkExternalAcl } from './phases/external-acl';
import { refusal, renderAnswer, type LocalAnswer } from './phases/answer';
import { asksHelper, decideByHelper, directRoute, type Route } from './phases/decide';
import { viaParent } from './phases/connect-parent';
import { parseRequestHead, replacedTarget, rewriteRequestHead } from './phases/forward';
import { logExchange } from './phases/log';
import { originalDestination, type Destination } from './original-destination';
import { readRequestHead, type RequestHead } from './phases/read-head';
import { requestBodyStep } from './request-body';
import type { Upstream } from './upstream';
import { UpstreamLeg, type ClientSide } from './upstream-leg';

export class ClientConnection extends ClientSocket implements ClientSide {
  /** Parsing waits for 'drain': the client does not read its answers. */
  private awaitingDrain = false;
  /** readRequests is on the stack: nextRequest lets its loop go on instead of recursing. */
  private parsing = false;
  private ex: Exchange | null = null;
  private readonly leg = new UpstreamLeg(this);
  /** The original destination (http.transparent), once asked: undefined until then. */
  private original: Destination | null | undefined = undefined;

  // ── client socket events ──────────────────────────────────────────────────────

  onData(chunk: Buffer): void {
    this.ctx.stats?.bytesFromClient(chunk.length);
    this.input.append(chunk, this.state === State.Head);
    if (this.state === State.ProxyHeader) {
      if (this.readProxyHeader() && this.input.buf !== null) this.readRequests();
    } else if (this.state === State.Head) this.readRequests();
    else if (this.state === State.Forwarding && this.ex!.body.pending) this.pumpRequestBody();
    this.limitBuffered();
  }

  onDrain(): void {
    if (this.state === State.Forwarding) {
      this.responseProgress(); // the client reads: the exchange is not idle
      const ex = this.ex!;
      if (ex.respmod !== null) ex.respmod.clientDrained(); // RESPMOD decides what reads again
      else ex.up?.socket.resume();
    } else if (this.awaitingDrain) {
      this.awaitingDrain = false;
      if (this.state !== State.Head) return;
      this.resumeClient();
      if (this.input.buf !== null) this.readRequests();
    }
  }

  onEnd(): void {
    // The client will send nothing more; answer what it asked, then close.
    this.clientEnded = true;
    if (this.state === State.Head && this.input.pending === 0) this.close();
    else if (this.state === State.Head) this.readRequests();
    else if (this.state === State.Forwarding && this.ex!.body.pending) this.pumpRequestBody();
  }

  onClose(): void {
    if (this.state === State.Tunnel) return; // the tunnel accounts for itself
    const ex = this.ex;
    if (ex !== null && this.state !== State.Closed) {
      // The client went away in the middle of an exchange: it is logged with what it got.
      ex.detail ||= 'client closed';
      ex.bytes -= this.socket.writableLength; // what is still buffered never left
      // A body with the relay thread is counted when it reports (leg.drop below ends it).
      if (!this.leg.whenRelayed(ex, () => this.log(ex))) this.log(ex);
    }
    this.state = State.Closed;
    if (ex !== null) this.leg.drop(ex);
    this.countClosed();
    this.onClosed?.(this);
  }

  // ── requests ─────────────────────────────────────────────────────────────────

  /**
   * Parses and starts every complete request in the input, one at a time. While the
   * client does not read what it was answered (the socket's buffer is above its high
   * water mark) nothing more is parsed and reading pauses: a connection holds at most
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
    const input = this.input;
    while (this.state === State.Head && input.buf !== null) {
      if (this.socket.writableNeedDrain) {
        this.awaitingDrain = true;
        this.pauseClient();
        return;
      }
      const buf = input.buf;
      const n = input.worthParsing(this.ctx.settings.limits.head) ? parseRequestHead(this.ctx, buf, input.pos, table, this.clientIp) : 0;
      input.parsed(n !== 0);
      if (n === 0) {
        if (this.expiry !== Expiry.HeadTimeout) {
          // The first bytes of a head: from now on it must complete in time (slowloris).
          this.deadline = Date.now() + this.ctx.settings.timeouts.header;
          this.expiry = Expiry.HeadTimeout;
        }
        if (this.clientEnded) this.close();
        return;
      }
      if (n < 0) return this.rejectRequest(-n);
      input.consume(n); // the head still lives in `buf` for startRequest
      this.startRequest(buf, table);
    }
  }

  private newExchange(): Exchange {
    this.deadline = 0;
    this.expiry = Expiry.None;
    return (this.ex = new Exchange(Date.now()));
  }

  /** A head the parser refused: answer its status and close (the stream is out of sync). */
  private rejectRequest(code: number): void {
    const [name, status, meaning] = ERROR_INFO[code] ?? ['UNKNOWN', 400, 'malformed request'];
    this.ctx.log.debug({ client: this.clientIp, error: name }, 'request rejected');
    const ex = this.newExchange();
    ex.method = ex.url = '-';
    this.answer({ status, outcome: Outcome.Error, detail: name, close: true, message: `The request was refused: ${meaning}.` });
  }

  private startRequest(input: Buffer, table: Uint32Array): void {
    const ctx = this.ctx;
    const ex = this.newExchange();
    const head = readRequestHead(input, table, ex, ctx.access !== null, ctx.settings.transparent ? this.redirectedTo() : null);
    ctx.stats?.requestStarted(ex.methodId);
    this.clientIp = forwardedClient(head, ctx.settings, this.socketIp) ?? this.clientIp;
    const refused = admit(head, ex, ctx.settings, this.allowed);
    if (refused !== null) return this.answer(refused);
    if (ctx.auth === null && ctx.externalAcl === null) return this.decide(ex, head); // both off: this one check is all it costs
    this.state = State.Deciding; // while helpers check the login, then the external ACL
    const acl = ctx.externalAcl;
    const then = (next: (kept: RequestHead) => void) => (kept: RequestHead, no: LocalAnswer | null): void => {
      if (this.ex === ex && this.state === State.Deciding) return no === null ? next(kept) : this.answer(no); // else the client left
    };
    const decide = then((kept) => this.decide(ex, kept));
    const client = { ip: this.clientIp, port: this.clientPort, localIp: this.localIp, localPort: this.localPort };
    const checkAcl = acl === null ? decide : then((kept) => checkExternalAcl(acl, kept, ex, client, decide));
    if (ctx.auth === null) return checkAcl(head, null);
    authenticate(ctx.auth, head, ex, this.clientIp, checkAcl);
  }

  /** Where nftables/iptables redirected this connection from, asked once; none behind a PROXY front end (its socket). */
  private redirectedTo(): Destination | null {
    if (this.original === undefined) this.original = this.ctx.settings.proxied ? null : originalDestination(this.socket, this.localIp, this.localPort);
    return this.original;
  }

  private decide(ex: Exchange, head: RequestHead): void {
    if (!asksHelper(this.ctx, ex.methodId)) return this.follow(ex, head, directRoute(head, ex));
    this.state = State.Deciding;
    decideByHelper(this.ctx, head, ex, { ip: this.clientIp, localIp: this.localIp, localPort: this.localPort }, (route, kept) => {
      if (this.ex === ex && this.state === State.Deciding) this.follow(ex, kept, route); // else the client went away meanwhile
    });
  }

  private follow(ex: Exchange, head: RequestHead, route: Route): void {
    switch (route.kind) {
      case 'forward':
        return this.forward(ex, head.input, head.table, route.host, route.port, route.tls);
      case 'tunnel':
        this.state = State.Connecting;
        ex.url = `${route.host}:${route.port}`;
        ex.viaParent = viaParent(this.ctx, ex, route.host);
        return this.leg.connect(ex, route.host, route.port, 'tunnel');
      case 'replace': {
        const to = replacedTarget(this.ctx, route.head);
        if (!('host' in to)) return this.answer(to);
        return this.forward(ex, route.head, this.ctx.scratch.table, to.host, to.port, to.tls);
      }
      case 'answer':
        return this.answer(route.answer);
      case 'raw':
        ex.closeAfter = true;
        ex.status = route.status;
        this.writeClient(route.head, route.body.length ? route.body : undefined);
        return this.finishLocal(ex);
    }
  }

  /** Rewrites the head now, while the table describes it, and connects. */
  private forward(ex: Exchange, input: Buffer, table: Uint32Array, host: string, port: number, tls: boolean): void {
    ex.viaParent = viaParent(this.ctx, ex, host);
    const head = rewriteRequestHead(this.ctx, input, table, this.clientIp, ex.viaParent);
    if (!Buffer.isBuffer(head)) return this.answer(head);
    ex.upHead = head;
    this.state = State.Connecting;
    this.leg.connect(ex, host, port, tls ? 'tls' : 'plain');
  }

  // ── the request, upstream (ClientSide) ───────────────────────────────────────

  active(): Exchange | null {
    return this.state === State.Connecting || this.state === State.Forwarding ? this.ex : null;
  }

  connecting(): void {
    this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamConnect;
    this.expiry = Expiry.UpstreamTimeout;
  }

  sendRequest(ex: Exchange, up: Upstream): void {
    if (ex.methodId === Method.CONNECT) {
      ex.status = 200;
      ex.responded = true;
      this.writeClient(Buffer.from(`HTTP/1.${ex.minor} 200 Connection established\r\n\r\n`, 'latin1'));
      return this.tunnel(up, null);
    }
    this.state = State.Forwarding;
    this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamResponse;
    this.expiry = Expiry.UpstreamTimeout;
    // Corked only when body bytes may join the head's system call (a corked write is buffered).
    const body = ex.body.pending;
    if (body) up.socket.cork();
    this.ctx.stats?.bytesToUpstream(up.writeHead(ex.upHead!));
    if (!body) return;
    this.pumpRequestBody();
    up.socket.uncork();
  }

  /** Moves request-body bytes from the input to the upstream, through the framer. */
  private pumpRequestBody(): void {
    const ex = this.ex!;
    if (ex.up === null || this.state !== State.Forwarding) return;
    const step = requestBodyStep(ex, this.input, this.clientEnded);
    if (step.kind === 'broken') {
      this.ctx.log.debug({ client: this.clientIp, error: step.error }, 'invalid chunked request body');
      if (ex.responded) return this.abort('invalid chunked request body');
      this.leg.drop(ex);
      return this.answer(refusal(400, 'The request body has invalid chunked framing.', step.error, true));
    }
    if (step.kind === 'cut') {
      // The client half-closed before its body was complete: it never will be.
      this.leg.drop(ex);
      if (ex.responded) return this.abort('request body incomplete');
      return this.answer(refusal(400, 'The request body ended before it was complete.', 'request body incomplete', true));
    }
    if (step.bytes !== null) {
      this.ctx.stats?.bytesToUpstream(step.bytes.length);
      if (!ex.up!.socket.write(step.bytes)) this.pauseClient();
    }
    // Progress; once the whole request has gone, the upstream has this long to answer.
    if (step.bytes !== null || !ex.body.pending) this.responseProgress();
  }

  upstreamDrained(): void {
    if (this.state !== State.Forwarding) return;
    this.responseProgress(); // the upload moves
    if (this.paused) this.resumeClient();
  }

  responseProgress(): void {
    this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamResponse;
  }

  /** A response is complete: log it, pool the upstream, and go on with the next request. */
  responseDone(): void {
    const ex = this.ex!;
    if (ex.heldHead !== null) this.leg.sendHeld(ex, null); // before anything of the next request
    ex.upHead = null; // no retry any more; do not pin its output slab
    const up = ex.up;
    ex.up = null;
    const now = Date.now(); // one clock read for the pool and the next deadline
    if (up) {
      if (ex.reusable && !ex.body.pending && !up.ended) {
        up.socket.resume();
        this.ctx.upstreams.release(up, now);
      } else {
        up.owner = null;
        up.destroy();
      }
    }
    this.log(ex);
    this.nextRequest(ex.responseKeepAlive, now, this.saidLast(ex));
  }

  /** 2xx to CONNECT or 101: from now on, bytes both ways. */
  tunnel(up: Upstream, fromUpstream: Buffer | null): void {
    const ex = this.ex!;
    if (ex.heldHead !== null) this.leg.sendHeld(ex, null);
    this.startTunnel(ex, up, fromUpstream, () => this.log(ex));
  }

  // ── answers, keep-alive ──────────────────────────────────────────────────────

  /** Answers the current exchange locally, then goes on if the framing allows. */
  answer(a: LocalAnswer): void {
    const ex = this.ex;
    if (this.state === State.Closed || ex === null) return;
    this.leg.drop(ex);
    if (ex.outcome === Outcome.Permit) ex.outcome = a.outcome;
    if (a.detail !== undefined) ex.detail = a.detail;
    // A body not read would be taken for the next request.
    ex.closeAfter ||= a.close === true || ex.body.pending;
    if (ex.responded) return this.abort(ex.detail || `${a.status}`); // part of another response is out
    this.writeClient(renderAnswer(this.ctx, ex, a, this.clientIp, ex.host));
    this.finishLocal(ex);
  }

  private finishLocal(ex: Exchange): void {
    ex.upHead = null;
    this.leg.drop(ex);
    this.log(ex);
    this.nextRequest(ex.keepAlive && !ex.closeAfter, Date.now(), false);
  }

  /** `lastRequest`: the client said the exchange was its last (see ClientSocket.saidLast). */
  private nextRequest(keepAlive: boolean, now: number, lastRequest: boolean): void {
    if (!keepAlive || (this.clientEnded && this.input.pending === 0)) return this.close(lastRequest);
    this.state = State.Head;
    this.deadline = now + this.ctx.settings.timeouts.keepAlive;
    this.expiry = Expiry.Silent;
    // Reading goes on only while what waits unparsed is under the bound.
    if (this.paused && this.input.pending <= MAX_BUFFERED) this.resumeClient();
    if (this.input.buf !== null) this.readRequests();
  }

  private log(ex: Exchange): void {
    if (this.ex !== ex) return;
    this.ex = null;
    logExchange(this.ctx, ex, this);
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────

  writeClient(data: Buffer, more?: Buffer): boolean {
    if (this.ex !== null) this.ex.bytes += data.length + (more?.length ?? 0);
    return this.write(data, more);
  }

  /**
   * Ends an exchange whose response is partly out with a reset: a FIN would end a
   * close-delimited body as if it were complete. The access log counts what left.
   */
  abort(reason: string): void {
    if (this.state === State.Closed) return;
    const ex = this.ex;
    if (ex !== null) {
      ex.detail = reason;
      ex.bytes -= this.socket.writableLength; // what is still buffered never left
      this.leg.drop(ex);
      this.log(ex);
    }
    this.state = State.Closed;
    this.socket.resetAndDestroy();
  }

  /** Ends the connection after what was written has been sent (`closeWhenSent`: see ClientSocket.saidLast). */
  close(closeWhenSent = false): void {
    if (this.state === State.Closed) return;
    if (this.ex !== null) this.leg.drop(this.ex);
    this.endSocket(closeWhenSent);
  }

  protected expired(what: Expiry): void {
    if (what === Expiry.Silent) return this.close();
    if (what === Expiry.HeadTimeout) {
      const ex = this.newExchange();
      ex.method = ex.url = '-';
      return this.answer({ status: 408, outcome: Outcome.Error, close: true, message: 'The request head was not received in time.' });
    }
    const ex = this.ex!;
    if (ex.responded) return this.abort('upstream timeout');
    this.answer({ status: 504, outcome: Outcome.Error, detail: 'upstream timeout', close: true, message: `The server ${ex.target} did not answer in time.` });
  }
}

