// The helper pool as the monitor sees it (implemented by src/redirector, aggregated across
// workers by src/supervisor).

export interface PoolStats {
  size: number;
  busy: number;
  queue: number;
  timeouts: number;
  crashes: number;
  requests: number;
  cacheHits: number;
  cacheMisses: number;
  minimum: number;
  maximum: number;
}

export interface StatsPool {
  stats(): PoolStats;
}

/** The other helper pools of a worker: the auth helpers (auth.*) and the external ACL's (acl.*). */
export interface HelperPools {
  auth?: PoolStats;
  acl?: PoolStats;
}

export const HELPER_POOL_NAMES = ['auth', 'acl'] as const;

/** Each pool of several workers as one (mergePoolStats), absent when no worker has it. */
export function mergeHelperPools(all: readonly HelperPools[]): HelperPools {
  const merged: HelperPools = {};
  for (const name of HELPER_POOL_NAMES) {
    const pools = all.map((h) => h[name]).filter((p): p is PoolStats => p !== undefined);
    if (pools.length > 0) merged[name] = mergePoolStats(pools);
  }
  return merged;
}

export function emptyPoolStats(): PoolStats {
  return { size: 0, busy: 0, queue: 0, timeouts: 0, crashes: 0, requests: 0, cacheHits: 0, cacheMisses: 0, minimum: 0, maximum: 0 };
}

/**
 * Pools of several workers as one: sizes, queues and counts add up; minimum and maximum are
 * the per-worker limits (every worker has the same ones), so they are taken from the first.
 */
export function mergePoolStats(all: readonly PoolStats[]): PoolStats {
  const total = emptyPoolStats();
  for (const p of all) {
    total.size += p.size;
    total.busy += p.busy;
    total.queue += p.queue;
    total.timeouts += p.timeouts;
    total.crashes += p.crashes;
    total.requests += p.requests;
    total.cacheHits += p.cacheHits;
    total.cacheMisses += p.cacheMisses;
  }
  if (all.length > 0) {
    total.minimum = all[0].minimum;
    total.maximum = all[0].maximum;
  }
  return total;
}
