/**
 * Redirector subsystem: a pool of long-lived helper processes (ExaProxy `url`, Squid
 * url_rewrite or ExaProxy ICAP-like protocol), or of connections to an ICAP service
 * (`icap-service://`), that decide each proxied request.
 */
import type { RedirectorPool } from './pool';

export { RedirectorPool } from './pool';
export { IcapService } from './icap-service';
export { parseIcapServiceUri, ICAP_SERVICE_FORM, ICAP_SERVICE_SCHEME } from './icap-uri';
export type {
  DecideResult, Decision, PoolInternals, PoolStats, RedirectorOptions, RedirectorRequest,
} from './types';

/** What the proxy and the supervisor use of a redirector, whichever kind it is. */
export type Redirector = Pick<RedirectorPool, 'decide' | 'ask' | 'stats' | 'resize' | 'close'>;
