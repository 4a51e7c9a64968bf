// /metrics in the Prometheus text exposition format (version 0.0.4).
import { DECISIONS, LATENCY_BUCKETS_MS, METHOD_NAMES, type Histogram, type Snapshot } from './stats';
import { HELPER_POOL_NAMES, type HelperPools, type PoolStats } from './pool';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function renderMetrics(s: Snapshot, pool: PoolStats | undefined, helpers: HelperPools = {}): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const single = (name: string, type: string, help: string, value: number): void => {
    family(name, type, help);
    out.push(`${name} ${num(value)}`);
  };

  family('exaproxy_requests_total', 'counter', 'Requests received, by method.');
  s.methods.forEach((n, id) => out.push(`exaproxy_requests_total{method="${METHOD_NAMES[id]}"} ${num(n)}`));
  family('exaproxy_decisions_total', 'counter', 'Decisions taken for requests, by kind.');
  DECISIONS.forEach((kind, i) => out.push(`exaproxy_decisions_total{decision="${kind}"} ${num(s.decisions[i])}`));
  family('exaproxy_responses_total', 'counter', 'Responses sent to clients, by status class.');
  s.statuses.forEach((n, cls) => out.push(`exaproxy_responses_total{class="${cls === 0 ? 'other' : `${cls}xx`}"} ${num(n)}`));

  single('exaproxy_client_received_bytes_total', 'counter', 'Bytes received from clients.', s.counters.bytesFromClient);
  family('exaproxy_client_sent_bytes_total', 'counter', 'Bytes sent to clients, by client address family.');
  out.push(`exaproxy_client_sent_bytes_total{family="ipv4"} ${num(s.counters.bytesToClient4)}`);
  out.push(`exaproxy_client_sent_bytes_total{family="ipv6"} ${num(s.counters.bytesToClient6)}`);
  single('exaproxy_upstream_sent_bytes_total', 'counter', 'Bytes sent to upstream servers.', s.counters.bytesToUpstream);
  single('exaproxy_upstream_received_bytes_total', 'counter', 'Bytes received from upstream servers.', s.counters.bytesFromUpstream);

  single('exaproxy_client_connections', 'gauge', 'Client connections open now.', s.gauges.clientsOpen);
  single('exaproxy_client_connections_total', 'counter', 'Client connections accepted.', s.counters.clientsTotal);
  single('exaproxy_upstream_connections', 'gauge', 'Upstream connections open now.', s.gauges.upstreamOpen);
  single('exaproxy_upstream_connections_total', 'counter', 'Upstream connections opened.', s.counters.upstreamTotal);

  if (pool !== undefined) {
    single('exaproxy_helpers', 'gauge', 'Helper processes running.', pool.size);
    single('exaproxy_helpers_busy', 'gauge', 'Helper processes working on a request.', pool.busy);
    single('exaproxy_helpers_queue', 'gauge', 'Requests waiting for a free helper.', pool.queue);
    single('exaproxy_helpers_minimum', 'gauge', 'Helper pool lower limit, per worker.', pool.minimum);
    single('exaproxy_helpers_maximum', 'gauge', 'Helper pool upper limit, per worker.', pool.maximum);
    single('exaproxy_helper_requests_total', 'counter', 'Requests sent to helpers.', pool.requests);
    single('exaproxy_helper_timeouts_total', 'counter', 'Helper answers that did not come in time.', pool.timeouts);
    single('exaproxy_helper_crashes_total', 'counter', 'Helper processes that died or misbehaved.', pool.crashes);
    single('exaproxy_helper_cache_hits_total', 'counter', 'Helper answers served from the cache.', pool.cacheHits);
    single('exaproxy_helper_cache_misses_total', 'counter', 'Helper answers not in the cache.', pool.cacheMisses);
  }

  for (const name of HELPER_POOL_NAMES) {
    const p = helpers[name];
    if (p === undefined) continue;
    const what = name === 'auth' ? 'Auth helper' : 'External ACL helper';
    single(`exaproxy_${name}_helpers`, 'gauge', `${what} processes running.`, p.size);
    single(`exaproxy_${name}_helpers_busy`, 'gauge', `${what} processes working on a request.`, p.busy);
    single(`exaproxy_${name}_helpers_queue`, 'gauge', `Requests waiting for a free ${what.toLowerCase()}.`, p.queue);
    single(`exaproxy_${name}_helper_requests_total`, 'counter', `Requests sent to ${what.toLowerCase()}s.`, p.requests);
    single(`exaproxy_${name}_helper_timeouts_total`, 'counter', `${what} answers that did not come in time.`, p.timeouts);
    single(`exaproxy_${name}_helper_crashes_total`, 'counter', `${what} processes that died or misbehaved.`, p.crashes);
  }

  histogram(out, 'exaproxy_decision_duration_seconds', 'Time to decide what to do with a request (helpers included).', s.decisionLatency);
  histogram(out, 'exaproxy_upstream_latency_seconds', 'Time from sending a request upstream to its response head.', s.upstreamLatency);

  single('exaproxy_dns_cache_hits_total', 'counter', 'DNS lookups answered from the cache.', s.counters.dnsHits);
  single('exaproxy_dns_cache_misses_total', 'counter', 'DNS lookups sent to a resolver.', s.counters.dnsMisses);

  single('process_cpu_seconds_total', 'counter', 'User and system CPU time of every exaproxy process.', s.counters.cpuMicros / 1e6);
  single('process_resident_memory_bytes', 'gauge', 'Resident memory of every exaproxy process.', s.gauges.rss);
  single('exaproxy_event_loop_delay_seconds', 'gauge', 'Longest event-loop delay of any exaproxy process over the last second.', s.gauges.eventLoopDelayMs / 1000);
  single('exaproxy_processes', 'gauge', 'exaproxy processes whose figures are included (primary and workers).', s.gauges.processes);
  return `${out.join('\n')}\n`;
}

function histogram(out: string[], name: string, help: string, h: Histogram): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  let cumulative = 0;
  LATENCY_BUCKETS_MS.forEach((ms, i) => {
    cumulative += h.buckets[i];
    out.push(`${name}_bucket{le="${num(ms / 1000)}"} ${num(cumulative)}`);
  });
  out.push(`${name}_bucket{le="+Inf"} ${num(h.count)}`, `${name}_sum ${num(h.sumMs / 1000)}`, `${name}_count ${num(h.count)}`);
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'NaN';
}
