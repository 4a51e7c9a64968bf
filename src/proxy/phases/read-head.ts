/**
 * Read the request head: the one place that reads the request's slots and flags from
 * the addon's table, into the exchange and a typed view the later phases use.
 */
import { Flag, Form, Header, Method, Scheme, Slot } from '../../native/abi.generated';
import { HeadView } from '../../native/head-view';
import type { Exchange } from '../exchange';
import type { Destination } from '../original-destination';

export interface RequestHead {
  /** The bytes the head was parsed from, and the table describing it. */
  readonly input: Buffer;
  readonly table: Uint32Array;
  /** The used part of the table (what a copy must keep). */
  readonly tableLength: number;
  readonly form: number;
  readonly scheme: number;
  /** Host of the target or the Host header, lower-cased, IPv6 without brackets. */
  readonly host: string;
  /** The explicit port, else the scheme's (a redirected connection's original port). */
  readonly port: number;
  /** The address to connect to instead of looking `host` up: a redirected connection's original destination. */
  readonly address: string | null;
  readonly tls: boolean;
  readonly hasHost: boolean;
  readonly expectContinue: boolean;
  readonly expectOther: boolean;
}

/**
 * Fills the exchange from the parsed head; `forLog`: the access log will print the URL and
 * the client's headers. `redirected`: where a transparently redirected connection was going
 * (http.transparent), which an origin-form request goes to — its port in the URL, and the
 * address in place of the Host header's name (or as the host when there is no Host header).
 */
export function readRequestHead(input: Buffer, table: Uint32Array, ex: Exchange, forLog: boolean, redirected: Destination | null = null): RequestHead {
  const flags = table[Slot.FLAGS]!;
  const methodId = table[Slot.METHOD]!;
  ex.methodId = methodId;
  ex.minor = table[Slot.VERSION]!;
  ex.upgrade = (flags & Flag.IS_UPGRADE) !== 0;
  ex.keepAlive =
    (flags & Flag.VERSION_11) !== 0 ? (flags & Flag.CONNECTION_CLOSE) === 0 : (flags & Flag.CONNECTION_KEEP_ALIVE) !== 0;
  ex.hadBody = ex.body.start(table, false).pending;
  const form = table[Slot.FORM]!;
  const scheme = table[Slot.SCHEME]!;
  const target = targetOf(input, table);
  const original = form === Form.ORIGIN ? redirected : null;
  const host = target.host || (original?.ip ?? '');
  const port = original?.port ?? target.port;
  const tls = target.tls;
  ex.host = host;
  ex.method = methodId === Method.OTHER ? input.latin1Slice(table[Slot.METHOD_START]!, table[Slot.METHOD_END]!) : '';
  if (forLog) {
    ex.url = requestUrl(input, table, host, port, tls, form);
    const view = new HeadView(input, table);
    ex.userAgent = view.header(Header.USER_AGENT);
    ex.referer = view.header(Header.REFERER);
  }
  return {
    input,
    table,
    tableLength: Slot.HEADERS + 5 * table[Slot.HEADER_COUNT]!,
    form,
    scheme,
    host,
    port,
    address: original?.ip ?? null,
    tls,
    hasHost: (flags & Flag.HOST_HEADER) !== 0 || original !== null,
    expectContinue: (flags & Flag.EXPECT_CONTINUE) !== 0,
    expectOther: (flags & Flag.EXPECT_OTHER) !== 0,
  };
}

/** Where a parsed head asks to go: its host (lower-cased, IPv6 without brackets) and port. */
export function targetOf(input: Buffer, table: Uint32Array): { host: string; port: number; tls: boolean } {
  const tls = table[Slot.SCHEME] === Scheme.HTTPS;
  return {
    host: input.latin1Slice(table[Slot.HOST_START]!, table[Slot.HOST_END]!).toLowerCase(),
    port: table[Slot.PORT]! || (tls ? 443 : 80),
    tls,
  };
}

/** Lazy header strings over the head (only policy code that needs one asks). */
export function viewOf(head: RequestHead): HeadView {
  return new HeadView(head.input, head.table);
}

/** The absolute URL of a request, for logs, pages and helpers. */
function requestUrl(input: Buffer, table: Uint32Array, host: string, port: number, tls: boolean, form: number): string {
  if (form === Form.ABSOLUTE) return input.latin1Slice(table[Slot.TARGET_START]!, table[Slot.TARGET_END]!);
  if (form === Form.AUTHORITY) return `${host}:${port}`;
  const h = host.includes(':') ? `[${host}]` : host;
  const p = port === (tls ? 443 : 80) ? '' : `:${port}`;
  return `${tls ? 'https' : 'http'}://${h}${p}${input.latin1Slice(table[Slot.TARGET_START]!, table[Slot.TARGET_END]!)}`;
}
