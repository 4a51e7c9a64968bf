/**
 * Connections to origin servers, kept alive and pooled per destination.
 *
 * A pooled socket keeps one set of listeners for its whole life; they forward to
 * whichever exchange currently owns it (`owner`), so reuse costs no listener churn.
 * Bytes or a close from an idle socket simply retire it.
 */
import type { LookupAddress } from 'node:dns';
import { Socket, connect as netConnect, isIP, type LookupFunction } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { SOCKET_BUFFER } from './buffers';
import { giveReadBuffer, readBufferQueued, sharedReadBuffer, takeReadBuffer } from './read-buffers';

/** What an upstream socket reports to the exchange that owns it. */
export interface UpstreamOwner {
  upstreamConnected(up: Upstream): void;
  /**
   * Bytes from the server. They may lie in memory the socket reads into again: what is kept
   * beyond the call goes through `up.keep`, what is written to the client through `up.writable`.
   */
  upstreamData(chunk: Buffer): void;
  /** The next bytes `up` reads are those of a body: worth a read buffer of its own. */
  readsBody(up: Upstream): boolean;
  /** Where the bytes read are written to (a write still queued there holds its buffer). */
  readonly writesTo: Socket;
  upstreamDrain(): void;
  upstreamEnd(): void;
  upstreamClosed(error: Error | undefined): void;
}

export class Upstream {
  owner: UpstreamOwner | null = null;
  /** Told once when the socket has closed, whoever owned it then (the monitor's gauge). */
  onGone: (() => void) | null = null;
  /** Requests already answered on this connection (0: fresh). */
  uses = 0;
  idleSince = 0;
  connected = false;
  closed = false;
  ended = false;
  /** To a parent proxy with credentials: its `Proxy-Authorization` line and the blank line, added to each head. */
  authorization: Buffer | null = null;
  /** Reads go into recycled memory (read-buffers.ts); false: Node allocates each read. */
  private recycled = false;
  /** The read being delivered lies in the shared read buffer. */
  private sharedRead = false;
  /** This socket's own read buffer while it streams a body. */
  private own: Buffer | null = null;
  /** Handed to the JavaScript tunnel relay: reads become the stream's data, as Node's own. */
  private streamed = false;

  constructor(
    readonly socket: Socket | TLSSocket,
    readonly key: string,
  ) {
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    this.owner?.upstreamConnected(this);
  };
  /** A read into recycled memory (`onread`); false pauses reading. */
  private readonly onRead = (n: number, buf: Buffer): boolean => {
    if (this.streamed) return this.socket.push(Buffer.from(buf.subarray(0, n)));
    const owner = this.owner;
    if (owner === null) {
      this.socket.destroy(); // an idle connection must not talk: retire it
      return false;
    }
    this.sharedRead = buf === sharedReadBuffer;
    owner.upstreamData(buf.subarray(0, n));
    // A write of these bytes that the client socket could not take at once still refers to them.
    if (!this.sharedRead && owner.writesTo.writableLength > 0) {
      readBufferQueued(buf, owner.writesTo);
      if (this.own === buf) this.own = null;
    }
    return true;
  };

  /** The buffer the next read goes into. */
  private readonly nextBuffer = (): Buffer => {
    if (!this.streamed && this.owner?.readsBody(this)) return (this.own ??= takeReadBuffer());
    if (this.own !== null) giveReadBuffer(this.own);
    this.own = null;
    return sharedReadBuffer;
  };

  /** `chunk` (from upstreamData) as a buffer that may be kept: copied when its memory is read into again. */
  keep(chunk: Buffer): Buffer {
    return this.recycled ? Buffer.from(chunk) : chunk;
  }

  /** `chunk` (from upstreamData) as a buffer that may be written to the client: copied when shared. */
  writable(chunk: Buffer): Buffer {
    return this.sharedRead ? Buffer.from(chunk) : chunk;
  }

