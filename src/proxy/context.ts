/**
 * Everything one worker's connections share: settings, the compiled rewrite plan, the
 * upstream pool, the resolver, the pages, the helper pool, stats and the access log.
 * Also the scratch memory the addon writes into (see `Scratch`).
 */
import { Slot } from '../native/abi.generated';
import type { AccessEntry } from '../log/access';
import type { Log } from '../log/log';
import type { Outcome } from '../log/outcome';
import type { RewritePlan } from '../native/addon';
import type { RedirectorPool } from '../redirector';
import type { RespmodService } from '../redirector/respmod-service';
import type { Authenticator } from '../auth/authenticator';
import type { ExternalAcl } from '../external-acl/external-acl';
import type { Pages } from './pages';
import type { Parents } from './parents';
import type { Resolver } from './dns';
import type { ProxySettings } from './settings';
import type { UpstreamPool } from './upstream';

/** The subset of the monitor's Stats that the data path feeds. */
export interface DataPathStats {
  clientOpened(ip: string): void;
  clientClosed(ip: string): void;
  requestStarted(methodId: number): void;
  /** Once per request: what happened to it, and how long deciding took. */
  decision(outcome: Outcome, ms: number): void;
  responseSent(status: number): void;
  bytesFromClient(n: number): void;
  bytesToClient(n: number): void;
  bytesToUpstream(n: number): void;
  bytesFromUpstream(n: number): void;
  upstreamOpened(): void;
  upstreamClosed(): void;
  upstreamLatency(ms: number): void;
  dnsHit(): void;
  dnsMiss(): void;
}

/** One access-log record, handed to the configured formatter. */
export type AccessRecord = AccessEntry;

/** The helper pool as the data path uses it (see src/redirector). */
export type Decider = Pick<RedirectorPool, 'decide' | 'ask'>;

export type { Decision } from '../redirector';

/**
 * Memory the addon writes into, shared by every connection of the worker. A parse
 * result is used synchronously (policy + rewrite happen in the same tick) or copied
 * (`snapshotTable`) before anything asynchronous, so one table serves all connections
 * and an idle connection holds no parse memory at all.
 */
export class Scratch {
  readonly table: Uint32Array;
  readonly responseTable: Uint32Array;
  private slab = Buffer.allocUnsafe(0);
  private used = 0;

  constructor(limits: { head: number; target: number; headers: number }) {
    const size = Slot.HEADERS + 5 * limits.headers;
    this.table = new Uint32Array(size);
    this.table[Slot.LIMIT_HEAD] = limits.head;
    this.table[Slot.LIMIT_TARGET] = limits.target;
    this.table[Slot.LIMIT_HEADERS] = limits.headers;
    // Responses: same head limit, a generous header count (origins send many Set-Cookie).
    this.responseTable = new Uint32Array(Slot.HEADERS + 5 * 256);
    this.responseTable[Slot.LIMIT_HEAD] = Math.max(limits.head, 65536);
    this.responseTable[Slot.LIMIT_TARGET] = limits.target;
    this.responseTable[Slot.LIMIT_HEADERS] = 256;
  }

  /**
   * Room for at least `size` bytes of output. Written regions are never reused: a
   * socket may still hold them, so a full slab is dropped to the GC and a new one taken
   * (the same scheme as Node's own Buffer pool).
   */
  out(size: number): { buf: Buffer; start: number } {
    if (this.slab.length - this.used < size) {
      this.slab = Buffer.allocUnsafe(Math.max(size, 256 * 1024));
      this.used = 0;
    }
    return { buf: this.slab, start: this.used };
  }

  /** Marks `n` bytes at the current position as used, returning them. */
  take(n: number): Buffer {
    this.lastStart = this.used;
    this.lastEnd = this.used + n;
    const b = this.slab.subarray(this.lastStart, this.lastEnd);
    this.used += (n + 7) & ~7;
    return b;
  }

  /**
   * `last` (the latest `take`) followed by a copy of `extra`, in one buffer; null when
   * `last` is not the latest region or there is no room behind it.
   */
  extend(last: Buffer, extra: Buffer): Buffer | null {
    if (last.buffer !== this.slab.buffer || last.byteOffset !== this.slab.byteOffset + this.lastStart) return null;
    const end = this.lastEnd + extra.length;
    if (end > this.slab.length) return null;
    extra.copy(this.slab, this.lastEnd);
    this.lastEnd = end;
    this.used = (end + 7) & ~7;
    return this.slab.subarray(this.lastStart, end);
  }

  /**
   * Room for a request head rewritten while it is parsed (readRequest), before anyone knows
   * whether it will be forwarded: `takeParsed` returns it only while nothing else has
   * been taken from the slab since.
   */
  outForParse(size: number): { buf: Buffer; start: number } {
    const room = this.out(size);
    this.parsedSlab = this.slab;
    this.parsedAt = this.used;
    return room;
  }

  /** The `n` bytes readRequest wrote at the room `outForParse` gave, or null when they may have been overwritten. */
  takeParsed(n: number): Buffer | null {
    if (this.parsedSlab !== this.slab || this.parsedAt !== this.used) return null;
    this.parsedSlab = null;
    return this.take(n);
  }

  /**
   * A client's address as bytes for readRequest. Only the latest is kept: requests come
   * from few addresses at a time, and a Buffer kept per connection would cost every idle
   * connection memory.
   */
  addressBytes(ip: string): Buffer {
    if (ip !== this.lastAddress) {
      this.lastAddress = ip;
      this.lastAddressBytes = Buffer.from(ip, 'latin1');
    }
    return this.lastAddressBytes;
  }

  private lastAddress = '';
  private lastAddressBytes = Buffer.alloc(0);
  private lastStart = 0;
  private lastEnd = 0;
  private parsedSlab: Buffer | null = null;
  private parsedAt = 0;
}

export interface ProxyContext {
  settings: ProxySettings;
  plan: RewritePlan;
  upstreams: UpstreamPool;
  resolver: Resolver;
  pages: Pages;
  scratch: Scratch;
  decider: Decider | null;
  /** `auth.enable`: the authenticate phase's logins (src/auth); null skips the phase. */
  auth: Authenticator | null;
  /** `acl.enable`: the external-acl phase's helper (src/external-acl); null skips the phase. */
  externalAcl: ExternalAcl | null;
  /** `parent.proxies`: the parent proxies the connect phase goes through; null: directly. */
  parents: Parents | null;
  /** `redirector.respmod`: the ICAP service responses go through (src/proxy/respmod.ts); null: none. */
  respmod: RespmodService | null;
  stats: DataPathStats | null;
  access: ((r: AccessRecord) => void) | null;
  log: Log;
}

