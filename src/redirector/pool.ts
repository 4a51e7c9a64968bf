/**
 * The redirector pool: long-lived helpers (processes or ICAP connections) deciding each request.
 *
 * - Helpers start at `minimum`, a new one is spawned whenever a request finds none free
 *   (up to `maximum`), and helpers idle for a whole shrink interval are retired.
 * - Every request has two clocks: its attempt on a helper (`timeout`, then the helper is
 *   killed) and its deadline, `timeout` after decide(): the client's whole wait, a retry
 *   after a crash included; then the failure policy answers. decide() never hangs, never
 *   rejects. One coarse timer serves all: attempts and requests share one timeout and sit
 *   in Sets in start order = deadline order, so each tick stops at the first one in time.
 * - A reply is matched only to a request already written to that helper (in order, or by
 *   channel-ID); any other line gets the helper replaced, as Squid does ("unexpected read").
 *   New helpers are written to after a quiet period, so a line printed at start is caught.
 * - A request that cannot be queued, whose helpers failed twice, or that got Squid `BH`
 *   three times, is answered by `failure`: deny (the proxy answers 503) or allow.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createDialect } from './create-dialect';
import { interpretReply, type Dialect, type RawReply } from './dialect';
import type { Helper, HelperOpener } from './helper';
import { processTransport } from './helper-process';
import { checkOptions, checkPoolSize, POOL_INTERNALS } from './options';
import { batchTarget, leastLoaded, loopIdleMs, stillFree, takesAhead } from './pick-helper';
import type { FailureKind, RespawnSubject } from './respawn-policy';
import { HelperRoster } from './roster';
import { Throttle, guarded } from './throttle';
import type { DecideResult, Decision, PoolInternals, PoolStats, RedirectorOptions, RedirectorRequest } from './types';
import { VerdictCache } from './verdict-cache';
import type { Log } from '../log/log';
import type { Attempt, Pending } from './pending';

/** Squid resends a BH'd request up to 2 more times (MAX_RETRIES). */
const MAX_BROKEN_REPLIES = 2;

const clock = (): number => performance.now();

export class RedirectorPool extends EventEmitter {
  private readonly options: RedirectorOptions;
  private readonly dialect: Dialect;
  /** Why a request finds no helper at all. */
  private readonly noHelper: string;
  private readonly timeoutMs: number;
  private readonly tickMs: number;
  private readonly cache: VerdictCache | null;
  private readonly roster: HelperRoster<Attempt>;
  private readonly helpers: ReadonlyArray<Helper<Attempt>>; // the roster's, oldest first
  private readonly queue: Pending[] = [];
  private readonly unsettled = new Set<Pending>();
  private readonly inFlight = new Set<Attempt>();
  /** The helper the last request was written to (see nextHelper). */
  private lastSent: Helper<Attempt> | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private started = false;
  private closing: Promise<void> | null = null;
  private readonly counters = { timeouts: 0, crashes: 0, requests: 0, cacheHits: 0, cacheMisses: 0, failures: 0 };
  private readonly policyLog = new Throttle(1_000);
  private readonly noteLog = new Throttle(10_000);

  /**
   * `dialect`: another protocol of the same request/reply shape (src/auth's login helpers);
   * `transport`: helpers that are not processes of `program` (ICAP connections, icap-service.ts).
   */
  constructor(options: RedirectorOptions, private readonly log: Log, internals: PoolInternals = {}, dialect?: Dialect,
    transport?: { open: HelperOpener; subject: RespawnSubject }) {
    super();
    this.options = checkOptions(options);
    const tuning = { ...POOL_INTERNALS, ...internals };
    this.dialect = dialect ?? createDialect(options);
    this.timeoutMs = options.timeout * 1000;
    this.tickMs = Math.min(250, Math.max(10, this.timeoutMs / 10));
    this.cache = options.cache > 0 ? new VerdictCache(options.cache * 1000, tuning.cacheEntries) : null;
    const settings = {
      program: options.program,
      dialect: this.dialect,
      log,
      maxReplyBytes: tuning.maxReplyBytes,
      stderrLinesPerSecond: tuning.stderrLinesPerSecond,
      quietMs: tuning.startQuietMs,
    };
    const hooks = {
      onReplies: (helper: Helper<Attempt>, replies: RawReply[]) => this.onReplies(helper, replies),
      onFailure: (helper: Helper<Attempt>, reason: string, kind: FailureKind) => this.failHelper(helper, reason, kind),
      onExit: (helper: Helper<Attempt>, code: number | null, signal: NodeJS.Signals | null) => this.onExit(helper, code, signal),
    };
    const events = {
      spawned: (pid: number | undefined) => this.emit('spawn', { pid }),
      spawnAllowed: () => this.drain(),
      queued: () => this.queue.length,
    };
    const { open, subject } = transport ?? processTransport(settings);
    this.noHelper = subject.none;
    this.roster = new HelperRoster<Attempt>(open, subject, hooks, events, tuning, log, options);
    this.helpers = this.roster.helpers;
  }

