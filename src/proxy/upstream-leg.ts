/**
 * The upstream leg of a client connection: connects an exchange to its server (the
 * connect phase), then reads what the server sends — the response head through the
 * respond phase, the body through the exchange's framer — and relays it to the client.
 * Whatever reads the upstream socket lives here; the client socket is the connection's.
 */
import { isIP, type Socket } from 'node:net';
import { ERROR_INFO } from '../native/abi.generated';
import { Outcome } from '../log/outcome';
import type { ProxyContext } from './context';
import { Framing } from './body-framer';
import type { Exchange } from './exchange';
import { mayRelayBody, relayBody, type BodyHandover } from './native-body';
import { RelayEnd } from './native-tunnel';
import { refusal, type LocalAnswer } from './phases/answer';
import { mayRetry, openUpstream, resolveDestination, targetName, upstreamKey, type Resolved } from './phases/connect';
import { connectHead, NO_PARENT, parentRefuses, readParentAnswer } from './phases/connect-parent';
import { readResponseHead } from './phases/respond';
import { startRespmod } from './respmod';
import type { Upstream, UpstreamOwner } from './upstream';

/** What the leg needs of the connection it serves. */
export interface ClientSide {
  readonly ctx: ProxyContext;
  /** The client's socket, which the response is written to. */
  readonly socket: Socket;
  /** The client's address (as the access log has it). */
  readonly clientIp: string;
  /** The proxy's own address on the client's connection (refused as a destination). */
  readonly ownIp: string;
  /** The exchange the leg works for, while it is connecting or forwarding; else null. */
  active(): Exchange | null;
  /** The upstream is ready for the request: write its head and what body is here. */
  sendRequest(ex: Exchange, up: Upstream): void;
  /** Waiting for the upstream to connect (the connect timeout applies). */
  connecting(): void;
  /** The upstream took what was written: the upload moves on. */
  upstreamDrained(): void;
  /** The response is moving (the response timeout restarts). */
  responseProgress(): void;
  /** The relay thread has the body: its own idle limit watches it, not the response timeout. */
  relayStarted(): void;
  /** Writes to the client (two buffers in one system call); false when it should pause. */
  writeClient(data: Buffer, more?: Buffer): boolean;
  answer(a: LocalAnswer): void;
  /** The response is complete. */
  responseDone(): void;
  /** Ends the exchange with a broken connection (part of the response is out). */
  abort(reason: string): void;
  /** 2xx to CONNECT or 101: bytes both ways from now on. */
  tunnel(up: Upstream, fromUpstream: Buffer | null): void;
}

export class UpstreamLeg implements UpstreamOwner {
  readonly writesTo: Socket;
  /** The exchange whose body the relay thread is moving, and what waits for its report. */
  private relaying: Exchange | null = null;
  private onRelayed: (() => void) | null = null;

  constructor(private readonly client: ClientSide) {
    this.writesTo = client.socket;
  }

  /** Connects `ex` to host:port — a pooled connection when there is one — then sends. */
  connect(ex: Exchange, host: string, port: number, kind: 'plain' | 'tls' | 'tunnel', fresh = false): void {
    ex.target = targetName(host, port);
    ex.port = port;
    if (ex.viaParent) return this.connectParent(ex, host, port, kind === 'tunnel', fresh);
    ex.tls = kind === 'tls' ? { servername: isIP(host) ? '' : host } : null;
    const key = upstreamKey(ex.target, kind);
    const pooled = kind === 'tunnel' || fresh ? undefined : this.client.ctx.upstreams.acquire(key);
    if (pooled) return this.reuse(ex, pooled);
    const resolved = resolveDestination(this.client.ctx, ex, host, port, this.client.ownIp);
    const tunnel = kind === 'tunnel';
    if (!(resolved instanceof Promise)) return this.open(ex, key, host, port, resolved, tunnel);
    resolved.then((r) => {
      if (this.client.active() === ex) this.open(ex, key, host, port, r, tunnel);
    }, () => undefined);
  }

