// Access ("usage") log lines in the formats other tools already parse: ExaProxy's usage line,
// Squid's native access.log, Apache's combined format, and one JSON object per line.
// Pure functions, so each format is checked against its published grammar in tests.
import { EXAPROXY_WORDS, Outcome } from './outcome';
import type { LineDestination } from './syslog';

export interface AccessEntry {
  /** end of the request, milliseconds since the epoch */
  time: number;
  clientIp: string;
  clientPort: number;
  acceptPort: number;
  method: string;
  url: string;
  status: number;
  bytes: number;
  durationMs: number;
  /** What happened to the request (written as ExaProxy's or Squid's words by each format). */
  outcome: Outcome;
  /** host, helper verdict, reason… (ExaProxy's text after the slash) */
  detail: string;
  /** host:port that served the response, or '-' */
  upstream: string;
  userAgent?: string;
  referer?: string;
  /** ExaProxy's per-connection number; '-' when absent */
  clientId?: number | string;
  /** request line version, for the combined format (default HTTP/1.1) */
  version?: string;
  /** response Content-Type, for the squid format ('-' when absent) */
  contentType?: string;
  /** authenticated user, for the squid and combined formats ('-' when absent) */
  user?: string;
  /** the external ACL helper's tag= (Squid's %et), for the json format */
  tag?: string;
  /** Squid's hierarchy code and the parent proxy's host (FIRSTUP_PARENT/10.0.0.1) when one served it */
  peer?: string;
}

export type AccessFormat = 'exaproxy' | 'squid' | 'combined' | 'json';
export const ACCESS_FORMATS: readonly AccessFormat[] = ['exaproxy', 'squid', 'combined', 'json'];

/** One log line, without the trailing newline. `identifier` is daemon.identifier (ExaProxy format only). */
export function formatAccess(format: AccessFormat, e: AccessEntry, identifier: string): string {
  switch (format) {
    case 'exaproxy':
      return exaproxyLine(e, identifier);
    case 'squid':
      return squidLine(e);
    case 'combined':
      return combinedLine(e);
    case 'json':
      return jsonLine(e);
    default:
      throw new Error(`usage.format: unknown access log format '${String(format)}'; use one of ${ACCESS_FORMATS.join(', ')}`);
  }
}

// ExaProxy: `<identifier> <pid,-6> <subsystem,-13> <local date> <local time> <epoch.2> <client-id>
// <accept-port> <client-ip> <METHOD> <url> <STATUS>/<detail>` — the field order ExaProxy really
// wrote (its accept address was lost to an argument mix-up), so existing parsers keep working.
function exaproxyLine(e: AccessEntry, identifier: string): string {
  const d = new Date(e.time);
  const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  const clock = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  const prefix = `${token(identifier)} ${String(process.pid).padEnd(6)} ${'usage'.padEnd(13)}`;
  const detail = e.detail === '' ? '-' : e.detail.replaceAll('\r', ' ').replaceAll('\n', ' ');
  return (
    `${prefix} ${date} ${clock} ${(e.time / 1000).toFixed(2)} ${e.clientId ?? '-'} ${e.acceptPort} ` +
    `${e.clientIp} ${token(e.method)} ${token(e.url)} ${EXAPROXY_WORDS[e.outcome]}/${detail}`
  );
}

// Squid native: `%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt`.
function squidLine(e: AccessEntry): string {
  const seconds = Math.floor(e.time / 1000);
  const millis = String(Math.floor(e.time % 1000)).padStart(3, '0');
  const elapsed = String(Math.max(0, Math.round(e.durationMs))).padStart(6);
  const status = String(e.status).padStart(3, '0');
  const peer = e.peer ?? (e.upstream === '-' || e.upstream === '' ? 'HIER_NONE/-' : `HIER_DIRECT/${hostOf(e.upstream)}`);
  return (
    `${seconds}.${millis} ${elapsed} ${e.clientIp} ${squidAction(e)}/${status} ${e.bytes} ` +
    `${token(e.method)} ${token(e.url)} ${token(e.user || '-')} ${peer} ${token(e.contentType || '-')}`
  );
}