  /** Spawns the `minimum` helpers. decide() calls it on first use if needed. */
  start(): void {
    if (this.started || this.closing !== null) return;
    this.started = true;
    this.roster.start();
  }

  decide(req: RedirectorRequest): Promise<DecideResult> {
    return new Promise((resolve) => this.ask(req, resolve));
  }

  /**
   * decide() with a callback, as the data path asks: no promise and no microtask per request.
   * `done` is called once; at once when no helper is waited for (a remembered verdict, the policy).
   */
  ask(req: RedirectorRequest, done: (result: DecideResult) => void): void {
    this.counters.requests++;
    if (this.closing !== null) return done(this.policyResult('the redirector pool is closed', '-'));
    if (!this.started) this.start();
    const now = clock();
    let payload: string;
    try {
      payload = this.dialect.encode(req);
    } catch (error) {
      return done(this.policyResult(`the request could not be written for the helper: ${(error as Error).message}`, '-'));
    }
    if (this.cache !== null) {
      const hit = this.cache.get(payload, now);
      if (hit !== undefined) {
        this.counters.cacheHits++;
        return done({ decision: hit.decision, verdict: hit.verdict, cached: true });
      }
      this.counters.cacheMisses++;
    }
    const pending: Pending = {
      req, payload, resolve: done, deadline: now + this.timeoutMs, failures: 0, brokenReplies: 0,
      lastHelper: null, lastVerdict: '-', settled: false,
    };
    this.unsettled.add(pending);
    this.ticker ??= setInterval(guarded('redirector: timeout tick', this.log, () => this.tick()), this.tickMs);
    try {
      this.place(pending, false);
    } catch (error) {
      // ask() never throws: an internal fault becomes a policy answer, and is logged.
      this.log.error({ error }, 'redirector pool failed to place a request');
      this.settlePolicy(pending, `internal error: ${(error as Error).message}`);
    }
  }

  /** Changes the pool bounds at run time: spawns up to the new minimum, retires above the new maximum. */
  resize(minimum: number, maximum: number): void {
    const bounds = checkPoolSize(minimum, maximum);
    this.log.info(bounds, 'redirector pool resized');
    this.roster.resize(bounds.minimum, bounds.maximum);
    if (this.started) this.drain();
  }

  /** Forgets every remembered verdict (an ICAP service announced a new ISTag: its answers may differ). */
  forgetVerdicts(): void {
    this.cache?.clear();
  }

  /** The answer of `redirector.failure` for a request no helper may be asked about; counted and logged as any. */
  answerByPolicy(reason: string): DecideResult {
    this.counters.requests++;
    return this.policyResult(reason, '-');
  }

  stats(): PoolStats {
    return {
      size: this.helpers.length,
      busy: this.roster.busy(),
      queue: this.queue.length,
      inFlight: this.inFlight.size,
      ...this.counters,
      minimum: this.roster.minimum,
      maximum: this.roster.maximum,
    };
  }

