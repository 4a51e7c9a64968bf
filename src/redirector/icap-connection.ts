/**
 * One persistent TCP connection to an ICAP service, as a helper of the pool: requests are
 * written to the socket, its bytes cut into ICAP responses by the dialect's reader.
 *
 * An ICAP server may close a keep-alive connection it finds idle (c-icap's KeepAliveTimeout,
 * `Connection: close`): that is no failure, the next request opens it again. A close or an
 * error while a request is in flight, or a connection that cannot be made, is a crash the
 * pool handles as a helper's (retry elsewhere once, then `redirector.failure`).
 */
import { connect, type Socket } from 'node:net';
import { ProtocolError, type Dialect, type RawReply, type ReplyReader } from './dialect';
import type { Helper, HelperHooks } from './helper';

export interface IcapEndpoint {
  host: string;
  port: number;
  /** Longest wait for the TCP connection (ms). */
  connectTimeoutMs: number;
}

export interface IcapConnectionSettings {
  endpoint: IcapEndpoint;
  dialect: Dialect;
  maxReplyBytes: number;
}

export class IcapConnection<A> implements Helper<A> {
  readonly pid = undefined;
  readonly started = true;
  readonly startedAt: number;
  readonly slots = new Map<number, A>();
  state: 'running' | 'retiring' | 'stopping' | 'dead' = 'running';
  answered = 0;
  serviceMs = 0;
  lastActive: number;
  writtenSeq = 0;
  readonly quietUntil: number;
  readonly writePending = false;
  private nextSeq = 1;
  private socket: Socket | null = null;
  private connected = false;
  private reader: ReplyReader | null = null;
  /** Written before the connection was made: sent on connect. */
  private waiting: { seq: number; text: string } | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private closed: Promise<void> = Promise.resolve();
  /** The socket opened last: its close is the helper's end once it is stopped. */
  private lastSocket: Socket | null = null;
  private exitReported = false;

  constructor(private readonly settings: IcapConnectionSettings, private readonly hooks: HelperHooks<A>, now: number) {
    this.startedAt = now;
    this.lastActive = now;
    this.quietUntil = now;
    this.open();
  }

  nextSequence(): number {
    return this.nextSeq++;
  }

  write(seq: number, text: string): void {
    if (this.state === 'dead' || this.state === 'stopping') return;
    if (this.socket === null) this.open();
    if (!this.connected) {
      this.waiting = { seq, text };
      return;
    }
    this.writtenSeq = seq;
    this.socket!.write(text, 'latin1');
  }

  kill(): void {
    this.state = 'dead';
    if (this.socket === null) this.gone();
    else this.socket.destroy();
  }

  /** Closes the connection (after the grace period, at once if nothing is in flight). */
  stop(graceMs: number): Promise<void> {
    if (this.state !== 'dead') this.state = 'stopping';
    const socket = this.socket;
    if (socket !== null) {
      socket.end();
      const force = setTimeout(() => socket.destroy(), graceMs);
      force.unref();
      void this.closed.then(() => clearTimeout(force));
    } else {
      this.gone();
    }
    return this.closed;
  }

  /** Tells the roster, once, that nothing more will come from this helper. */
  private gone(): void {
    if (this.exitReported) return;
    this.exitReported = true;
    this.hooks.onExit(this, null, null);
  }

  private open(): void {
    const { host, port, connectTimeoutMs } = this.settings.endpoint;
    const socket = connect({ host, port, noDelay: true });
    this.socket = socket;
    this.lastSocket = socket;
    this.connected = false;
    this.reader = this.settings.dialect.newReader(this.settings.maxReplyBytes);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.connectTimer = setTimeout(() => {
      this.lost(socket, `no connection within ${connectTimeoutMs} ms`);
    }, connectTimeoutMs);
    this.connectTimer.unref();
    socket.once('connect', () => {
      this.clearConnectTimer();
      this.connected = true;
      const waiting = this.waiting;
      this.waiting = null;
      if (waiting !== null) this.write(waiting.seq, waiting.text);
    });
    socket.on('data', (chunk: Buffer) => this.read(socket, chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.lost(socket, error.code ?? error.message));
    socket.on('close', () => {
      this.lost(socket, 'closed by the service');
      if (socket === this.lastSocket && (this.state === 'dead' || this.state === 'stopping')) this.gone();
    });
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private read(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket || this.state === 'dead') return;
    const replies: RawReply[] = [];
    try {
      this.reader!.push(chunk, replies);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (replies.length > 0) this.hooks.onReplies(this, replies);
      this.hooks.onFailure(this, error.message, 'broken');
      return;
    }
    if (replies.length === 0) return;
    // The service closes after this answer (`Connection: close`, its keep-alive limit): let the
    // socket go now, so the next request opens a new one instead of racing the close.
    if (/\bclose\b/i.test(replies[replies.length - 1]!.icap?.headers.get('connection') ?? '')) this.release(socket);
    this.hooks.onReplies(this, replies);
  }

  private release(socket: Socket): void {
    this.socket = null;
    this.connected = false;
    socket.end();
  }

  /**
   * The socket is gone or unusable. Idle and once connected, it is only dropped (the server
   * closes idle connections); with a request in flight or waiting, or never connected, the
   * pool is told.
   */
  private lost(socket: Socket, reason: string): void {
    if (socket !== this.socket) return;
    this.clearConnectTimer();
    const wasConnected = this.connected;
    this.socket = null;
    this.connected = false;
    socket.destroy();
    if (this.state === 'dead' || this.state === 'stopping') return;
    if (wasConnected && this.slots.size === 0 && this.waiting === null) return;
    this.waiting = null;
    const { host, port } = this.settings.endpoint;
    const what = wasConnected ? `lost its connection from ${host}:${port}` : `could not be connected to at ${host}:${port}`;
    this.hooks.onFailure(this, `${what} (${reason})`, 'crash');
  }
}
