/**
 * Redirector subsystem: a pool of long-lived helper processes (ExaProxy `url`, Squid
 * url_rewrite or ExaProxy ICAP-like protocol) that decide each proxied request.
 */
export { RedirectorPool } from './pool';
export type {
  DecideResult, Decision, PoolInternals, PoolStats, RedirectorOptions, RedirectorRequest,
} from './types';
