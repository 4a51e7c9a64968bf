// ExaProxy's /json/running document, computed from our figures so existing scrapers keep working.
// Keys ExaProxy had and we have no equivalent for (clients.silent, servers.opening,
// load.loops, load.events) are kept with the value 0 rather than dropped.
import type { Snapshot } from './stats';
import type { PoolStats } from './pool';

export function exaproxyRunning(s: Snapshot, pool: PoolStats | undefined, pidSaved: boolean): Record<string, number | boolean> {
  const running: Record<string, number | boolean> = {
    'clients.requests': s.counters.requests,
    'clients.silent': 0,
    'clients.speaking': s.gauges.clientsOpen,
    'load.events': 0,
    'load.loops': 0,
    'pid.saved': pidSaved,
    'processes.forked': pool?.size ?? 0,
    'processes.max': pool?.maximum ?? 0,
    'processes.min': pool?.minimum ?? 0,
    'queue.size': pool?.queue ?? 0,
    'servers.established': s.gauges.upstreamOpen,
    'servers.opening': 0,
    'transfer.client': s.counters.bytesToClient,
    'transfer.client4': s.counters.bytesToClient4,
    'transfer.client6': s.counters.bytesToClient6,
    // ExaProxy had no 4/6 split for upstream sockets in practice that we can reproduce; all of it is counted as one.
    'transfer.content': s.counters.bytesToUpstream,
    'transfer.content4': s.counters.bytesToUpstream,
    'transfer.content6': 0,
  };
  return running;
}

/** JSON the way ExaProxy wrote it: keys sorted, indented by 2. */
export function sortedJson(o: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(o).sort()) sorted[key] = o[key];
  return `${JSON.stringify(sorted, null, 2)}\n`;
}