// Squid result codes: what Squid itself would have logged for the same outcome.
function squidAction(e: AccessEntry): string {
  switch (e.outcome) {
    case Outcome.Deny:
    case Outcome.File:
      return 'TCP_DENIED';
    case Outcome.Redirect:
      return 'TCP_REDIRECT';
    case Outcome.Response:
      // A helper's whole response (no upstream), or one the ICAP service adapted (RESPMOD: the origin answered, as Squid's TCP_MISS).
      return e.upstream === '-' ? 'NONE_NONE' : 'TCP_MISS';
    case Outcome.Error:
    case Outcome.Local:
      return 'NONE_NONE';
    default:
      return e.method === 'CONNECT' ? 'TCP_TUNNEL' : 'TCP_MISS';
  }
}

// Apache combined: `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`.
function combinedLine(e: AccessEntry): string {
  const request = `${e.method} ${e.url} ${e.version ?? 'HTTP/1.1'}`;
  return (
    `${e.clientIp} - ${token(e.user || '-')} [${apacheTime(e.time)}] "${quoted(request)}" ${e.status} ` +
    `${e.bytes > 0 ? e.bytes : '-'} "${quoted(e.referer ?? '-')}" "${quoted(e.userAgent ?? '-')}"`
  );
}

function jsonLine(e: AccessEntry): string {
  return JSON.stringify({
    time: new Date(e.time).toISOString(),
    epoch: e.time / 1000,
    clientId: e.clientId ?? null,
    clientIp: e.clientIp,
    clientPort: e.clientPort,
    acceptPort: e.acceptPort,
    method: e.method,
    url: e.url,
    version: e.version ?? null,
    status: e.status,
    bytes: e.bytes,
    durationMs: e.durationMs,
    decision: EXAPROXY_WORDS[e.outcome],
    detail: e.detail,
    upstream: e.upstream,
    peer: e.peer ?? null,
    user: e.user ?? null,
    tag: e.tag || null,
    contentType: e.contentType ?? null,
    referer: e.referer ?? null,
    userAgent: e.userAgent ?? null,
  });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `10/Oct/2000:13:55:36 -0700`, in local time like Apache. */
function apacheTime(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`
  );
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** A space-separated field must stay one field: spaces and control bytes are percent-encoded. */
function token(s: string): string {
  if (s === '') return '-';
  if (!needsEscape(s)) return s;
  let out = '';
  for (const c of s) out += c <= ' ' || c === '\x7f' ? `%${hex2(c).toUpperCase()}` : c;
  return out;
}

/** Apache's escaping inside quotes: `"` and `\` are backslashed, control bytes become \xhh. */
function quoted(s: string): string {
  let out = '';
  for (const c of s) {
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c < ' ' || c === '\x7f') out += `\\x${hex2(c)}`;
    else out += c;
  }
  return out;
}

function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

function hex2(c: string): string {
  return c.charCodeAt(0).toString(16).padStart(2, '0');
}

/** `host:port` → host, `[v6]:port` → v6 (Squid logs the peer address without port). */
function hostOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, Math.max(1, hostPort.indexOf(']')));
  const colon = hostPort.lastIndexOf(':');
  return colon > 0 && hostPort.indexOf(':') === colon ? hostPort.slice(0, colon) : hostPort;
}

export interface AccessLogOptions {
  /** usage.format */
  format: AccessFormat;
  /** daemon.identifier */
  identifier: string;
  /** where lines go: see openLineDestination in ./syslog (stdout, stderr, syslog, host:ADDR[:PORT], a file) */
  destination: LineDestination;
}

export interface AccessLog {
  write(e: AccessEntry): void;
  reopen(): void;
  close(): Promise<void>;
}

/** usage.enable: one line per request in usage.format, to usage.destination. */
export function createAccessLog(options: AccessLogOptions): AccessLog {
  if (!ACCESS_FORMATS.includes(options.format)) {
    throw new Error(`usage.format: unknown access log format '${String(options.format)}'; use one of ${ACCESS_FORMATS.join(', ')}`);
  }
  const { format, identifier, destination } = options;
  return {
    write: (e) => void destination.write(`${formatAccess(format, e, identifier)}\n`),
    reopen: () => destination.reopen(),
    close: () => destination.end(),
  };
}
