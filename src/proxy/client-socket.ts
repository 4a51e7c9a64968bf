/**
 * The client side of a connection: the socket's events, the input waiting to be read,
 * flow control, the PROXY header, the deadline the listener's sweeper checks, and the
 * connection gauge. ClientConnection (connection.ts) adds the requests on top.
 */
import type { Socket } from 'node:net';
import { Proxy as ProxySlot } from '../native/abi.generated';
import type { ProxyContext } from './context';
import { MAX_BUFFERED } from './buffers';
import { InputBuffer } from './input-buffer';
import { plainAddress } from './acl';
import type { Exchange } from './exchange';
import { readProxyHeader, type Address } from './phases/proxy-header';
import { handOver } from './tunnel';
import type { Upstream } from './upstream';

const CONNECTION = Symbol('exaproxy.connection');
type OwnedSocket = Socket & { [CONNECTION]: ClientSocket };

// Shared listeners that find the connection on the socket: no closures per connection
// (an idle keep-alive connection should cost as little memory as possible).
const EVENTS: [string, (this: OwnedSocket, chunk: Buffer) => void][] = [
  ['data', function (this: OwnedSocket, chunk: Buffer) { this[CONNECTION].onData(chunk); }],
  ['drain', function (this: OwnedSocket) { this[CONNECTION].onDrain(); }],
  ['end', function (this: OwnedSocket) { this[CONNECTION].onEnd(); }],
  ['close', function (this: OwnedSocket) { this[CONNECTION].onClose(); }],
];
const ignoreError = (): void => undefined; // 'close' follows
// 'finish': what was written, and the FIN, have left.
const destroySocket = function (this: Socket): void {
  this.destroy();
};

export const enum State {
  ProxyHeader,
  Head,
  Deciding,
  Connecting,
  Forwarding,
  Tunnel,
  Closed,
}

/** What the connection's deadline does when the sweeper finds it passed. */
export const enum Expiry {
  None,
  /** Close without a word (idle before a request, or between requests). */
  Silent,
  /** 408: the head did not complete in time. */
  HeadTimeout,
  /** 504: the upstream did not connect or answer in time. */
  UpstreamTimeout,
  /** Ended by us: destroyed once the client has read nothing of what is left for CLOSING_IDLE_MS. */
  Closing,
}

/**
 * How long an ended connection may go without the client reading any of what is left,
 * before it is destroyed: a client that never reads its last response must not hold the
 * socket forever. Checked by the sweeper, so closing a connection starts no timer.
 */
const CLOSING_IDLE_MS = 10_000;

let accepted = 0;

export abstract class ClientSocket {
  /** ExaProxy's connection number in the usage log (per worker). */
  readonly id = ++accepted;
  state = State.Head;
  /** When the current timeout fires, and what it does. */
  deadline = 0;
  expiry = Expiry.Silent;
  /** The client's address (from the socket, the PROXY header, or a trusted forward header). */
  clientIp: string;
  clientPort: number;
  /** The proxy's address and port on this connection (getsockname), once asked: undefined until then. */
  private localAddress: string | undefined = undefined;
  private localPortNumber = 0;
  protected readonly socketIp: string;
  /** security.clients lets this client in. */
  protected allowed: boolean;
  protected clientEnded = false;
  protected paused = false;
  protected readonly input = new InputBuffer();
  private proxyTable: Uint32Array | null = null;
  /**
   * Where the PROXY header, once read, said the client was going (null: a LOCAL command, or no
   * addresses).
   */
  protected proxiedTo: Address | null = null;
  /** The connection gauge: exactly one clientClosed for the clientOpened of the constructor. */
  private counted = true;
  /** Set by the listener to forget this connection. */
  onClosed: ((c: this) => void) | null = null;
  /** What was still to be sent when the ended connection was last checked (Expiry.Closing). */
  private unsent = 0;

