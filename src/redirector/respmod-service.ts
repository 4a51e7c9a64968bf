/**
 * RESPMOD to the ICAP service of `redirector.protocol = icap-service://…` (`redirector.respmod`):
 * whether responses go to it now, how they are sent, and its connections. The REQMOD pool
 * cannot carry RESPMOD — its helpers take one request line and give one answer, a RESPMOD
 * streams a body both ways — so RESPMOD has persistent connections of its own. Each is used by
 * one response at a time and kept only when its message went out whole and its answer was read
 * whole (src/proxy/respmod.ts). At most `redirector.maximum` are open, active and idle together
 * (fewer when the service's OPTIONS say Max-Connections, RFC 3507 §4.10.2); a response that finds
 * none free waits, first come first served, on a socket not yet connecting whose writes are held
 * (corked) — for the stage it is a connection being made — at most `redirector.timeout`.
 */
import { Socket } from 'node:net';
import type { Log } from '../log/log';
import { extensionListed, type ServiceOptions } from './icap-options';
import type { IcapServiceUri } from './icap-uri';
import { wireSafe } from './wire';

const CRLF = Buffer.from('\r\n', 'latin1');
const FAILURE_LOG_MS = 10_000;
/** What ends an idle connection's stay in the pool. */
const EVENTS = ['end', 'error', 'close', 'data'] as const;

export interface RespmodSettings {
  /** Body bytes a response may have to be sent; 0: no limit. */
  limit: number;
  /** Above the limit: the original response unchanged, or a 403 page. */
  overLimit: 'bypass' | 'deny';
  /** `redirector.failure`: the original response, or an error page. */
  failure: 'allow' | 'deny';
  /** Longest wait for the service to move (ms). */
  timeoutMs: number;
  /** `redirector.maximum`: connections open at most, active and idle. */
  maximum: number;
}

/** Given to a waiting response's socket when no connection came free in time: a failure to report as is. */
export class RespmodWaitedTooLong extends Error {}

/** A response waiting for a connection: its socket, not yet connecting, and when it gives up. */
interface Waiting {
  socket: Socket;
  timer: NodeJS.Timeout;
}

/** What one response needs to be sent to the service now. */
export interface RespmodPlan {
  /** Body bytes sent before the service decides (its OPTIONS Preview), or null: the whole body. */
  preview: number | null;
}

export class RespmodService {
  private readonly idle: Socket[] = [];
  /** Connections open or opening, active and idle. */
  private open = 0;
  private readonly waiting: Waiting[] = [];
  /** The listener that drops an idle connection, removed when it is used again. */
  private readonly dropOf = new WeakMap<Socket, () => void>();
  /** The Methods the last warning was about, so it is said once per change. */
  private warned: string | null = null;
  private closed = false;
  /** Failures are logged at most once per FAILURE_LOG_MS, with how many were not. */
  private quietUntil = 0;
  private unlogged = 0;

  constructor(
    private readonly service: IcapServiceUri,
    private readonly offered: () => ServiceOptions | null,
    readonly settings: RespmodSettings,
    private readonly log: Log,
  ) {}

  get uri(): string {
    return this.service.uri;
  }

  /**
   * How the response to a request for `target` goes to the service, or null when it does not:
   * the service has not answered OPTIONS yet, does not offer RESPMOD (said once in the log), or
   * lists the target's extension in `Transfer-Ignore`; one in `Transfer-Complete` is sent whole.
   */
  plan(target: string): RespmodPlan | null {
    const options = this.offered();
    if (options === null || this.closed) return null;
    if (!options.methods.includes('RESPMOD')) {
      const methods = options.methods.join(', ');
      if (this.warned !== methods) {
        this.warned = methods;
        this.log.warn({ service: this.service.uri, methods: options.methods },
          `redirector.respmod: the ICAP service ${this.service.uri} does not offer RESPMOD (OPTIONS Methods: ${methods}): responses pass unchanged. Point redirector.protocol at a service that offers it`);
      }
      return null;
    }
    this.warned = null;
    if (extensionListed(options.transferIgnore, target)) return null;
    return { preview: extensionListed(options.transferComplete, target) ? null : options.preview };
  }

  /** One response failed at the service (each is also in the access log): a WARNING, rate-limited. */
  failed(upstream: string, reason: string): void {
    const now = Date.now();
    if (now < this.quietUntil) {
      this.unlogged++;
      return;
    }
    const more = this.unlogged === 0 ? '' : ` (and ${this.unlogged} more failures since the last such line)`;
    this.log.warn({ service: this.service.uri, upstream }, `redirector.respmod: the ICAP service ${this.service.uri} ${reason}${more}; check that it runs, or see redirector.failure`);
    this.unlogged = 0;
    this.quietUntil = now + FAILURE_LOG_MS;
  }

