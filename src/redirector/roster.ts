/**
 * Which helpers exist (processes, or connections to an ICAP service): starts them (at least
 * `minimum`, up to `maximum` when requests find none free, with the back-off of
 * respawn-policy), retires idle ones above `minimum`, and keeps every one not yet seen
 * gone so that close() can wait for all.
 * Which helper a request goes to is the pool's business.
 */
import { performance } from 'node:perf_hooks';
import type { Helper, HelperHooks, HelperOpener } from './helper';
import { RespawnPolicy, type RespawnSubject } from './respawn-policy';
import type { Log } from '../log/log';
import { guarded } from '../monitor/periodic';

export interface RosterEvents {
  spawned(pid: number | undefined): void;
  /** A spawn held back by the back-off may now happen: the pool feeds its queue. */
  spawnAllowed(): void;
  /** Requests waiting for a helper: none may be retired while some wait. */
  queued(): number;
}

export interface RosterTimes {
  shrinkIntervalMs: number;
  stopGraceMs: number;
}

const clock = (): number => performance.now();

export class HelperRoster<A> {
  /** Helpers taking requests, oldest first. */
  readonly helpers: Array<Helper<A>> = [];
  /** Helpers finishing their requests before they stop. */
  private readonly retiring = new Set<Helper<A>>();
  /** Every process not yet seen exiting. */
  private readonly processes = new Set<Helper<A>>();
  readonly respawn: RespawnPolicy;
  minimum: number;
  maximum: number;
  /** Started and not closed: only then are helpers spawned. */
  private active = false;
  private shrinker: NodeJS.Timeout | null = null;
  private respawnTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly open: HelperOpener,
    subject: RespawnSubject,
    private readonly hooks: HelperHooks<A>,
    private readonly events: RosterEvents,
    private readonly times: RosterTimes,
    private readonly log: Log,
    bounds: { minimum: number; maximum: number },
  ) {
    this.minimum = bounds.minimum;
    this.maximum = bounds.maximum;
    this.respawn = new RespawnPolicy(subject, log);
  }

  start(): void {
    this.active = true;
    this.replenish();
    // Timers never throw: an exception there would end the worker with all its connections.
    this.shrinker = setInterval(guarded('redirector: idle helper shrink', this.log, () => this.shrink()), this.times.shrinkIntervalMs);
    this.shrinker.unref();
  }

  /** New bounds: retires the newest idle helpers above `maximum`, spawns up to `minimum`. */
  resize(minimum: number, maximum: number): void {
    this.minimum = minimum;
    this.maximum = maximum;
    while (this.helpers.length > this.maximum) {
      let victim = this.helpers[0]!;
      for (const helper of this.helpers) if (helper.slots.size === 0) victim = helper; // the newest idle one
      this.retire(victim);
    }
    this.replenish();
  }

  /** Helpers with at least one request in flight, retiring ones included. */
  busy(): number {
    let busy = 0;
    for (const helper of this.helpers) if (helper.slots.size > 0) busy++;
    for (const helper of this.retiring) if (helper.slots.size > 0) busy++;
    return busy;
  }

  /** Spawns a helper for a request that found none free, unless at `maximum` or backing off. */
  grow(): Helper<A> | undefined {
    if (!this.active || this.helpers.length >= this.maximum) return undefined;
    const now = clock();
    if (now < this.respawn.blockedUntil) {
      this.scheduleRespawn(now);
      return undefined;
    }
    return this.spawn(now);
  }

  /** Keeps at least `minimum` helpers running. */
  replenish(): void {
    if (!this.active) return;
    const now = clock();
    while (this.helpers.length < this.minimum) {
      if (now < this.respawn.blockedUntil) {
        this.scheduleRespawn(now);
        return;
      }
      if (this.spawn(now) === undefined) return;
    }
  }

  /** Forgets a helper that failed (the pool has killed it, or it was already stopping). */
  remove(helper: Helper<A>): void {
    const index = this.helpers.indexOf(helper);
    if (index !== -1) this.helpers.splice(index, 1);
    this.retiring.delete(helper);
  }

  /** Called after a helper answered: a retiring one that holds nothing more is stopped. */
  answered(helper: Helper<A>): void {
    if (helper.state === 'retiring' && helper.slots.size === 0) {
      this.retiring.delete(helper);
      void helper.stop(this.times.stopGraceMs);
    }
  }

  exited(helper: Helper<A>): void {
    this.processes.delete(helper);
  }

  /** Stops spawning, SIGTERMs every process and waits for all (SIGKILL after the grace period). */
  close(): Promise<void> {
    this.active = false;
    for (const timer of [this.shrinker, this.respawnTimer]) if (timer !== null) clearTimeout(timer);
    this.shrinker = this.respawnTimer = null;
    this.helpers.length = 0;
    this.retiring.clear();
    const exits = [...this.processes].map((helper) => helper.stop(this.times.stopGraceMs));
    return Promise.all(exits).then(() => undefined);
  }

  private spawn(now: number): Helper<A> | undefined {
    let helper: Helper<A>;
    try {
      helper = this.open(this.hooks, now);
    } catch (error) {
      this.respawn.spawnThrew(now, error as Error);
      return undefined;
    }
    if (!helper.started) {
      this.respawn.spawnFailed(now);
      return undefined;
    }
    this.processes.add(helper);
    this.helpers.push(helper);
    this.events.spawned(helper.pid);
    return helper;
  }

  private scheduleRespawn(now: number): void {
    if (this.respawnTimer !== null) return;
    this.respawnTimer = setTimeout(guarded('redirector: helper respawn', this.log, () => {
      this.respawnTimer = null;
      this.replenish();
      this.events.spawnAllowed();
    }), Math.max(1, this.respawn.blockedUntil - now));
  }

  /** Retires helpers above `minimum` that stayed idle for a whole shrink interval. */
  private shrink(): void {
    if (this.events.queued() > 0) return;
    const now = clock();
    for (const helper of this.helpers.slice()) { // a copy: retire() removes from the list
      if (this.helpers.length <= this.minimum) break;
      if (helper.slots.size === 0 && now - helper.lastActive >= this.times.shrinkIntervalMs) this.retire(helper);
    }
  }

  private retire(helper: Helper<A>): void {
    const index = this.helpers.indexOf(helper);
    if (index !== -1) this.helpers.splice(index, 1);
    this.log.info({ pid: helper.pid, size: this.helpers.length }, 'redirector helper retired');
    if (helper.slots.size === 0) {
      void helper.stop(this.times.stopGraceMs);
    } else {
      helper.state = 'retiring';
      this.retiring.add(helper);
    }
  }
}