  constructor(
    readonly socket: Socket,
    readonly ctx: ProxyContext,
  ) {
    this.socketIp = plainAddress(socket.remoteAddress);
    this.clientIp = this.socketIp;
    this.clientPort = socket.remotePort ?? 0;
    const s = ctx.settings;
    // Only the access log reads the local port after the socket may be gone (a client that left
    // mid-exchange): with one, it is asked now; without, a connection that never needs it (a
    // pooled upstream, no helper) makes no getsockname call at all.
    if (ctx.access !== null) this.readLocalAddress();
    this.allowed = s.proxied || s.clients.has(this.clientIp);
    this.state = s.proxied ? State.ProxyHeader : State.Head;
    this.deadline = Date.now() + (s.proxied ? Math.min(s.timeouts.header, 3000) : this.firstByteTimeout());
    socket.setNoDelay(true);
    (socket as OwnedSocket)[CONNECTION] = this;
    for (const [event, listener] of EVENTS) socket.on(event, listener);
    socket.on('error', ignoreError);
    ctx.stats?.clientOpened(this.clientIp);
    if (s.proxied && !s.forwardTrust.has(this.socketIp)) {
      // Anyone could claim any address in a PROXY header: only trusted front ends may.
      ctx.log.debug({ client: this.socketIp }, 'PROXY protocol from a peer outside http.forward-trust: closed');
      socket.destroy();
    }
  }

  get localIp(): string {
    return this.localAddress ?? this.readLocalAddress();
  }

  get localPort(): number {
    if (this.localAddress === undefined) this.readLocalAddress();
    return this.localPortNumber;
  }

  private readLocalAddress(): string {
    this.localAddress = plainAddress(this.socket.localAddress);
    this.localPortNumber = this.socket.localPort ?? 0;
    return this.localAddress;
  }

  /** The proxy's own address on this connection, which destination protection refuses. */
  get ownIp(): string {
    return this.localIp;
  }

  /** Called by the listener's sweeper with the current time: fires the deadline once it has passed. */
  expire(now: number): void {
    if (this.expiry === Expiry.None || now < this.deadline) return;
    const what = this.expiry;
    this.expiry = Expiry.None;
    if (what === Expiry.Closing) return this.closingExpired(now);
    this.expired(what);
  }

  /** What the connection does when its deadline has passed (`what` is never None or Closing). */
  protected abstract expired(what: Expiry): void;

  abstract onData(chunk: Buffer): void;
  abstract onDrain(): void;
  abstract onEnd(): void;
  abstract onClose(): void;

  /**
   * How long a new connection may stay silent: `http.idle-connect`, but never longer
   * than the header timeout, so connections that send nothing cannot hold slots cheaply.
   */
  protected firstByteTimeout(): number {
    const t = this.ctx.settings.timeouts;
    return Math.min(t.idleConnect, t.header);
  }

  /** Reads the PROXY header from the input; true once it is done and requests may follow. */
  protected readProxyHeader(): boolean {
    const table = (this.proxyTable ??= new Uint32Array(ProxySlot.SIZE));
    const header = readProxyHeader(this.input.buf!, this.input.pos, table);
    if (header.kind === 'more') return false;
    if (header.kind === 'invalid') {
      this.invalidProxyHeader();
      return false;
    }
    this.input.consume(header.consumed);
    this.proxyTable = null;
    this.proxiedTo = header.destination;
    if (header.client !== null) {
      this.ctx.stats?.clientClosed(this.clientIp);
      this.clientIp = header.client.ip;
      this.clientPort = header.client.port;
      this.ctx.stats?.clientOpened(this.clientIp);
    }
    this.allowed = this.ctx.settings.clients.has(this.clientIp);
    this.state = State.Head;
    this.deadline = Date.now() + this.firstByteTimeout();
    return true;
  }

  /** The front end sent something that is not a PROXY header: closed. */
  protected invalidProxyHeader(): void {
    this.ctx.log.warn({ client: this.socketIp }, 'invalid PROXY protocol header: connection closed');
    this.socket.destroy();
  }

  protected countClosed(): void {
    if (this.counted) {
      this.counted = false;
      this.ctx.stats?.clientClosed(this.clientIp);
    }
  }