  /** The ICAP head of a RESPMOD for `http` (the request head then the response head). */
  icapHead(clientIp: string, requestHead: string, responseHead: string, preview: number | null): string {
    return `RESPMOD ${this.service.uri} ICAP/1.0\r\nHost: ${this.service.hostHeader}\r\nX-Client-IP: ${wireSafe(clientIp)}\r\n`
      + (preview === null ? '' : `Preview: ${preview}\r\n`)
      + `Encapsulated: req-hdr=0, res-hdr=${requestHead.length}, res-body=${requestHead.length + responseHead.length}\r\n\r\n`
      + requestHead + responseHead;
  }

  /** An idle connection (`reused`), or a new one (connecting: writes wait for it). */
  acquire(): { socket: Socket; reused: boolean } {
    for (;;) {
      const socket = this.idle.pop();
      if (socket === undefined) break;
      this.forget(socket);
      if (!socket.destroyed && !socket.readableEnded) return { socket, reused: true };
    }
    return { socket: this.acquireNew(), reused: false };
  }

  /** A new connection, whatever is idle; one that waits for room when all are open (see the top). */
  acquireNew(): Socket {
    const socket = new Socket();
    socket.setNoDelay(true);
    if (this.waiting.length === 0 && this.open < this.bound().limit) {
      this.connect(socket);
      return socket;
    }
    socket.cork();
    const entry: Waiting = { socket, timer: setTimeout(() => this.gaveUp(entry), this.settings.timeoutMs) };
    entry.timer.unref();
    socket.once('close', () => this.leave(entry)); // destroyed while waiting (the client went away)
    this.waiting.push(entry);
    // An idle connection only holds room: closed, it lets the first waiting one connect.
    this.idle.shift()?.destroy();
    return socket;
  }

  /** Connections open at most, and what says so. */
  bound(): { limit: number; by: string } {
    const max = this.offered()?.maxConnections ?? null;
    // Max-Connections: 0 is ignored, as the REQMOD pool does (icap-service.ts applyBounds).
    if (max !== null && max > 0 && max < this.settings.maximum) return { limit: max, by: 'its OPTIONS Max-Connections' };
    return { limit: this.settings.maximum, by: 'redirector.maximum' };
  }

  private connect(socket: Socket): void {
    this.open++;
    socket.once('close', () => {
      this.open--;
      this.next();
    });
    socket.connect({ host: this.service.host, port: this.service.port });
  }

  /** Room was made: the waiting responses connect in the order they came. */
  private next(): void {
    while (this.waiting.length > 0 && this.open < this.bound().limit) {
      const { socket, timer } = this.waiting.shift()!;
      clearTimeout(timer);
      this.connect(socket);
      socket.uncork();
    }
  }

  private leave(entry: Waiting): void {
    clearTimeout(entry.timer);
    const at = this.waiting.indexOf(entry);
    if (at !== -1) this.waiting.splice(at, 1);
  }

  private gaveUp(entry: Waiting): void {
    this.leave(entry);
    const { limit, by } = this.bound();
    // Its response hears it ('error' on the stage's listener); without one it must not throw.
    entry.socket.on('error', () => undefined).destroy(new RespmodWaitedTooLong(`had no connection free within ${this.settings.timeoutMs} ms (at most ${limit} open: ${by})`));
  }

  /** A new connection sent `head`, the preview's `data` as chunks and its `end` when it was sent. */
  resend(head: string, data: Buffer[], end: Buffer | null): Socket {
    const socket = this.acquireNew();
    socket.write(head, 'latin1');
    for (const piece of data) socket.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, CRLF]));
    if (end !== null) socket.write(end);
    return socket;
  }

  /** A connection whose message and answer are complete: kept for the next response. */
  release(socket: Socket): void {
    // A response waiting for room gets it when this one closes (a socket cannot change hands).
    // Above a Max-Connections lowered since (new OPTIONS), it closes too.
    if (this.closed || this.waiting.length > 0 || this.open > this.bound().limit || socket.destroyed || socket.readableEnded) {
      socket.destroy();
      return;
    }
    const drop = (): void => {
      socket.destroy();
      const at = this.idle.indexOf(socket);
      if (at !== -1) this.idle.splice(at, 1);
    };
    // The service closes idle connections when it likes (c-icap's KeepAliveTimeout).
    for (const event of EVENTS) socket.on(event, drop); // nothing may come unasked either
    this.dropOf.set(socket, drop);
    socket.resume();
    this.idle.push(socket);
  }

  private forget(socket: Socket): void {
    const drop = this.dropOf.get(socket);
    if (drop !== undefined) for (const event of EVENTS) socket.off(event, drop);
    this.dropOf.delete(socket);
  }

  close(): void {
    this.closed = true;
    for (const socket of this.idle.splice(0)) socket.destroy();
    for (const { socket } of this.waiting.splice(0)) socket.destroy();
  }
}
