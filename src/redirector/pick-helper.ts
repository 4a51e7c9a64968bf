/**
 * Which running helper a request goes to; the pool adds growth (spawning) between these
 * choices. A helper holds `slots` requests at once: channel-IDs, or in-order pipelining.
 */
import { performance } from 'node:perf_hooks';
import type { Helper } from './helper';

/** A helper answering faster than this (moving average) may be sent requests ahead (pipeline). */
const QUICK_HELPER_MS = 1;

/**
 * Milliseconds the event loop has spent waiting for events. A helper's speed is the part of
 * its answer's delay that this grows by: what the proxy waited for it with nothing else to
 * do. The whole delay would count the proxy's own work too (the turns between the request's
 * write and the reading of its answer): under load every helper would look slow, and the
 * batching and pipelining meant for quick helpers would stop exactly when the load is high.
 */
export function loopIdleMs(): number {
  return performance.eventLoopUtilization().idle;
}

/**
 * Whether `helper` may take a request while it already holds some: any helper with
 * channel-IDs, and an in-order one that answers quickly (a slow one would hold the request
 * back, where the queue gives it to whichever helper frees first).
 */
export function takesAhead<A>(helper: Helper<A>, channels: boolean): boolean {
  return channels || helper.serviceMs < QUICK_HELPER_MS;
}

/**
 * The helper already being written to during this turn of the event loop, if it may take
 * one more: requests arriving together go to it together, which costs no extra system call
 * or wake-up.
 */
export function batchTarget<A>(lastSent: Helper<A> | null, avoid: Helper<A> | null, slots: number, channels: boolean): Helper<A> | undefined {
  if (lastSent === null || lastSent === avoid || !lastSent.writePending || lastSent.state !== 'running') return undefined;
  return lastSent.slots.size < slots && takesAhead(lastSent, channels) ? lastSent : undefined;
}

/**
 * The least loaded helper with a free slot, other than `avoid`: a request that got `BH`
 * goes to another helper, even a new one, before going back to the same one.
 */
export function leastLoaded<A>(helpers: ReadonlyArray<Helper<A>>, avoid: Helper<A> | null, slots: number): Helper<A> | undefined {
  let best: Helper<A> | undefined;
  let bestLoad = slots;
  for (const helper of helpers) {
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
export function stillFree<A>(helper: Helper<A> | null, slots: number): Helper<A> | undefined {
  return helper !== null && helper.state === 'running' && helper.slots.size < slots ? helper : undefined;
}
