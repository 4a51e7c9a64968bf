/**
 * The redirector pool: long-lived helper processes that decide each request.
 *
 * - Helpers start at `minimum`, a new one is spawned whenever a request finds none free
 *   (up to `maximum`), and helpers idle for a whole shrink interval are retired.
 * - Every request has two clocks: its attempt on a helper (`timeout`; the helper is then
 *   killed and the request retried once elsewhere) and its own deadline (timeout + one
 *   retry), after which the failure policy answers. decide() therefore never hangs and
 *   never rejects. One coarse interval timer serves all requests: attempts and requests
 *   are kept in Sets in start order, and they share one timeout, so start order is
 *   deadline order and each tick stops at the first entry still in time.
 * - A request that cannot be queued, whose helpers failed twice, or that got Squid `BH`
 *   three times, is answered by `failure`: deny (the proxy answers 503) or allow.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createDialect } from './create-dialect';
import type { Dialect, Outcome, RawReply } from './dialect';
import { Helper } from './helper-process';
import type { HelperHooks, HelperSettings } from './helper-process';
import { checkOptions, checkPoolSize } from './options';
import { Throttle } from './throttle';
import type {
  DecideResult, Decision, PoolInternals, PoolStats, RedirectorLog, RedirectorOptions, RedirectorRequest,
} from './types';
import { VerdictCache } from './verdict-cache';

interface Pending {
  req: RedirectorRequest;
  /** What the helper is sent (without channel-ID): also the cache key. */
  payload: string;
  resolve: (result: DecideResult) => void;
  /** Monotonic ms after which the failure policy answers. */
  deadline: number;
  /** Helper failures (exit, timeout, garbage) met so far: the second one ends the request. */
  failures: number;
  /** Squid `BH` replies so far: Squid resends up to twice. */
  brokenReplies: number;
  lastHelper: Helper<Attempt> | null;
  lastVerdict: string;
  settled: boolean;
}

interface Attempt {
  pending: Pending;
  helper: Helper<Attempt>;
  seq: number;
  deadline: number;
}

const DEFAULTS: Required<PoolInternals> = {
  shrinkIntervalMs: 60_000,
  stopGraceMs: 3_000,
  cacheEntries: 100_000,
  maxReplyBytes: 1024 * 1024,
  stderrLinesPerSecond: 20,
};

/** A helper that dies this soon without answering anything is "crashing at start". */
const QUICK_DEATH_MS = 1_000;
const MAX_RESPAWN_DELAY_MS = 10_000;
/** A helper answering faster than this (moving average) may be sent requests ahead (pipeline). */
const QUICK_HELPER_MS = 1;
/** Squid resends a BH'd request up to 2 more times (MAX_RETRIES). */
const MAX_BROKEN_REPLIES = 2;

const clock = (): number => performance.now();

export class RedirectorPool extends EventEmitter {
  private readonly options: RedirectorOptions;
  private readonly dialect: Dialect;
  private readonly internals: Required<PoolInternals>;
  private readonly settings: HelperSettings;
  private readonly hooks: HelperHooks<Attempt>;
  private readonly timeoutMs: number;
  private readonly tickMs: number;
  private readonly cache: VerdictCache | null;
  private minimum: number;
  private maximum: number;
  /** Helpers taking requests, oldest first. */
  private readonly helpers: Array<Helper<Attempt>> = [];
  /** Helpers finishing their requests before they stop. */
  private readonly retiring = new Set<Helper<Attempt>>();
  /** Every process not yet seen exiting, so close() can wait for all of them. */
  private readonly processes = new Set<Helper<Attempt>>();
  private readonly queue: Pending[] = [];
  private readonly unsettled = new Set<Pending>();
  private readonly inFlight = new Set<Attempt>();
  /** The helper the last request was written to (see nextHelper). */
  private lastSent: Helper<Attempt> | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private shrinker: NodeJS.Timeout | null = null;
  private respawnTimer: NodeJS.Timeout | null = null;
  private spawnBlockedUntil = 0;
  private quickDeaths = 0;
  private started = false;
  private closing: Promise<void> | null = null;
  private readonly counters = { timeouts: 0, crashes: 0, requests: 0, cacheHits: 0, cacheMisses: 0, failures: 0 };
  private readonly policyLog = new Throttle(1_000);
  private readonly noteLog = new Throttle(10_000);
  private readonly startLog = new Throttle(5_000);