  /**
   * Through the next parent up (parent.*): a pooled connection to it or a new one; a tunnel
   * asks it with CONNECT once connected. The parent resolves the destination itself.
   */
  private connectParent(ex: Exchange, host: string, port: number, tunnel: boolean, fresh: boolean): void {
    const ctx = this.client.ctx;
    const refused = parentRefuses(ctx, host, port, this.client.ownIp, tunnel);
    if (refused !== null) return this.client.answer(refused);
    const parent = ctx.parents!.pick(Date.now(), ex.tag);
    // Each failed parent is tried once per request at most, however short parent.retry is.
    if (parent === null || ex.parentTries++ > ctx.parents!.list.length) return this.client.answer(NO_PARENT);
    ex.parent = parent;
    ex.parentConnect = tunnel;
    ex.tls = null;
    const key = `p:${parent.name}`;
    const pooled = tunnel || fresh ? undefined : ctx.upstreams.acquire(key);
    if (pooled) return this.reuse(ex, pooled);
    const opened = (addresses: Resolved): void => {
      if (this.client.active() !== ex) return;
      this.open(ex, key, parent.host, parent.port, addresses, tunnel);
      const up = ex.up;
      if (up === null) return;
      up.authorization = parent.authorization;
      // A parent that does not answer is given up in time for the next one to be tried.
      up.socket.setTimeout(ctx.parents!.connectTimeoutMs, () => {
        if (!up.connected) up.socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
      });
    };
    const resolved = ctx.resolver.resolve(parent.host, Date.now());
    if (!(resolved instanceof Promise)) return opened(resolved);
    resolved.then(opened, (error: unknown) => {
      if (this.client.active() !== ex) return;
      ctx.parents!.failed(parent, Date.now(), `its name does not resolve: ${String(error)}`);
      this.connect(ex, host, port, tunnel ? 'tunnel' : 'plain', true);
    });
  }

  private reuse(ex: Exchange, pooled: Upstream): void {
    pooled.owner = this;
    ex.up = pooled;
    ex.received = false;
    this.client.sendRequest(ex, pooled);
  }

  /** A new connection; a tunnel's socket goes to a relay as it is, so it keeps Node's own reads. */
  private open(ex: Exchange, key: string, host: string, port: number, resolved: Resolved, tunnel: boolean): void {
    if (!Array.isArray(resolved)) return this.client.answer(resolved as LocalAnswer);
    this.client.connecting();
    ex.up = openUpstream(this.client.ctx, key, resolved, port, ex.tls, this, host, !tunnel);
    ex.received = false;
  }

  // ── upstream socket events (UpstreamOwner) ─────────────────────────────────────

  upstreamConnected(up: Upstream): void {
    const ex = this.client.active();
    if (ex === null || ex.up !== up) return up.destroy();
    if (ex.parent !== null) {
      up.socket.setTimeout(0);
      this.client.ctx.parents!.connected(ex.parent);
      if (ex.parentConnect) return void up.socket.write(connectHead(ex.targetHost, ex.port, ex.parent));
    }
    this.client.sendRequest(ex, up);
  }

  /** The parent's answer to a tunnel's CONNECT: open, the tunnel goes on as if connected directly. */
  private parentAnswered(ex: Exchange, chunk: Buffer): void {
    const buf = ex.partialHead === null ? chunk : Buffer.concat([ex.partialHead, chunk]);
    const step = readParentAnswer(this.client.ctx, ex, ex.parent!, buf);
    if (step.kind === 'more') return;
    if (step.kind === 'refused') {
      this.drop(ex);
      return this.client.answer(step.answer);
    }
    ex.parentConnect = false;
    ex.received = false;
    const up = ex.up!;
    if (step.rest.length > 0) {
      // The destination spoke first: its bytes go back to the socket, for the tunnel to relay.
      up.socket.pause();
      up.socket.unshift(step.rest);
    }
    this.client.sendRequest(ex, up);
  }

