/**
 * The public shapes of the redirector subsystem: what the proxy hands in (a request),
 * what it gets back (a decision) and how the helper pool is configured.
 */

export interface RedirectorOptions {
  /** The helper's argv, already split with shell-like quoting by the config module. */
  program: string[];
  /** `url` (ExaProxy line protocol), `squid` (url_rewrite helper) or ExaProxy's ICAP-like protocol. */
  protocol: 'url' | 'squid' | { icap: string };
  /** Helpers kept running even when idle. */
  minimum: number;
  /** Helpers never exceeded, however long the queue. */
  maximum: number;
  /** Seconds a helper may take for one answer; after that it is killed and replaced. */
  timeout: number;
  /** Requests that may wait for a free helper; one more is answered by the failure policy. */
  queue: number;
  /** What a request gets when it cannot be queued or its helper failed twice. */
  failure: 'deny' | 'allow';
  /** Squid only: requests in flight per helper, tagged with channel IDs (0 = one at a time, no ID). */
  concurrency: number;
  /**
   * In-order protocols (`url`, `squid` without channel-IDs): requests written ahead to one
   * helper, which reads a line and answers it, in order. Used only when every helper is busy
   * and the pool is at its maximum: a burst then costs each helper one wake-up for several
   * requests instead of one each. 1 is ExaProxy's one-request-at-a-time behaviour.
   */
  pipeline: number;
  /** Seconds a verdict is reused for an identical helper query; 0 turns the cache off. */
  cache: number;
  /** icap-service only (`redirector.respmod`): responses go to the service too, so a service that offers only RESPMOD is no failure. */
  respmod?: boolean;
}

export interface RedirectorRequest {
  /** Upper-case method. */
  method: string;
  scheme: 'http' | 'https';
  /** Target host (for CONNECT: the tunnel target), without brackets for IPv6. */
  host: string;
  port: number;
  /** Path and query; '/' for CONNECT, '' for the TLS listener. */
  path: string;
  clientIp: string;
  myIp: string;
  myPort: number;
  /** The authenticated user (src/auth), RFC 1738-escaped; absent or '' when there was no login. */
  user?: string;
  /** The external ACL helper's `tag=` (src/external-acl); absent or '' without one. */
  tag?: string;
  /** The client's head bytes exactly as received (sent to ICAP helpers); the ClientHello record for TLS. */
  rawHead: Buffer;
  /**
   * From the ICAP listener: the ICAP client's X-Client-IP, X-Authenticated-Groups, X-Customer-Name
   * and Allow lines (LF-ended), which ExaProxy copies into its icap:// request before Encapsulated.
   */
  icapHeaders?: string;
  /**
   * For the ICAP `Pragma: transport=` line; `tls`: the TLS SNI listener (method `TLS`, host the
   * SNI); `tcp`: the passthrough listener (method `TCP`, host and port the original destination).
   */
  transport: 'http' | 'tls' | 'tcp';
}

export type Decision =
  | { kind: 'permit' }
  /** Fetch this absolute URL instead (same or other host). */
  | { kind: 'rewrite'; url: string }
  /** Answer the client with this redirect (301/302/303/307/308). */
  | { kind: 'redirect'; url: string; status: number }
  /** Answer 200 with ExaProxy's file:// template page NAME. */
  | { kind: 'file'; name: string }
  /** Send the same request to this backend. */
  | { kind: 'intercept'; host: string; port: number }
  /** ICAP 200 req-hdr: replace the request head with these bytes. */
  | { kind: 'request'; head: Buffer }
  /** ICAP 200 res-hdr: send this head and de-chunked body to the client. */
  | { kind: 'response'; head: Buffer; body: Buffer }
  /** Failure policy `deny`: the proxy answers 503 with the internal_error page. */
  | { kind: 'deny'; reason: string }
  /** The helper answered something the protocol does not define: internal_error page. */
  | { kind: 'error'; reason: string };

export interface DecideResult {
  decision: Decision;
  /** The helper's raw reply (without channel-ID or line end) for the access log; '-' when no helper answered. */
  verdict: string;
  /** True when the verdict came from the cache and no helper was asked. */
  cached: boolean;
  /** Set when the decision came from the failure policy: why no helper verdict could be used. */
  failure?: string;
}


export interface PoolStats {
  /** Helpers running (not counting those being retired). */
  size: number;
  /** Helpers with at least one request in flight. */
  busy: number;
  /** Requests waiting for a free helper. */
  queue: number;
  /** Requests currently written to helpers and not yet answered. */
  inFlight: number;
  timeouts: number;
  /** Helpers that exited or closed stdout without being asked to. */
  crashes: number;
  /** decide() calls. */
  requests: number;
  cacheHits: number;
  cacheMisses: number;
  /** Requests answered by the failure policy. */
  failures: number;
  minimum: number;
  maximum: number;
}

/** Tuning knobs for tests and the supervisor; not part of the configuration file. */
export interface PoolInternals {
  /** How often idle helpers above `minimum` are retired (ms); a helper must have been idle that long. */
  shrinkIntervalMs?: number;
  /** How long close() and retirements wait after SIGTERM before SIGKILL (ms). */
  stopGraceMs?: number;
  /** Upper bound on cached verdicts. */
  cacheEntries?: number;
  /** Upper bound on one reply from a helper (bytes); a longer one gets the helper killed. */
  maxReplyBytes?: number;
  /** stderr lines logged per helper per second; the rest are counted and summarised. */
  stderrLinesPerSecond?: number;
  /**
   * How long a new helper is left alone before its first request is written (ms): a line it
   * prints at start then arrives while nothing is pending, and gets it replaced.
   */
  startQuietMs?: number;
}

/** A helper's parsed ICAP response (ExaProxy's icap:// protocol). */
export interface IcapResponse {
  statusLine: string;
  code: number;
  /** Lower-case names; the last occurrence wins. */
  headers: Map<string, string>;
  /** Encapsulated header sections by name (`req-hdr`, `res-hdr`, …). */
  sections: Map<string, Buffer>;
  /** The de-chunked `res-body`/`req-body`, or null when none was announced. */
  body: Buffer | null;
}
