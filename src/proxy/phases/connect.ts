/**
 * Connect: from a host and port to an upstream connection — the dns.fqdn rule, the
 * lookup, destination protection, then a pooled connection or a new one. One path for
 * forwarded requests, CONNECT tunnels and intercepts, and the one rule for retrying.
 */
import { isIP } from 'node:net';
import { Method } from '../../native/abi.generated';
import { Outcome } from '../../log/outcome';
import type { ProxyContext } from '../context';
import { destinationAllowed } from '../destination';
import { ResolveError } from '../dns';
import type { Exchange } from '../exchange';
import { Upstream, type UpstreamOwner } from '../upstream';
import { refusal, type LocalAnswer } from './answer';

export type Addresses = readonly string[];
export type Resolved = Addresses | LocalAnswer;

let lastHost = '';
let lastPort = 0;
let lastTarget = '';

/**
 * `host:port`, the exchange's target. Most requests go where the one before went: the last is
 * kept, so they share one string, hashed once for the pool's lookups, instead of a new one each.
 */
export function targetName(host: string, port: number): string {
  if (host !== lastHost || port !== lastPort) {
    lastHost = host;
    lastPort = port;
    lastTarget = `${host}:${port}`;
  }
  return lastTarget;
}

/** The pool key of a destination: tunnels are never pooled, TLS and plain apart. */
export function upstreamKey(target: string, kind: 'plain' | 'tls' | 'tunnel'): string {
  // A plain connection's key is the target (host:port) as the exchange spelled it: no new string per request.
  return kind === 'plain' ? target : `${kind === 'tls' ? 's' : 't'}:${target}`;
}

/** The addresses `host` may be reached at, or the answer that refuses it. */
export function resolveDestination(ctx: ProxyContext, ex: Exchange, host: string, port: number, ownAddress: string): Resolved | Promise<Resolved> {
  const connect = ex.methodId === Method.CONNECT;
  if (ctx.settings.dns.fqdn && !host.includes('.') && !isIP(host)) {
    // ExaProxy answers a name without a dot with its dns page, without a lookup.
    return { status: 200, outcome: Outcome.Local, detail: 'not a fully qualified name', page: 'dns.html', pageHost: host, close: connect };
  }
  const found = ctx.resolver.resolve(host, Date.now());
  if (Array.isArray(found)) return usable(ctx, host, found, port, ownAddress, connect);
  return found.then(
    (addresses) => usable(ctx, host, addresses, port, ownAddress, connect),
    (err: unknown): LocalAnswer => ({
      status: 503,
      outcome: Outcome.Error,
      detail: err instanceof ResolveError ? err.code : 'dns',
      page: 'dns.html',
      pageHost: host,
      close: connect,
    }),
  );
}

function usable(ctx: ProxyContext, host: string, addresses: Addresses, port: number, own: string, connect: boolean): Resolved {
  const allowed = addresses.filter((a) => destinationAllowed(ctx.settings, host, a, port, own));
  if (allowed.length > 0) return allowed;
  return refusal(403, `The proxy does not connect to ${host}:${port}.`, 'destination not allowed', connect);
}

/** A new upstream connection, counted by the monitor's gauge until its socket closes. */
export function openUpstream(
  ctx: ProxyContext,
  key: string,
  addresses: Addresses,
  port: number,
  tls: { servername: string } | null,
  owner: UpstreamOwner,
  host: string,
  recycle: boolean,
): Upstream {
  const up = Upstream.open(key, addresses, port, tls, owner, host, ctx.settings.bind, recycle);
  const stats = ctx.stats;
  if (stats) {
    stats.upstreamOpened();
    up.onGone = () => stats.upstreamClosed();
  }
  return up;
}

/**
 * A reused connection may simply have been closed by the server while idle: an
 * idempotent request without a body that got no byte back is sent once more, on a
 * fresh connection (RFC 9110 §9.2.2).
 */
export function mayRetry(ex: Exchange, up: Upstream | null): boolean {
  return up !== null && up.uses > 0 && !ex.received && !ex.retried && !ex.hadBody && idempotent(ex.methodId);
}

function idempotent(methodId: number): boolean {
  return (
    methodId === Method.GET ||
    methodId === Method.HEAD ||
    methodId === Method.OPTIONS ||
    methodId === Method.TRACE ||
    methodId === Method.PUT ||
    methodId === Method.DELETE
  );
}