  /** From now on a plain stream of data events (the JavaScript tunnel relay pipes it). */
  detachReads(): void {
    this.streamed = true;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.owner) this.owner.upstreamData(chunk);
    else this.socket.destroy(); // an idle connection must not talk: retire it
  };
  private readonly onDrain = (): void => {
    this.owner?.upstreamDrain();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    if (this.owner) this.owner.upstreamEnd();
    else this.socket.destroy();
  };
  private lastError: Error | undefined;
  private readonly onError = (err: Error): void => {
    this.lastError = err;
  };
  private readonly onClose = (): void => {
    this.closed = true;
    this.onGone?.();
    this.onGone = null;
    const owner = this.owner;
    this.owner = null;
    owner?.upstreamClosed(this.lastError);
  };

  /**
   * Starts a connection to one of `addresses` (already resolved and checked); with
   * both families, Node's Happy Eyeballs (`autoSelectFamily`) races them. The owner
   * hears `upstreamConnected` when it is ready for bytes.
   */
  static open(
    key: string,
    addresses: readonly string[],
    port: number,
    tls: { servername: string } | null,
    owner: UpstreamOwner,
    host: string,
    bind: { v4: string; v6: string },
    recycle: boolean,
  ): Upstream {
    // A configured source address (tcp4.bind / tcp6.bind) fixes the family: one address then,
    // so the local and remote families always match.
    const bound = bind.v4 !== '' || bind.v6 !== '';
    const targets = bound ? addresses.slice(0, 1) : addresses;
    const localAddress = bound ? (isIP(targets[0]!) === 4 ? bind.v4 : bind.v6) || undefined : undefined;
    const lookup: LookupFunction = (_host, opts, cb) => {
      const list = targets.map((address) => ({ address, family: isIP(address) }));
      if (opts.all) (cb as (err: null, list: LookupAddress[]) => void)(null, list);
      else cb(null, list[0]!.address, list[0]!.family);
    };
    // `host` is what TLS verifies the certificate against; `lookup` supplies the addresses.
    const common = { host, port, lookup, localAddress, autoSelectFamily: targets.length > 1, allowHalfOpen: true, highWaterMark: SOCKET_BUFFER };
    // Plain connections read into recycled memory; TLS ones cannot (Node has no `onread` for them).
    let up: Upstream | null = null;
    const onread = {
      buffer: (): Buffer => (up === null ? sharedReadBuffer : up.nextBuffer()),
      callback: (n: number, buf: Uint8Array): boolean => up!.onRead(n, buf as Buffer),
    };
    const socket = tls
      ? tlsConnect({ ...common, servername: tls.servername || undefined })
      : netConnect({ ...common, noDelay: true, onread: recycle ? onread : undefined });
    up = new Upstream(socket, key);
    up.recycled = recycle && !tls;
    up.owner = owner;
    socket.once(tls ? 'secureConnect' : 'connect', up.onConnect);
    return up;
  }

  /** Writes a request head (ending in its blank line), the parent's credentials in; returns the bytes written. */
  writeHead(head: Buffer): number {
    if (this.authorization === null) {
      this.socket.write(head);
      return head.length;
    }
    this.socket.write(head.subarray(0, head.length - 2));
    this.socket.write(this.authorization);
    return head.length - 2 + this.authorization.length;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Idle keep-alive connections per destination key, most recently used first. */
export class UpstreamPool {
  private readonly idle = new Map<string, Upstream[]>();

  constructor(
    private readonly maxIdlePerHost: number,
    private readonly idleTimeout: number,
  ) {}

  /** A live idle connection to `key`, or undefined. */
  acquire(key: string): Upstream | undefined {
    const list = this.idle.get(key);
    if (!list) return undefined;
    let up: Upstream | undefined;
    while ((up = list.pop())) {
      if (!up.closed && !up.ended) break;
    }
    // An emptied list stays for the release that follows (the sweep drops it): under load the
    // same connections go out and back for every request, without a new list and Map entry each time.
    return up;
  }

  /** Returns a connection after a complete exchange. */
  release(up: Upstream, now: number): void {
    up.owner = null;
    up.uses++;
    if (up.closed || up.ended) return;
    let list = this.idle.get(up.key);
    if (!list) this.idle.set(up.key, (list = []));
    if (list.length >= this.maxIdlePerHost) {
      up.destroy();
      return;
    }
    up.idleSince = now;
    list.push(up);
  }

  /** Closes connections idle for longer than the timeout. */
  sweep(now: number): void {
    for (const [key, list] of this.idle) {
      const keep = list.filter((up) => {
        if (up.closed) return false;
        if (now - up.idleSince < this.idleTimeout) return true;
        up.destroy();
        return false;
      });
      if (keep.length) this.idle.set(key, keep);
      else this.idle.delete(key);
    }
  }

  closeAll(): void {
    for (const list of this.idle.values()) for (const up of list) up.destroy();
    this.idle.clear();
  }
}