  constructor(options: RedirectorOptions, private readonly log: RedirectorLog, internals: PoolInternals = {}) {
    super();
    this.options = checkOptions(options);
    this.internals = { ...DEFAULTS, ...internals };
    this.dialect = createDialect(options);
    this.minimum = options.minimum;
    this.maximum = options.maximum;
    this.timeoutMs = options.timeout * 1000;
    this.tickMs = Math.min(250, Math.max(10, this.timeoutMs / 10));
    this.cache = options.cache > 0 ? new VerdictCache(options.cache * 1000, this.internals.cacheEntries) : null;
    this.settings = {
      program: options.program,
      dialect: this.dialect,
      log,
      maxReplyBytes: this.internals.maxReplyBytes,
      stderrLinesPerSecond: this.internals.stderrLinesPerSecond,
    };
    this.hooks = {
      onReplies: (helper, replies) => this.onReplies(helper, replies),
      onFailure: (helper, reason, kind) => this.failHelper(helper, reason, kind),
      onExit: (helper, code, signal) => this.onExit(helper, code, signal),
    };
  }

  /** Spawns the `minimum` helpers. decide() calls it on first use if needed. */
  start(): void {
    if (this.started || this.closing !== null) return;
    this.started = true;
    this.replenish();
    this.shrinker = setInterval(() => this.shrink(), this.internals.shrinkIntervalMs);
    this.shrinker.unref();
  }

  decide(req: RedirectorRequest): Promise<DecideResult> {
    this.counters.requests++;
    if (this.closing !== null) return Promise.resolve(this.policyResult('the redirector pool is closed', '-'));
    if (!this.started) this.start();
    const now = clock();
    let payload: string;
    try {
      payload = this.dialect.encode(req);
    } catch (error) {
      return Promise.resolve(this.policyResult(`the request could not be written for the helper: ${(error as Error).message}`, '-'));
    }
    if (this.cache !== null) {
      const hit = this.cache.get(payload, now);
      if (hit !== undefined) {
        this.counters.cacheHits++;
        return Promise.resolve({ decision: hit.decision, verdict: hit.verdict, cached: true });
      }
      this.counters.cacheMisses++;
    }
    return new Promise((resolve) => {
      const pending: Pending = {
        req, payload, resolve, deadline: now + 2 * this.timeoutMs, failures: 0, brokenReplies: 0,
        lastHelper: null, lastVerdict: '-', settled: false,
      };
      this.unsettled.add(pending);
      this.ticker ??= setInterval(() => this.tick(), this.tickMs);
      try {
        this.place(pending, false);
      } catch (error) {
        // decide() never rejects: an internal fault becomes a policy answer, and is logged.
        this.log.error({ error }, 'redirector pool failed to place a request');
        this.settlePolicy(pending, `internal error: ${(error as Error).message}`);
      }
    });
  }

  /** Changes the pool bounds at run time: spawns up to the new minimum, retires above the new maximum. */
  resize(minimum: number, maximum: number): void {
    const bounds = checkPoolSize(minimum, maximum);
    this.minimum = bounds.minimum;
    this.maximum = bounds.maximum;
    this.log.info({ minimum: this.minimum, maximum: this.maximum }, 'redirector pool resized');
    while (this.helpers.length > this.maximum) {
      let victim = this.helpers[0]!;
      for (const helper of this.helpers) if (helper.slots.size === 0) victim = helper; // the newest idle one
      this.retire(victim);
    }
    if (this.started) {
      this.replenish();
      this.drain();
    }
  }