  upstreamData(chunk: Buffer): void {
    const ctx = this.client.ctx;
    ctx.stats?.bytesFromUpstream(chunk.length);
    const ex = this.client.active();
    if (ex === null) return; // it let go of its upstream already
    if (ex.parentConnect) return this.parentAnswered(ex, chunk);
    ex.received = true;
    if (ex.responseBody.pending || ex.responded) {
      this.client.responseProgress();
      return this.relay(ex, chunk, 0);
    }
    // Until the final head, bytes are no progress: a server sending 102 Processing (or a
    // head one byte at a time) for ever would hold the client past the response timeout.
    const up = ex.up!;
    // A head in parts is joined in a new buffer; the socket's read buffer is reused (up.keep).
    const joined = ex.partialHead !== null;
    let buf = joined ? Buffer.concat([ex.partialHead!, chunk]) : chunk;
    for (;;) {
      const step = readResponseHead(ctx, ex, buf);
      switch (step.kind) {
        case 'more':
          if (!joined) ex.partialHead = up.keep(buf);
          return;
        case 'refused':
          this.drop(ex);
          return this.client.answer(step.answer);
        case 'interim':
          if (step.head !== null) this.client.writeClient(step.head);
          if (step.rest.length === 0) return;
          buf = step.rest;
          continue;
        case 'final':
          this.client.responseProgress();
          ex.heldHead = step.head;
          if (step.tunnel) return this.client.tunnel(up, joined ? step.rest : up.keep(step.rest));
          if (!ex.responseBody.pending) {
            if (step.rest.length > 0) ex.reusable = false; // bytes after a bodyless response: do not trust this connection
            return this.client.responseDone();
          }
          // ── RESPMOD (redirector.respmod): the ICAP service may take the body first (respmod.ts).
          if (ctx.respmod !== null && startRespmod(this.client, ex) === 'answered') return;
          if (ex.respmod === null && this.relayBodyNatively(ex, up, step.rest)) return;
          if (step.rest.length > 0) this.relay(ex, step.rest, 0);
          // A head whose body did not come with it leaves now.
          else if (ex.respmod === null) this.sendHeld(ex, null);
          return;
      }
    }
  }

  /** The next read of `up` is body bytes: it gets a read buffer of its own (read-buffers.ts). */
  readsBody(up: Upstream): boolean {
    const ex = this.client.active();
    return ex !== null && ex.up === up && ex.responded && ex.responseBody.pending;
  }

  upstreamDrain(): void {
    this.client.upstreamDrained();
  }

  upstreamEnd(): void {
    const ex = this.client.active();
    if (ex !== null && ex.responseBody.closed()) {
      // A close-delimited body ends here, complete.
      ex.reusable = false;
      ex.responseKeepAlive = false;
      return ex.respmod !== null ? ex.respmod.upstreamDone() : this.client.responseDone();
    }
    ex?.up?.destroy();
  }

  upstreamClosed(error: Error | undefined): void {
    const ex = this.client.active();
    if (ex === null) return;
    const up = ex.up;
    ex.up = null;
    if (!ex.responded) {
      // Nothing of a response yet.
      if (ex.parent !== null && up !== null && !up.connected) {
        // The parent could not be connected to: the next one up takes the request.
        this.client.ctx.parents!.failed(ex.parent, Date.now(), (error as NodeJS.ErrnoException | undefined)?.code ?? 'closed');
        return this.connect(ex, ex.targetHost, ex.port, ex.parentConnect ? 'tunnel' : 'plain', true);
      }
      if (ex.upHead !== null && mayRetry(ex, up)) {
        ex.retried = true;
        return this.connect(ex, ex.targetHost, ex.port, ex.tls ? 'tls' : 'plain', true);
      }
      const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'closed';
      return this.client.answer({ status: 502, outcome: Outcome.Error, detail: code, close: true, page: 'noconnect.html', pageHost: ex.targetHost });
    }
    // The response was cut short (a clean end of a close-delimited body came through
    // upstreamEnd): the client must see a broken connection, not a short message.
    this.client.abort((error as NodeJS.ErrnoException | undefined)?.code ?? 'upstream closed mid-response');
  }

  // ── the response body ──────────────────────────────────────────────────────────

  private relay(ex: Exchange, buf: Buffer, start: number): void {
    if (!ex.responseBody.pending) {
      // Bytes after a complete response: the upstream is out of sync.
      ex.reusable = false;
      return this.drop(ex);
    }
    const stage = ex.respmod;
    const n = ex.responseBody.take(buf, start, buf.length);
    if (n < 0) {
      const name = ERROR_INFO[-n]?.[0] ?? 'chunked';
      this.client.ctx.log.warn({ upstream: ex.target, error: name }, 'invalid chunked response');
      this.drop(ex);
      if (ex.heldHead === null && (stage === null || ex.responded)) return this.client.abort(name);
      // Nothing of this response has left yet: the client can get a clean 502.
      ex.heldHead = null;
      ex.responded = false;
      return this.client.answer(refusal(502, `The server ${ex.target} sent a response with broken chunked framing.`, name, true));
    }
    if (n > 0 || ex.heldHead !== null) {
      const body = n === 0 ? null : start === 0 && n === buf.length ? buf : buf.subarray(start, start + n);
      // The RESPMOD stage holds and queues what it is given (the preview, pieces waiting for
      // 100 Continue): a recycled read buffer is copied first.
      const more = stage !== null ? stage.body(ex.up!.keep(body!)) : ex.heldHead !== null ? this.sendHeld(ex, body) : this.client.writeClient(ex.up!.writable(body!));
      if (!more) ex.up?.socket.pause();
    }
    if (!ex.responseBody.pending) {
      if (start + n < buf.length) ex.reusable = false;
      // A RESPMOD stage that ended the exchange itself (its answer, a page) is not told.
      if (stage === null) this.client.responseDone();
      else if (ex.respmod === stage) stage.upstreamDone();
    }
  }