  /** Writes `data` (and `more` in the same system call); false when the writer should pause. */
  protected write(data: Buffer, more?: Buffer): boolean {
    const socket = this.socket;
    this.ctx.stats?.bytesToClient(data.length + (more?.length ?? 0));
    if (more === undefined) return socket.write(data);
    socket.cork();
    socket.write(data);
    const room = socket.write(more);
    socket.uncork();
    return room;
  }

  protected pauseClient(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  protected resumeClient(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Pauses reading while too much unprocessed input waits. */
  protected limitBuffered(): void {
    if (this.input.pending > MAX_BUFFERED) this.pauseClient();
  }

  /** The socket leaves the connection (for a tunnel): its listeners go, its error handler stays. */
  protected detachSocket(): void {
    for (const [event, listener] of EVENTS) this.socket.removeListener(event, listener);
    this.paused = false;
  }

  /**
   * Hands the socket and `up` to the tunnel relay (tunnel.ts) with the input still waiting;
   * when both sides are done the bytes are counted and `closed` logs the exchange. Returns
   * how many waiting bytes went to the upstream with it.
   */
  protected startTunnel(ex: Exchange, up: Upstream, fromUpstream: Buffer | null, closed: () => void): number {
    this.state = State.Tunnel;
    this.expiry = Expiry.None;
    up.owner = null;
    up.detachReads();
    ex.up = null;
    this.detachSocket();
    const toUpstream = this.input.buf === null ? null : this.input.buf.subarray(this.input.pos);
    this.input.clear();
    const pending = { toUpstream, toClient: fromUpstream, clientEnded: this.clientEnded };
    handOver(this.socket, up.socket, pending, this.ctx.settings.timeouts.tunnelIdle, this.ctx.settings.tunnelRelay, (bytesUp, bytesDown) => {
      this.ctx.stats?.bytesToUpstream(bytesUp);
      this.ctx.stats?.bytesToClient(bytesDown);
      this.ctx.stats?.upstreamClosed();
      ex.bytes += bytesDown;
      closed();
      this.state = State.Closed;
      this.countClosed();
      this.onClosed?.(this);
    });
    return toUpstream?.length ?? 0;
  }

  /** The relay thread has the response body (native-body.ts): its idle limit replaces the deadline. */
  relayStarted(): void {
    this.expiry = Expiry.None;
  }

  /**
   * `ex`, answered from upstream, was the client's last request (it asked to close, so it sends
   * nothing more: RFC 9112 §9.6) and nothing is left unread, not even paused in the socket, where
   * it would turn the close into a reset: the socket may close once the answer is with the kernel,
   * not after the client's FIN (a read and its end-of-stream handling less per connection).
   */
  protected saidLast(ex: Exchange): boolean {
    return !ex.keepAlive && !ex.body.pending && this.input.pending === 0 && !this.paused;
  }

  /**
   * Ends the connection after what was written has been sent; `closeWhenSent`: closes it then,
   * without waiting for the client's end (see saidLast).
   */
  protected endSocket(closeWhenSent = false): void {
    this.state = State.Closed;
    // All written is with the kernel already (the usual case): close() sends it and then the FIN
    // as shutdown() would, without Node's deferred shutdown (an epoll_ctl and a loop turn).
    if (closeWhenSent && this.socket.writableLength === 0) return void this.socket.destroy();
    this.socket.end();
    if (closeWhenSent) this.socket.once('finish', destroySocket);
    this.unsent = this.socket.writableLength;
    this.deadline = Date.now() + CLOSING_IDLE_MS;
    this.expiry = Expiry.Closing;
  }

  /** An ended connection's deadline: the client read some of what was left, it gets longer; else it is destroyed. */
  private closingExpired(now: number): void {
    const unsent = this.socket.writableLength;
    if (unsent >= this.unsent) return void this.socket.destroy();
    this.unsent = unsent;
    this.deadline = now + CLOSING_IDLE_MS;
    this.expiry = Expiry.Closing;
  }
}
