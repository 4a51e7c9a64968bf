// Traffic counters for one process, fed by the data path and read by the monitor.
//
// The data path calls these methods for every request, so each one is a plain number
// increment or a typed-array slot increment: no Map lookup, no allocation, no string
// building. The only Map is the per-client-IP count, touched once per connection.
// Counters are float64 so they stay exact up to 2^53 (a Uint32 would wrap at 4 GiB).
import { performance } from 'node:perf_hooks';
import type { Outcome } from '../log/outcome';
import { OUTCOME_NAMES } from '../log/outcome';
import { Method } from '../native/abi.generated';

/** Outcome names, in the order of `Snapshot.decisions` (indexed by Outcome). */
export const DECISIONS = OUTCOME_NAMES;

/** How often the event-loop delay is sampled. */
const LOOP_TICK_MS = 20;

/** The slot of the TLS SNI listener's connections, after the native method ids. */
export const TLS_REQUEST = Math.max(...Object.values(Method)) + 1;
/** The slot of the passthrough listener's connections (method TCP). */
export const TCP_REQUEST = TLS_REQUEST + 1;
/** The slot of the ICAP listener's messages (OPTIONS, REQMOD, RESPMOD alike). */
export const ICAP_REQUEST = TLS_REQUEST + 2;

/** Method names indexed by the native method id (`Method` in abi.generated.ts), then TLS, TCP and ICAP. */
export const METHOD_NAMES: readonly string[] = methodNames();
const METHOD_SLOTS = METHOD_NAMES.length;

/** Upper bounds (milliseconds) of the latency histogram buckets; a last +Inf bucket follows. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** How many client IPs a snapshot carries at most (the busiest ones): it travels over IPC every second. */
export const SNAPSHOT_CLIENT_IPS = 256;

export interface Histogram {
  /** counts per bucket (not cumulative), LATENCY_BUCKETS_MS.length + 1 entries, the last one is +Inf */
  buckets: number[];
  count: number;
  /** sum of the observed values, milliseconds */
  sumMs: number;
}

/** Monotonic counters: summed across workers, and kept when a worker exits. */
export interface Counters {
  requests: number;
  clientsTotal: number;
  upstreamTotal: number;
  bytesFromClient: number;
  bytesToClient: number;
  bytesToClient4: number;
  bytesToClient6: number;
  bytesToUpstream: number;
  bytesFromUpstream: number;
  dnsHits: number;
  dnsMisses: number;
  /** process CPU time, microseconds (user + system) */
  cpuMicros: number;
}

/** Current levels: summed across live workers, dropped when a worker exits. */
export interface Gauges {
  clientsOpen: number;
  upstreamOpen: number;
  /** resident set size, bytes */
  rss: number;
  processes: number;
  /** the longest event-loop delay since the previous snapshot, ms: the worst process's, not a sum */
  eventLoopDelayMs: number;
}

/** A plain JSON-able picture of a Stats, sent between processes and merged by the primary. */
export interface Snapshot {
  time: number;
  counters: Counters;
  gauges: Gauges;
  /** requests by method id (index = `Method` id, 0 = other) */
  methods: number[];
  /** decisions by kind, in DECISIONS order */
  decisions: number[];
  /** responses by status class: index 1..5 for 1xx..5xx, 0 for anything else */
  statuses: number[];
  decisionLatency: Histogram;
  upstreamLatency: Histogram;
  /** open connections per client IP (the busiest SNAPSHOT_CLIENT_IPS of them) */
  clientIps: Record<string, number>;
}

export class Stats {
  requests = 0;
  clientsOpen = 0;
  clientsTotal = 0;
  upstreamOpen = 0;
  upstreamTotal = 0;
  bytesFromClientTotal = 0;
  bytesToClient4 = 0;
  bytesToClient6 = 0;
  bytesToUpstreamTotal = 0;
  bytesFromUpstreamTotal = 0;
  dnsHits = 0;
  dnsMisses = 0;
  readonly methods = new Float64Array(METHOD_SLOTS);
  readonly decisions = new Float64Array(DECISIONS.length);
  readonly statuses = new Float64Array(6);
  readonly decisionLatency = new LatencyHistogram();
  readonly upstreamLatencyHistogram = new LatencyHistogram();
  readonly clientIps = new Map<string, number>();
  /**
   * How late the event loop runs a timer: what every connection of the process waits on top.
   * Measured here rather than with perf_hooks' monitorEventLoopDelay, whose reset() loses
   * the interval after it (a stall right after a snapshot would not show).
   */
  private loopDelayMax = 0;
  private loopTick = performance.now();