  /**
   * A long Content-Length body goes to the addon's relay thread with the held head and
   * `rest`, the body bytes read with it (native-body.ts); false: it is relayed here.
   */
  private relayBodyNatively(ex: Exchange, up: Upstream, rest: Buffer): boolean {
    const body = ex.responseBody;
    // An upload still going on keeps the exchange in Node's hands; TLS has no descriptor to relay.
    if (body.framing !== Framing.Length || rest.length >= body.left || ex.tls !== null || ex.body.pending) return false;
    const settings = this.client.ctx.settings;
    const h: BodyHandover = { client: this.client.socket, upstream: up.socket, first: ex.heldHead!, length: body.left - rest.length, idleMs: settings.timeouts.upstreamResponse, relay: settings.bodyRelay };
    if (!mayRelayBody(h)) return false;
    if (rest.length > 0) {
      h.first = Buffer.concat([h.first, rest]); // `rest` may lie in the shared read buffer
      body.take(rest, 0, rest.length);
    }
    ex.heldHead = null;
    relayBody(h, {
      started: () => {
        this.relaying = ex;
        ex.bytes += h.first.length;
        this.client.ctx.stats?.bytesToClient(h.first.length);
        this.client.relayStarted();
      },
      fallback: () => {
        if (this.client.active() === ex && ex.up === up && !this.client.writeClient(h.first)) up.socket.pause();
      },
      ended: (moved, reason) => this.bodyRelayed(ex, up, moved, reason),
    });
    return true;
  }

  /** The relay thread is done with the body: the exchange completes, or is broken off. */
  private bodyRelayed(ex: Exchange, up: Upstream, moved: number, reason: RelayEnd): void {
    const ctx = this.client.ctx;
    ctx.stats?.bytesFromUpstream(moved);
    ctx.stats?.bytesToClient(moved);
    ex.bytes += moved;
    this.relaying = null;
    const then = this.onRelayed;
    this.onRelayed = null;
    // Ended meanwhile by Node (the client left, a stop; the relay reset both): its log line waited for the count.
    if (then !== null) return then();
    if (this.client.active() !== ex || ex.up !== up) return;
    if (reason !== RelayEnd.Done) {
      this.drop(ex);
      return this.client.abort(reason === RelayEnd.Idle ? 'upstream timeout' : 'relayed body cut short');
    }
    ex.responseBody.passed(moved);
    this.client.responseDone();
  }

  /**
   * Whether the relay thread is moving `ex`'s body: then `then` runs once it has reported,
   * with the bytes it moved counted in `ex.bytes` (the exchange's log line waits for them).
   */
  whenRelayed(ex: Exchange, then: () => void): boolean {
    if (this.relaying !== ex) return false;
    this.onRelayed = then;
    return true;
  }

  /**
   * Writes the held response head, with `body` (the first body bytes) when given: a small
   * body is copied behind the head so both leave in one buffer, one system call.
   */
  sendHeld(ex: Exchange, body: Buffer | null): boolean {
    const head = ex.heldHead!;
    ex.heldHead = null;
    if (body === null) return this.client.writeClient(head);
    const joined = body.length <= 16 * 1024 ? this.client.ctx.scratch.extend(head, body) : null;
    if (joined !== null) return this.client.writeClient(joined);
    return this.client.writeClient(head, ex.up?.writable(body) ?? Buffer.from(body));
  }

  /** Lets go of the exchange's upstream connection without reusing it. */
  drop(ex: Exchange): void {
    ex.respmod?.cancel();
    const up = ex.up;
    ex.up = null;
    if (up) {
      up.owner = null;
      up.destroy();
    }
  }
}
