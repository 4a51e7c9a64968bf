/**
 * The heads and pages of a RESPMOD: the request head the service is shown, and the client's head of
 * an adapted response. The service's `res-hdr` is checked by the same Rust parser as any
 * upstream response; its framing and hop-by-hop fields are the service's business with us,
 * not the client's, so they are replaced by framing for the body as it will be sent:
 * the service's Content-Length when it gave one (checked against the body at its end),
 * else chunked for HTTP/1.1 clients and the connection's close for HTTP/1.0 ones.
 */
import { Flag, Header, Slot } from '../native/abi.generated';
import { HeadView } from '../native/head-view';
import { native } from '../native/addon';
import { encapsulable } from '../redirector/icap-service-dialect';
import { Outcome } from '../log/outcome';
import type { ProxyContext } from './context';
import type { Exchange } from './exchange';
import type { LocalAnswer } from './phases/answer';

/** What the stage needs of the client connection (a subset of the upstream leg's ClientSide). */
export interface RespmodClient {
  readonly ctx: ProxyContext;
  readonly clientIp: string;
  writeClient(data: Buffer, more?: Buffer): boolean;
  responseProgress(): void;
  responseDone(): void;
  answer(a: LocalAnswer): void;
  abort(reason: string): void;
}

/** The answer to a response above `redirector.respmod-limit` with `respmod-over-limit = deny`. */
export const overLimitPage = (limit: number): LocalAnswer =>
  ({ status: 403, outcome: Outcome.Deny, detail: 'RESPMOD over redirector.respmod-limit', close: true, message: `The response is larger than ${limit} bytes, the most that may be checked.` });

/** Fields that describe a connection or a message's framing, never passed on as they are. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);

export type ClientFraming = { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export interface AdaptedHead {
  head: Buffer;
  status: number;
  framing: ClientFraming;
  /** The client connection stays open after the response. */
  keepAlive: boolean;
  /** The adapted response's Content-Type, for the access log (read only when there is one). */
  contentType: string | undefined;
}

/** The request head shown to the service: the one sent upstream, without the proxy's login. */
export function requestHeadFor(ex: Exchange): string {
  if (ex.upHead !== null) return encapsulable(ex.upHead.toString('latin1'));
  return `${ex.method || 'GET'} ${ex.url || '/'} HTTP/1.1\r\nHost: ${ex.host}\r\n\r\n`;
}

/**
 * The client's head for the service's `res-hdr`, or a sentence saying why it cannot be
 * relayed. `hasBody`: the service sends a `res-body`.
 */
export function adaptedHead(ctx: ProxyContext, ex: Exchange, section: Buffer, hasBody: boolean): AdaptedHead | string {
  const table = ctx.scratch.responseTable;
  const n = native.parseResponse(section, 0, table, ex.methodId);
  if (n <= 0 || n !== section.length) return 'sent a res-hdr that is not one valid HTTP response head';
  const flags = table[Slot.FLAGS]!;
  if ((flags & (Flag.INTERIM | Flag.TUNNEL)) !== 0) return 'sent a res-hdr with an interim or protocol-switching status';
  const status = table[Slot.STATUS]!;
  const contentType = ctx.access !== null ? new HeadView(section, table).header(Header.CONTENT_TYPE) : undefined;
  const text = section.toString('latin1');
  const lines = text.slice(0, text.length - 4).split('\r\n');
  const named = new Set(HOP_BY_HOP);
  for (const line of lines.slice(1)) {
    if (/^connection\s*:/i.test(line)) for (const token of line.slice(line.indexOf(':') + 1).split(',')) named.add(token.trim().toLowerCase());
  }
  const kept = lines.slice(1).filter((line) => !named.has(line.slice(0, line.indexOf(':')).trim().toLowerCase()));
  let framing: ClientFraming;
  if (!hasBody || (flags & Flag.BODY_NONE) !== 0) framing = { kind: 'length', length: 0 };
  else if ((flags & Flag.CONTENT_LENGTH) !== 0 && (flags & Flag.CHUNKED) === 0) framing = { kind: 'length', length: table[Slot.LENGTH_HI]! * 0x1_0000_0000 + table[Slot.LENGTH_LO]! };
  else framing = ex.minor === 0 ? { kind: 'close' } : { kind: 'chunked' };
  const keepAlive = ex.responseKeepAlive && framing.kind !== 'close';
  const bodiless = (flags & Flag.BODY_NONE) !== 0;
  if (framing.kind === 'length' && !(bodiless && framing.length === 0)) kept.push(`Content-Length: ${framing.length}`);
  if (framing.kind === 'chunked') kept.push('Transfer-Encoding: chunked');
  kept.push(`Connection: ${keepAlive ? 'keep-alive' : 'close'}`);
  const statusLine = lines[0]!.replace(/^HTTP\/1\.[01]/, `HTTP/1.${ex.minor === 0 ? 0 : 1}`);
  return { head: Buffer.from(`${statusLine}\r\n${kept.join('\r\n')}\r\n\r\n`, 'latin1'), status, framing, keepAlive, contentType };
}