  stats(): PoolStats {
    let busy = 0;
    for (const helper of this.helpers) if (helper.slots.size > 0) busy++;
    for (const helper of this.retiring) if (helper.slots.size > 0) busy++;
    return {
      size: this.helpers.length,
      busy,
      queue: this.queue.length,
      inFlight: this.inFlight.size,
      ...this.counters,
      minimum: this.minimum,
      maximum: this.maximum,
    };
  }

  /** Answers everything pending by policy, SIGTERMs every helper and waits (SIGKILL after the grace period). */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    for (const timer of [this.ticker, this.shrinker, this.respawnTimer]) if (timer !== null) clearTimeout(timer);
    this.ticker = this.shrinker = this.respawnTimer = null;
    const pending = [...this.unsettled];
    this.closing = Promise.resolve(); // from here on, decide() answers by policy at once
    for (const request of pending) this.settlePolicy(request, 'the redirector pool is closing');
    this.queue.length = 0;
    this.inFlight.clear();
    this.helpers.length = 0;
    this.retiring.clear();
    const exits = [...this.processes].map((helper) => helper.stop(this.internals.stopGraceMs));
    this.closing = Promise.all(exits).then(() => undefined);
    return this.closing;
  }

  // ---- dispatching -------------------------------------------------------------------

  /** Sends a request to a free helper (spawning one if allowed), else queues it, else applies the policy. */
  private place(pending: Pending, retry: boolean): void {
    const helper = this.nextHelper(pending.lastHelper);
    if (helper !== undefined) {
      this.send(helper, pending);
    } else if (this.helpers.length === 0) {
      this.settlePolicy(pending, 'no redirector helper is running (the program keeps exiting: see the errors logged before)');
    } else if (retry) {
      this.queue.unshift(pending); // already waited once: first in line
    } else if (this.queue.length < this.options.queue) {
      this.queue.push(pending);
    } else {
      this.settlePolicy(pending, `the redirector queue is full (${this.options.queue} requests waiting, ${this.helpers.length} helpers busy)`);
    }
  }

  /**
   * Where a request goes: an idle helper, else a new one (up to `maximum`), else the least
   * loaded helper with a free slot (several slots: channel-IDs, or in-order pipelining).
   */
  private nextHelper(avoid: Helper<Attempt> | null): Helper<Attempt> | undefined {
    const slots = this.dialect.slotsPerHelper;
    // A quick helper already being written to during this turn of the event loop costs no
    // extra system call or wake-up: requests arriving together go to it together.
    const batching = this.lastSent;
    if (
      batching !== null && batching !== avoid && batching.writePending && batching.state === 'running' &&
      batching.slots.size < slots && (this.dialect.channels || batching.serviceMs < QUICK_HELPER_MS)
    ) {
      return batching;
    }
    const best = this.freeHelper(avoid);
    if (best !== undefined && best.slots.size === 0) return best;
    const grown = this.grow();
    if (grown !== undefined) return grown;
    // All busy, at the maximum. Channel-IDs make any free slot fine; an in-order helper gets
    // a request written ahead only when it answers quickly (a slow one would hold it back,
    // where the queue gives it to whichever helper frees first).
    if (best !== undefined && (this.dialect.channels || best.serviceMs < QUICK_HELPER_MS)) return best;
    return this.stillFree(avoid);
  }

  /**
   * The least loaded helper with a free slot, other than `avoid`: a request that got `BH`
   * goes to another helper, even a new one, before going back to the same one.
   */
  private freeHelper(avoid: Helper<Attempt> | null): Helper<Attempt> | undefined {
    let best: Helper<Attempt> | undefined;
    let bestLoad = this.dialect.slotsPerHelper;
    for (const helper of this.helpers) {
      const load = helper.slots.size;
      if (load < bestLoad && helper !== avoid) {
        best = helper;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  }

  /** `helper` if it still takes requests and has a free slot (the last resort for a retry). */
  private stillFree(helper: Helper<Attempt> | null): Helper<Attempt> | undefined {
    return helper !== null && helper.state === 'running' && helper.slots.size < this.dialect.slotsPerHelper ? helper : undefined;
  }

  private send(helper: Helper<Attempt>, pending: Pending): void {
    const now = clock();
    const seq = helper.nextSequence();
    const attempt: Attempt = { pending, helper, seq, deadline: now + this.timeoutMs };
    helper.slots.set(seq, attempt);
    helper.lastActive = now;
    this.inFlight.add(attempt);
    pending.lastHelper = helper;
    this.lastSent = helper;
    helper.write(this.dialect.channels ? `${seq} ${pending.payload}` : pending.payload);
  }

  /** Feeds queued requests to free helpers, growing the pool as needed. */
  private drain(): void {
    while (this.queue.length > 0) {
      const pending = this.queue[0]!;
      if (pending.settled) {
        this.queue.shift();
        continue;
      }
      const helper = this.nextHelper(pending.lastHelper);
      if (helper === undefined) break;
      this.queue.shift();
      this.send(helper, pending);
    }
    if (this.queue.length > 0 && this.helpers.length === 0) {
      for (const pending of this.queue.splice(0)) {
        this.settlePolicy(pending, 'no redirector helper is running (the program keeps exiting: see the errors logged before)');
      }
    }
  }

  // ---- helper replies ----------------------------------------------------------------

  private onReplies(helper: Helper<Attempt>, replies: RawReply[]): void {
    for (const reply of replies) {
      if (helper.state === 'dead') return;
      const attempt = this.attemptFor(helper, reply);
      if (attempt === undefined) continue;
      helper.slots.delete(attempt.seq);
      this.inFlight.delete(attempt);
      helper.answered++;
      const now = clock();
      // How long this helper takes per answer (queueing behind pipelined requests included).
      helper.serviceMs += (now - (attempt.deadline - this.timeoutMs) - helper.serviceMs) / 8;
      helper.lastActive = now;
      this.quickDeaths = 0;
      this.apply(attempt.pending, reply, helper);
    }
    if (helper.state === 'retiring' && helper.slots.size === 0) {
      this.retiring.delete(helper);
      void helper.stop(this.internals.stopGraceMs);
    }
    this.drain();
  }

  private attemptFor(helper: Helper<Attempt>, reply: RawReply): Attempt | undefined {
    if (this.dialect.channels) {
      const attempt = helper.slots.get(reply.channel ?? -1);
      if (attempt === undefined) {
        this.log.warn({ pid: helper.pid, channel: reply.channel, reply: reply.verdict }, 'redirector helper answered on a channel-ID with no request pending; reply dropped (as Squid does)');
      }
      return attempt;
    }
    const first = helper.slots.values().next();
    if (first.done === true) {
      // Without channel-IDs an extra line would pair every later reply with the wrong request.
      this.failHelper(helper, `wrote ${JSON.stringify(reply.verdict.slice(0, 200))} while no request was pending`, 'broken');
      return undefined;
    }
    return first.value;
  }

  private apply(pending: Pending, reply: RawReply, helper: Helper<Attempt>): void {
    pending.lastVerdict = reply.verdict;
    let outcome: Outcome;
    try {
      outcome = this.dialect.interpret(reply, pending.req);
    } catch (error) {
      outcome = { kind: 'decision' as const, cacheable: false, decision: { kind: 'error' as const, reason: `the helper reply could not be read: ${(error as Error).message}` } };
    }
    if (outcome.kind === 'retry') {
      this.log.warn({ pid: helper.pid, reply: reply.verdict }, `redirector ${outcome.reason}; asking another helper`);
      if (pending.settled) return;
      pending.brokenReplies++;
      if (pending.brokenReplies > MAX_BROKEN_REPLIES) this.settlePolicy(pending, `${outcome.reason} (3 attempts)`);
      else this.place(pending, true);
      return;
    }
    if (outcome.note !== undefined) {
      const suppressed = this.noteLog.pass(clock());
      if (suppressed !== null) this.log.warn({ pid: helper.pid, reply: reply.verdict, suppressed }, `redirector: ${outcome.note}`);
    }
    if (this.cache !== null && outcome.cacheable) this.cache.set(pending.payload, outcome.decision, reply.verdict, clock());
    this.settle(pending, { decision: outcome.decision, verdict: reply.verdict, cached: false });
  }

  // ---- helper failures ---------------------------------------------------------------

  /** Ends a helper that can no longer answer and sends its requests elsewhere (once). */
  private failHelper(helper: Helper<Attempt>, reason: string, kind: 'crash' | 'broken' | 'timeout'): void {
    if (helper.state === 'dead') return;
    const expected = helper.state === 'stopping';
    if (expected) helper.state = 'dead';
    else helper.kill();
    const index = this.helpers.indexOf(helper);
    if (index !== -1) this.helpers.splice(index, 1);
    this.retiring.delete(helper);
    if (!expected && this.closing === null) this.reportFailure(helper, reason, kind);
    for (const attempt of helper.slots.values()) {
      this.inFlight.delete(attempt);
      this.retryAfterFailure(attempt.pending, `the helper ${reason}`);
    }
    helper.slots.clear();
    this.replenish();
    this.drain();
  }

  private reportFailure(helper: Helper<Attempt>, reason: string, kind: 'crash' | 'broken' | 'timeout'): void {
    const now = clock();
    if (kind === 'crash') this.counters.crashes++;
    if (kind === 'crash' && helper.answered === 0 && now - helper.startedAt < QUICK_DEATH_MS) {
      // One early death may be a request that crashes its helper; a run of them is a broken
      // program, and respawning it at full speed would only burn CPU.
      this.quickDeaths++;
      const delay = this.quickDeaths === 1 ? 0 : Math.min(100 * 2 ** (this.quickDeaths - 2), MAX_RESPAWN_DELAY_MS);
      this.spawnBlockedUntil = now + delay;
      const suppressed = this.startLog.pass(now);
      if (suppressed !== null) {
        this.log.error({ program: this.options.program, pid: helper.pid, reason, suppressed },
          `redirector helper stopped before answering anything (it ${reason}); starting another in ${delay} ms. Check redirector.program and run it by hand to see why it stops`);
      }
      return;
    }
    const what = kind === 'broken' ? 'misbehaved' : 'failed';
    this.log.warn({ pid: helper.pid, reason, inFlight: helper.slots.size }, `redirector helper ${what}: it ${reason}; replacing it`);
  }

  private retryAfterFailure(pending: Pending, reason: string): void {
    if (pending.settled) return;
    pending.failures++;
    if (pending.failures >= 2) this.settlePolicy(pending, `${reason} (second helper failure for this request)`);
    else this.place(pending, true);
  }

  private onExit(helper: Helper<Attempt>, code: number | null, signal: NodeJS.Signals | null): void {
    this.processes.delete(helper);
    this.log.debug({ pid: helper.pid, code, signal }, 'redirector helper exited');
    this.emit('exit', { pid: helper.pid, code, signal });
  }

  // ---- pool size ---------------------------------------------------------------------

  /** Spawns a helper for a request that found none free, unless at `maximum` or backing off. */
  private grow(): Helper<Attempt> | undefined {
    if (this.closing !== null || this.helpers.length >= this.maximum) return undefined;
    const now = clock();
    if (now < this.spawnBlockedUntil) {
      this.scheduleRespawn(now);
      return undefined;
    }
    return this.spawn(now);
  }

  /** Keeps at least `minimum` helpers running. */
  private replenish(): void {
    if (!this.started || this.closing !== null) return;
    const now = clock();
    while (this.helpers.length < this.minimum) {
      if (now < this.spawnBlockedUntil) {
        this.scheduleRespawn(now);
        return;
      }
      if (this.spawn(now) === undefined) return;
    }
  }

  private spawn(now: number): Helper<Attempt> | undefined {
    let helper: Helper<Attempt>;
    try {
      helper = new Helper<Attempt>(this.settings, this.hooks, now);
    } catch (error) {
      // spawn() throws for errors it does not report as events: treat it as a failed start.
      this.quickDeaths++;
      this.spawnBlockedUntil = now + Math.min(100 * 2 ** this.quickDeaths, MAX_RESPAWN_DELAY_MS);
      this.log.error({ program: this.options.program }, `redirector helper could not be started: ${(error as Error).message}. Check redirector.program`);
      return undefined;
    }
    if (helper.pid === undefined) {
      // spawn() failed (ENOENT, EACCES…). The 'error' event that follows logs why and sets the
      // real back-off; until then, do not try again for every request of this tick.
      this.spawnBlockedUntil = now + 100;
      return undefined;
    }
    this.processes.add(helper);
    this.helpers.push(helper);
    this.emit('spawn', { pid: helper.pid });
    return helper;
  }

  private scheduleRespawn(now: number): void {
    if (this.respawnTimer !== null) return;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = null;
      this.replenish();
      this.drain();
    }, Math.max(1, this.spawnBlockedUntil - now));
  }

  /** Retires helpers above `minimum` that stayed idle for a whole shrink interval. */
  private shrink(): void {
    if (this.queue.length > 0) return;
    const now = clock();
    for (const helper of this.helpers.slice()) { // a copy: retire() removes from the list
      if (this.helpers.length <= this.minimum) break;
      if (helper.slots.size === 0 && now - helper.lastActive >= this.internals.shrinkIntervalMs) this.retire(helper);
    }
  }

  private retire(helper: Helper<Attempt>): void {
    const index = this.helpers.indexOf(helper);
    if (index !== -1) this.helpers.splice(index, 1);
    this.log.info({ pid: helper.pid, size: this.helpers.length }, 'redirector helper retired');
    if (helper.slots.size === 0) {
      void helper.stop(this.internals.stopGraceMs);
    } else {
      helper.state = 'retiring';
      this.retiring.add(helper);
    }
  }

  // ---- deadlines and answers ---------------------------------------------------------

  private tick(): void {
    const now = clock();
    for (const attempt of this.inFlight) {
      if (attempt.deadline > now) break;
      this.counters.timeouts++;
      this.emit('timeout', { pid: attempt.helper.pid });
      this.failHelper(attempt.helper, `gave no answer within ${this.options.timeout}s`, 'timeout');
    }
    for (const pending of this.unsettled) {
      if (pending.deadline > now) break;
      this.settlePolicy(pending, `no verdict within ${2 * this.options.timeout}s (the timeout and one retry)`);
    }
    if (this.unsettled.size === 0 && this.inFlight.size === 0 && this.ticker !== null) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  private settle(pending: Pending, result: DecideResult): void {
    if (pending.settled) return;
    pending.settled = true;
    this.unsettled.delete(pending);
    pending.resolve(result);
  }

  private settlePolicy(pending: Pending, reason: string): void {
    if (pending.settled) return;
    const queued = this.queue.indexOf(pending);
    if (queued !== -1) this.queue.splice(queued, 1);
    this.settle(pending, this.policyResult(reason, pending.lastVerdict));
  }

  private policyResult(reason: string, verdict: string): DecideResult {
    this.counters.failures++;
    const suppressed = this.policyLog.pass(clock());
    if (suppressed !== null) {
      this.log.warn({ policy: this.options.failure, suppressed }, `redirector: ${reason}; answered by redirector failure policy "${this.options.failure}"`);
    }
    const decision: Decision = this.options.failure === 'deny' ? { kind: 'deny', reason } : { kind: 'permit' };
    return { decision, verdict, cached: false, failure: reason };
  }
}
