/**
 * Decide, for the ICAP listener: the encapsulated request goes through the proxy's own
 * admit and decide phases (any helper dialect), and the Route they give becomes what the
 * ICAP client is told — use the request as it is, use another request head, or answer
 * the client with this HTTP response.
 */
import { Outcome } from '../log/outcome';
import { Slot } from '../native/abi.generated';
import { native } from '../native/addon';
import type { ProxyContext } from '../proxy/context';
import type { Exchange } from '../proxy/exchange';
import { admit } from '../proxy/phases/admit';
import { renderAnswer, refusal, type LocalAnswer } from '../proxy/phases/answer';
import { asksHelper, decideByHelper, routeOf, type Route } from '../proxy/phases/decide';
import { viewOf, type RequestHead } from '../proxy/phases/read-head';

const { parseRequest } = native;

export type IcapReply =
  /** The request as the client sent it (204, or 200 echoing it). */
  | { kind: 'permit' }
  /** Another request head (a rewrite, an intercept, a helper's ICAP req-hdr). */
  | { kind: 'request'; head: Buffer }
  /** An HTTP response for the client: a page, a redirect, a helper's response. */
  | { kind: 'response'; head: Buffer; body: Buffer };

export interface IcapClient {
  ip: string;
  localIp: string;
  localPort: number;
  /** ExaProxy's extra lines for icap:// helpers (X-Client-IP, X-Customer-Name, …), LF-ended. */
  icapHeaders: string;
}

/** Admit, then the helpers when they are asked about this method; `done` gets the reply. */
export function decideIcap(ctx: ProxyContext, head: RequestHead, ex: Exchange, client: IcapClient, done: (reply: IcapReply) => void): void {
  // The ICAP client was checked against security.clients when it connected; the request's own rules apply here.
  const refused = admit(head, ex, ctx.settings, true);
  if (refused !== null) return done(replyOf(ctx, { kind: 'answer', answer: refused }, head, ex, client.ip));
  if (!asksHelper(ctx, ex.methodId)) return done({ kind: 'permit' });
  decideByHelper(ctx, head, ex, client, (route, kept) => done(replyOf(ctx, route, kept, ex, client.ip)));
}

/** What a Route means to an ICAP client. */
export function replyOf(ctx: ProxyContext, route: Route, head: RequestHead, ex: Exchange, clientIp: string): IcapReply {
  switch (route.kind) {
    case 'forward':
    case 'tunnel': {
      if (ex.outcome !== Outcome.Intercept) return { kind: 'permit' };
      // The ICAP client connects where the request says: an intercept names the server in the target.
      const path = route.kind === 'tunnel' ? '' : viewOf(head).path || '/';
      const url = route.kind === 'tunnel' ? `${route.host}:${route.port}` : `http://${bracket(route.host)}:${route.port}${path}`;
      const rewritten = routeOf({ kind: 'rewrite', url }, head, ex);
      ex.outcome = Outcome.Intercept;
      return rewritten.kind === 'replace' ? requestReply(ctx, rewritten.head, head, ex, clientIp) : { kind: 'permit' };
    }
    case 'replace':
      return requestReply(ctx, route.head, head, ex, clientIp);
    case 'answer':
      return answerReply(ctx, route.answer, head, ex, clientIp);
    case 'raw': {
      ex.status = route.status;
      return { kind: 'response', head: withBlankLine(route.head), body: route.body };
    }
  }
}

/** A new request head is checked by the same parser as any other before an ICAP client gets it. */
function requestReply(ctx: ProxyContext, newHead: Buffer, head: RequestHead, ex: Exchange, clientIp: string): IcapReply {
  const table = ctx.scratch.table;
  const n = parseRequest(newHead, 0, table);
  if (n <= 0 || n !== newHead.length) {
    ctx.log.warn({ head: newHead.latin1Slice(0, Math.max(0, newHead.indexOf(10))) }, 'icap: a helper gave a request head that cannot be parsed: answered 500');
    return answerReply(ctx, refusal(500, 'The filter gave a request this proxy cannot read.', 'invalid request from the helper'), head, ex, clientIp);
  }
  ex.status = 200;
  return { kind: 'request', head: newHead.subarray(0, table[Slot.HEAD_END]!) };
}

function answerReply(ctx: ProxyContext, a: LocalAnswer, head: RequestHead, ex: Exchange, clientIp: string): IcapReply {
  ex.outcome = a.outcome;
  if (a.detail) ex.detail ||= a.detail;
  // The page is for the end client, who keeps its connection to the ICAP client.
  ex.keepAlive = true;
  const bytes = renderAnswer(ctx, ex, { ...a, close: false }, clientIp, head.host);
  const end = bytes.indexOf('\r\n\r\n') + 4;
  return { kind: 'response', head: bytes.subarray(0, end), body: bytes.subarray(end) };
}

function withBlankLine(head: Buffer): Buffer {
  const text = head.latin1Slice(Math.max(0, head.length - 4), head.length);
  if (text.endsWith('\r\n\r\n') || text.endsWith('\n\n')) return head; // or a helper's LF-only head
  return Buffer.concat([head, Buffer.from(text.endsWith('\r\n') ? '\r\n' : '\r\n\r\n', 'latin1')]);
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