  /** Answers everything pending by policy, SIGTERMs every helper and waits (SIGKILL after the grace period). */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    const pending = [...this.unsettled];
    this.closing = Promise.resolve(); // from here on, decide() answers by policy at once
    for (const request of pending) this.settlePolicy(request, 'the redirector pool is closing');
    this.queue.length = 0;
    this.inFlight.clear();
    this.closing = this.roster.close();
    return this.closing;
  }

  // ---- dispatching -------------------------------------------------------------------

  /** Sends a request to a free helper (spawning one if allowed), else queues it, else applies the policy. */
  private place(pending: Pending, retry: boolean): void {
    const helper = this.nextHelper(pending.lastHelper);
    if (helper !== undefined) {
      this.send(helper, pending);
    } else if (this.helpers.length === 0) {
      this.settlePolicy(pending, this.noHelper);
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
   * loaded helper with a free slot that may take requests ahead (see pick-helper).
   */
  private nextHelper(avoid: Helper<Attempt> | null): Helper<Attempt> | undefined {
    const { slotsPerHelper: slots, channels } = this.dialect;
    const batching = batchTarget(this.lastSent, avoid, slots, channels);
    if (batching !== undefined) return batching;
    const best = leastLoaded(this.helpers, avoid, slots);
    if (best !== undefined && best.slots.size === 0) return best;
    const grown = this.roster.grow();
    if (grown !== undefined) return grown;
    if (best !== undefined && takesAhead(best, channels)) return best;
    return stillFree(avoid, slots);
  }

  private send(helper: Helper<Attempt>, pending: Pending): void {
    const now = clock();
    const seq = helper.nextSequence();
    const attempt: Attempt = { pending, helper, seq, deadline: now + this.timeoutMs, idle: loopIdleMs() };
    helper.slots.set(seq, attempt);
    helper.lastActive = now;
    this.inFlight.add(attempt);
    pending.lastHelper = helper;
    this.lastSent = helper;
    helper.write(seq, this.dialect.channels ? `${seq} ${pending.payload}` : pending.payload, now);
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
      for (const pending of this.queue.splice(0)) this.settlePolicy(pending, this.noHelper);
    }
  }

  // ---- helper replies ----------------------------------------------------------------

  private onReplies(helper: Helper<Attempt>, replies: RawReply[]): void {
    const now = clock();
    const idle = loopIdleMs();
    for (const reply of replies) {
      if (helper.state === 'dead') return;
      const attempt = this.attemptFor(helper, reply);
      if (attempt === undefined) continue;
      helper.slots.delete(attempt.seq);
      this.inFlight.delete(attempt);
      helper.answered++;
      // Time per answer, queueing behind pipelined requests included: what the proxy waited
      // idle for it (see loopIdleMs); an answer to a request held by the quiet period, from its end.
      const sent = attempt.deadline - this.timeoutMs;
      const waited = sent >= helper.quietUntil ? idle - attempt.idle : now - helper.quietUntil;
      helper.serviceMs += (waited - helper.serviceMs) / 8;
      helper.lastActive = now;
      this.roster.respawn.answered();
      this.apply(attempt.pending, reply, helper);
    }
    this.roster.answered(helper);
    this.drain();
  }

  /** The request `reply` answers; a line that answers none gets the helper replaced. */
  private attemptFor(helper: Helper<Attempt>, reply: RawReply): Attempt | undefined {
    const attempt = this.dialect.channels ? helper.slots.get(reply.channel ?? -1) : helper.slots.values().next().value;
    if (attempt !== undefined && attempt.seq <= helper.writtenSeq) return attempt;
    // Squid kills such a helper too. In order, an extra line would pair every later reply
    // with the wrong request; with channel-IDs, the helper no longer knows what it answers.
    const line = JSON.stringify(reply.verdict.slice(0, 200));
    const when = helper.writtenSeq === 0 ? 'before any request was written to it' : 'while no request was pending';
    const reason = this.dialect.channels && attempt === undefined && reply.channel !== -1
      ? `answered ${line} on channel-ID ${reply.channel}, which no pending request has`
      : `wrote ${line}${reply.channel === -1 ? ' without a channel-ID' : ''} ${when}`;
    this.failHelper(helper, reason, 'broken', reply.verdict.slice(0, 200));
    return undefined;
  }

  private apply(pending: Pending, reply: RawReply, helper: Helper<Attempt>): void {
    pending.lastVerdict = reply.verdict;
    const outcome = interpretReply(this.dialect, reply, pending.req);
    if (outcome.kind === 'retry') {
      this.log.warn({ pid: helper.pid, reply: reply.verdict }, `redirector ${outcome.reason}; asking another helper`);
      if (pending.settled) return;
      pending.brokenReplies++;
      if (pending.brokenReplies > MAX_BROKEN_REPLIES) this.settlePolicy(pending, `${outcome.reason} (3 attempts)`);
      else this.place(pending, true);
      return;
    }
    if (outcome.kind === 'fail') {
      this.settlePolicy(pending, outcome.reason);
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
  private failHelper(helper: Helper<Attempt>, reason: string, kind: FailureKind, line?: string): void {
    if (helper.state === 'dead') return;
    const expected = helper.state === 'stopping';
    if (expected) helper.state = 'dead';
    else helper.kill();
    this.roster.remove(helper);
    if (!expected && this.closing === null) {
      if (kind === 'crash') this.counters.crashes++;
      this.roster.respawn.report(helper, reason, kind, clock(), line);
    }
    for (const attempt of helper.slots.values()) {
      this.inFlight.delete(attempt);
      this.retryAfterFailure(attempt.pending, `the helper ${reason}`);
    }
    helper.slots.clear();
    this.roster.replenish();
    this.drain();
  }

  private retryAfterFailure(pending: Pending, reason: string): void {
    if (pending.settled) return;
    if (clock() >= pending.deadline) {
      this.settlePolicy(pending, `${reason}, and the request had no time left for another (redirector.timeout ${this.options.timeout}s)`);
      return;
    }
    pending.failures++;
    if (pending.failures >= 2) this.settlePolicy(pending, `${reason} (second helper failure for this request)`);
    else this.place(pending, true);
  }

  private onExit(helper: Helper<Attempt>, code: number | null, signal: NodeJS.Signals | null): void {
    this.roster.exited(helper);
    this.log.debug({ pid: helper.pid, code, signal }, 'redirector helper exited');
    this.emit('exit', { pid: helper.pid, code, signal });
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
      this.settlePolicy(pending, `no verdict within ${this.options.timeout}s (redirector.timeout)`);
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
