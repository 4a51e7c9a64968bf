/**
 * Read the request head: the one place that reads the request's slots and flags from
 * the addon's table, into the exchange and a typed view the later phases use.
 */
import { Flag, Form, Header, Method, Scheme, Slot } from '../../native/abi.generated';
import { HeadView } from '../../native/head-view';
import type { Exchange } from '../exchange';

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
  /** The explicit port, else the scheme's. */
  readonly port: number;
  readonly tls: boolean;
  readonly hasHost: boolean;
  readonly expectContinue: boolean;
  readonly expectOther: boolean;
}

/** Fills the exchange from the parsed head; `forLog`: the access log will print the URL and the client's headers. */
export function readRequestHead(input: Buffer, table: Uint32Array, ex: Exchange, forLog: boolean): RequestHead {
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
  const { host, port, tls } = targetOf(input, table);
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
    tls,
    hasHost: (flags & Flag.HOST_HEADER) !== 0,
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
