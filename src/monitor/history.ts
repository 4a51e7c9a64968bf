// The figures behind the dashboard graphs: one point per second for the last minute and one
// point per minute for the last hour, like ExaProxy's monitor (60 of each).
import { DECISIONS, type Snapshot } from './stats';
import type { HelperPools, PoolStats } from './pool';

export interface Point {
  /** end of the interval, ms since the epoch */
  t: number;
  /** requests started during the interval */
  requests: number;
  /** bytes received from clients and from upstream servers */
  bytesIn: number;
  /** bytes sent to clients and to upstream servers */
  bytesOut: number;
  /** open client connections at the end of the interval (the highest seen, for minutes) */
  clients: number;
  upstreams: number;
  /** helper requests waiting, and helpers busy */
  queue: number;
  busy: number;
  /** the same for the auth helpers and the external ACL helpers */
  authQueue: number;
  authBusy: number;
  aclQueue: number;
  aclBusy: number;
  /** decisions taken during the interval, by kind (DECISIONS order) */
  decisions: number[];
}

export const KEPT = 60;

export class History {
  readonly seconds: Point[] = [];
  readonly minutes: Point[] = [];
  private last: Snapshot | undefined;
  private minute: Point | undefined;
  private secondsInMinute = 0;

  /** Called once a second with the current totals. */
  sample(now: Snapshot, pool: PoolStats | undefined, helpers: HelperPools = {}): void {
    const before = this.last;
    this.last = now;
    if (before === undefined) return;
    const point: Point = {
      t: now.time,
      requests: positive(now.counters.requests - before.counters.requests),
      bytesIn: positive(
        now.counters.bytesFromClient + now.counters.bytesFromUpstream - before.counters.bytesFromClient - before.counters.bytesFromUpstream,
      ),
      bytesOut: positive(
        now.counters.bytesToClient + now.counters.bytesToUpstream - before.counters.bytesToClient - before.counters.bytesToUpstream,
      ),
      clients: now.gauges.clientsOpen,
      upstreams: now.gauges.upstreamOpen,
      queue: pool?.queue ?? 0,
      busy: pool?.busy ?? 0,
      authQueue: helpers.auth?.queue ?? 0,
      authBusy: helpers.auth?.busy ?? 0,
      aclQueue: helpers.acl?.queue ?? 0,
      aclBusy: helpers.acl?.busy ?? 0,
      decisions: DECISIONS.map((_, i) => positive(now.decisions[i] - before.decisions[i])),
    };
    keep(this.seconds, point);
    this.addToMinute(point);
  }

  private addToMinute(p: Point): void {
    const m = this.minute;
    if (m === undefined) {
      this.minute = { ...p, decisions: p.decisions.slice() };
    } else {
      m.t = p.t;
      m.requests += p.requests;
      m.bytesIn += p.bytesIn;
      m.bytesOut += p.bytesOut;
      m.clients = Math.max(m.clients, p.clients);
      m.upstreams = Math.max(m.upstreams, p.upstreams);
      m.queue = Math.max(m.queue, p.queue);
      m.busy = Math.max(m.busy, p.busy);
      m.authQueue = Math.max(m.authQueue, p.authQueue);
      m.authBusy = Math.max(m.authBusy, p.authBusy);
      m.aclQueue = Math.max(m.aclQueue, p.aclQueue);
      m.aclBusy = Math.max(m.aclBusy, p.aclBusy);
      for (let i = 0; i < m.decisions.length; i++) m.decisions[i] += p.decisions[i];
    }
    if (++this.secondsInMinute === 60) {
      keep(this.minutes, this.minute as Point);
      this.minute = undefined;
      this.secondsInMinute = 0;
    }
  }

  toJSON(): { decisions: readonly string[]; seconds: Point[]; minutes: Point[]; minuteInProgress: Point | null } {
    return { decisions: DECISIONS, seconds: this.seconds, minutes: this.minutes, minuteInProgress: this.minute ?? null };
  }
}

// A worker restart can make a merged total dip for one sample; a rate is never negative.
function positive(n: number): number {
  return n > 0 ? n : 0;
}

function keep(list: Point[], p: Point): void {
  list.push(p);
  if (list.length > KEPT) list.shift();
}