  constructor() {
    setInterval(() => {
      const now = performance.now();
      this.loopDelayMax = Math.max(this.loopDelayMax, now - this.loopTick - LOOP_TICK_MS);
      this.loopTick = now;
    }, LOOP_TICK_MS).unref();
  }

  clientOpened(ip: string): void {
    this.clientsOpen++;
    this.clientsTotal++;
    this.clientIps.set(ip, (this.clientIps.get(ip) ?? 0) + 1);
  }

  clientClosed(ip: string): void {
    this.clientsOpen--;
    const n = this.clientIps.get(ip);
    if (n === undefined) return;
    if (n <= 1) this.clientIps.delete(ip);
    else this.clientIps.set(ip, n - 1);
  }

  /** `methodId` is the native `Method` id; unknown ids count as "other". */
  requestStarted(methodId: number): void {
    this.requests++;
    this.methods[methodId >= 0 && methodId < METHOD_SLOTS ? methodId : 0]++;
  }

  /** Once per request: what happened to it, and how long deciding took (helpers included). */
  decision(outcome: Outcome, ms: number): void {
    this.decisions[outcome]++;
    this.decisionLatency.observe(ms);
  }

  responseSent(status: number): void {
    const cls = (status / 100) | 0;
    this.statuses[cls >= 1 && cls <= 5 ? cls : 0]++;
  }

  bytesFromClient(n: number): void {
    this.bytesFromClientTotal += n;
  }

  /** `ipv6` tells the family of the client socket, for ExaProxy's transfer.client4/6 split. */
  bytesToClient(n: number, ipv6 = false): void {
    if (ipv6) this.bytesToClient6 += n;
    else this.bytesToClient4 += n;
  }

  bytesToUpstream(n: number): void {
    this.bytesToUpstreamTotal += n;
  }

  bytesFromUpstream(n: number): void {
    this.bytesFromUpstreamTotal += n;
  }

  upstreamOpened(): void {
    this.upstreamOpen++;
    this.upstreamTotal++;
  }

  upstreamClosed(): void {
    this.upstreamOpen--;
  }

  upstreamLatency(ms: number): void {
    this.upstreamLatencyHistogram.observe(ms);
  }

  dnsHit(): void {
    this.dnsHits++;
  }

  dnsMiss(): void {
    this.dnsMisses++;
  }

  /** A copy of every figure, plus this process's CPU time and RSS. Called about once a second. */
  snapshot(): Snapshot {
    const cpu = process.cpuUsage();
    return {
      time: Date.now(),
      counters: {
        requests: this.requests,
        clientsTotal: this.clientsTotal,
        upstreamTotal: this.upstreamTotal,
        bytesFromClient: this.bytesFromClientTotal,
        bytesToClient: this.bytesToClient4 + this.bytesToClient6,
        bytesToClient4: this.bytesToClient4,
        bytesToClient6: this.bytesToClient6,
        bytesToUpstream: this.bytesToUpstreamTotal,
        bytesFromUpstream: this.bytesFromUpstreamTotal,
        dnsHits: this.dnsHits,
        dnsMisses: this.dnsMisses,
        cpuMicros: cpu.user + cpu.system,
      },
      gauges: {
        clientsOpen: this.clientsOpen,
        upstreamOpen: this.upstreamOpen,
        rss: residentMemory(),
        processes: 1,
        eventLoopDelayMs: this.takeLoopDelay(),
      },
      methods: Array.from(this.methods),
      decisions: Array.from(this.decisions),
      statuses: Array.from(this.statuses),
      decisionLatency: this.decisionLatency.toJSON(),
      upstreamLatency: this.upstreamLatencyHistogram.toJSON(),
      clientIps: busiest(this.clientIps, SNAPSHOT_CLIENT_IPS),
    };
  }

  private takeLoopDelay(): number {
    const ms = Math.max(this.loopDelayMax, performance.now() - this.loopTick - LOOP_TICK_MS, 0);
    this.loopDelayMax = 0;
    return ms;
  }

