/**
 * What happened to a request: one vocabulary for the data path, the monitor's counters
 * and the access log. The data path sets one Outcome per exchange and it is counted once,
 * when the exchange is logged; the formatters map it to ExaProxy's and Squid's words.
 */
export const Outcome = {
  /** Forwarded (or tunnelled) as asked. */
  Permit: 0,
  /** A helper gave a new URL. */
  Rewrite: 1,
  /** A helper or the proxy redirected the client (3xx). */
  Redirect: 2,
  /** A helper named a page to serve. */
  File: 3,
  /** A helper sent the request to another server. */
  Intercept: 4,
  /** A helper replaced the request head (ICAP). */
  Request: 5,
  /** A helper answered with a whole response (ICAP). */
  Response: 6,
  /** Refused by policy (client ACL, method, destination, helper). */
  Deny: 7,
  /** Failed: bad request, upstream error or timeout, helper failure. */
  Error: 8,
  /** Answered by the proxy itself (OPTIONS/TRACE with Max-Forwards: 0, dns.fqdn). */
  Local: 9,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** The monitor's names, indexed by Outcome (its counters are kept in this order). */
export const OUTCOME_NAMES = ['permit', 'rewrite', 'redirect', 'file', 'intercept', 'request', 'response', 'deny', 'error', 'local'] as const;

/** ExaProxy's usage-log words, indexed by Outcome. */
export const EXAPROXY_WORDS = ['PERMIT', 'REWRITE', 'REDIRECT', 'FILE', 'INTERCEPT', 'REWRITE', 'LOCAL', 'DENY', 'ERROR', 'LOCAL'] as const;
