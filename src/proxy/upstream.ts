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

/** What an upstream socket reports to the exchange that owns it. */
export interface UpstreamOwner {
  upstreamConnected(up: Upstream): void;
  upstreamData(chunk: Buffer): void;
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
    const socket = tls
      ? tlsConnect({ ...common, servername: tls.servername || undefined })
      : netConnect({ ...common, noDelay: true });
    const up = new Upstream(socket, key);
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
    if (list.length === 0) this.idle.delete(key);
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