  /** Sums snapshots of several processes into one (counters, gauges, arrays, histograms, client IPs). */
  static merge(snapshots: readonly Snapshot[]): Snapshot {
    const total = emptySnapshot();
    for (const s of snapshots) {
      total.time = Math.max(total.time, s.time);
      addFields(total.counters, s.counters);
      const delay = Math.max(total.gauges.eventLoopDelayMs, s.gauges.eventLoopDelayMs ?? 0);
      addFields(total.gauges, s.gauges);
      total.gauges.eventLoopDelayMs = delay;
      addArray(total.methods, s.methods);
      addArray(total.decisions, s.decisions);
      addArray(total.statuses, s.statuses);
      addHistogram(total.decisionLatency, s.decisionLatency);
      addHistogram(total.upstreamLatency, s.upstreamLatency);
      for (const ip in s.clientIps) total.clientIps[ip] = (total.clientIps[ip] ?? 0) + s.clientIps[ip];
    }
    return total;
  }
}

let lastRss = 0;

/** RSS reads /proc/self/stat, which fails at the open-file limit (EMFILE): the last value is kept. */
function residentMemory(): number {
  try {
    lastRss = process.memoryUsage.rss();
  } catch {
    // kept: a snapshot must never throw (it runs in timers)
  }
  return lastRss;
}

/**
 * What is left of a process's figures once it has exited: its counters (so totals never go
 * backwards, which Prometheus would read as a reset) without its gauges.
 */
export function retired(s: Snapshot): Snapshot {
  const r = emptySnapshot();
  r.time = s.time;
  addFields(r.counters, s.counters);
  addArray(r.methods, s.methods);
  addArray(r.decisions, s.decisions);
  addArray(r.statuses, s.statuses);
  addHistogram(r.decisionLatency, s.decisionLatency);
  addHistogram(r.upstreamLatency, s.upstreamLatency);
  return r;
}

/**
 * A data path's figures without its process's (CPU time, RSS): in one process the primary
 * counts those once itself, however many data paths (one draining during a reload) report.
 */
export function withoutProcess(s: Snapshot): Snapshot {
  return { ...s, counters: { ...s.counters, cpuMicros: 0 }, gauges: { ...s.gauges, rss: 0, processes: 0 } };
}

export function emptySnapshot(): Snapshot {
  return {
    time: 0,
    counters: {
      requests: 0,
      clientsTotal: 0,
      upstreamTotal: 0,
      bytesFromClient: 0,
      bytesToClient: 0,
      bytesToClient4: 0,
      bytesToClient6: 0,
      bytesToUpstream: 0,
      bytesFromUpstream: 0,
      dnsHits: 0,
      dnsMisses: 0,
      cpuMicros: 0,
    },
    gauges: { clientsOpen: 0, upstreamOpen: 0, rss: 0, processes: 0, eventLoopDelayMs: 0 },
    methods: zeros(METHOD_SLOTS),
    decisions: zeros(DECISIONS.length),
    statuses: zeros(6),
    decisionLatency: emptyHistogram(),
    upstreamLatency: emptyHistogram(),
    clientIps: {},
  };
}

class LatencyHistogram {
  readonly buckets = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  count = 0;
  sumMs = 0;

  observe(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]) i++;
    this.buckets[i]++;
    this.count++;
    this.sumMs += ms;
  }

  toJSON(): Histogram {
    return { buckets: Array.from(this.buckets), count: this.count, sumMs: this.sumMs };
  }
}

function emptyHistogram(): Histogram {
  return { buckets: zeros(LATENCY_BUCKETS_MS.length + 1), count: 0, sumMs: 0 };
}

function zeros(n: number): number[] {
  return Array.from({ length: n }, () => 0);
}


function methodNames(): string[] {
  const names: string[] = [];
  for (const [name, id] of Object.entries(Method)) names[id] = name === 'X_MS_ENUMATTS' ? 'X-MS-ENUMATTS' : name;
  names[TLS_REQUEST] = 'TLS';
  names[TCP_REQUEST] = 'TCP';
  names[ICAP_REQUEST] = 'ICAP';
  for (let i = 0; i < names.length; i++) names[i] ??= `METHOD-${i}`;
  return names;
}

function busiest(ips: Map<string, number>, limit: number): Record<string, number> {
  const entries = [...ips];
  if (entries.length > limit) entries.sort((a, b) => b[1] - a[1]).length = limit;
  return Object.fromEntries(entries);
}

function addFields<T extends object>(into: T, from: T): void {
  const target = into as Record<string, number>;
  const source = from as Record<string, number>;
  for (const key of Object.keys(target)) target[key] += source[key] ?? 0;
}

function addArray(into: number[], from: readonly number[]): void {
  for (let i = 0; i < into.length && i < from.length; i++) into[i] += from[i];
}

function addHistogram(into: Histogram, from: Histogram): void {
  addArray(into.buckets, from.buckets);
  into.count += from.count;
  into.sumMs += from.sumMs;
}
