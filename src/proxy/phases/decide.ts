/**
 * Decide: ask the helpers (when `redirector.enable`) and turn their verdict into a
 * route — forward, tunnel, forward a replaced head, or answer locally.
 */
import { Method, METHOD_NAMES, Slot } from '../../native/abi.generated';
import { Outcome } from '../../log/outcome';
import type { Decision, RedirectorRequest } from '../../redirector';
import type { ProxyContext } from '../context';
import type { Exchange } from '../exchange';
import type { LocalAnswer } from './answer';
import { viewOf, type RequestHead } from './read-head';

export type Route =
  | { kind: 'forward'; host: string; port: number; tls: boolean }
  | { kind: 'tunnel'; host: string; port: number }
  /** A new head (a helper's rewrite), parsed again so every rule applies; body unchanged. */
  | { kind: 'replace'; head: Buffer }
  | { kind: 'answer'; answer: LocalAnswer }
  /** A whole response from a helper, written as it is. */
  | { kind: 'raw'; head: Buffer; body: Buffer; status: number };

/** Who asks: the client, the address it reached, and (from the ICAP listener) the ICAP client's identity lines. */
export interface HelperClient {
  ip: string;
  localIp: string;
  localPort: number;
  icapHeaders?: string;
}

/** The route of a request no helper is asked about. */
export function directRoute(head: RequestHead, ex: Exchange): Route {
  return ex.methodId === Method.CONNECT
    ? { kind: 'tunnel', host: head.host, port: head.port }
    : { kind: 'forward', host: head.address ?? head.host, port: head.port, tls: head.tls };
}

/** Methods ExaProxy hands to the helpers: every standard one but OPTIONS and TRACE, which it answers or forwards itself. */
export function asksHelper(ctx: ProxyContext, methodId: number): boolean {
  return ctx.decider !== null && methodId >= Method.GET && methodId <= Method.PATCH && methodId !== Method.OPTIONS && methodId !== Method.TRACE;
}

export function methodText(ex: Exchange): string {
  return ex.methodId === Method.OTHER ? ex.method : METHOD_NAMES[ex.methodId]!;
}

/**
 * Asks the helper pool about this request; `done` gets the route and the head it
 * applies to (the table copied: other connections reuse the shared one meanwhile).
 * A callback, not a promise chain: every hop through the microtask queue shows in the
 * helper scenario's CPU per request. `done` may be called before this returns (a verdict
 * the pool remembers, its failure policy), as a route without a helper is.
 */
export function decideByHelper(
  ctx: ProxyContext,
  head: RequestHead,
  ex: Exchange,
  client: HelperClient,
  done: (route: Route, head: RequestHead) => void,
): void {
  const kept: RequestHead = { ...head, table: head.table.slice(0, head.tableLength) };
  const asked = Date.now();
  ctx.decider!.ask(helperRequest(head, ex, client), (result) => {
    ex.decideMs = Date.now() - asked;
    ex.detail = result.verdict;
    done(routeOf(result.decision, kept, ex), kept);
  });
}

/** The request as every helper sees it (the redirector's and the external ACL's). */
export function helperRequest(head: RequestHead, ex: Exchange, client: HelperClient): RedirectorRequest {
  const t = head.table;
  return {
    method: methodText(ex),
    scheme: head.tls ? 'https' : 'http',
    host: head.host,
    port: head.port,
    path: ex.methodId === Method.CONNECT ? '/' : viewOf(head).path,
    clientIp: client.ip,
    myIp: client.localIp,
    myPort: client.localPort,
    user: ex.user,
    tag: ex.tag,
    rawHead: head.input.subarray(t[Slot.METHOD_START]!, t[Slot.HEAD_END]!),
    transport: 'http',
    icapHeaders: client.icapHeaders,
  };
}

/**
 * The route a helper's decision gives. `head` must describe the client's head still
 * (its table a copy: other connections reuse the shared one while a helper thinks).
 */
export function routeOf(d: Decision, head: RequestHead, ex: Exchange): Route {
  const connect = ex.methodId === Method.CONNECT;
  switch (d.kind) {
    case 'permit':
      return directRoute(head, ex);
    case 'intercept':
      ex.outcome = Outcome.Intercept;
      return connect ? { kind: 'tunnel', host: d.host, port: d.port } : { kind: 'forward', host: d.host, port: d.port, tls: false };
    case 'rewrite': {
      ex.outcome = Outcome.Rewrite;
      // A new request line, the client's own header lines.
      const input = head.input;
      const lineEnd = input.indexOf(10, head.table[Slot.TARGET_END]!) + 1;
      const line = Buffer.from(`${methodText(ex)} ${d.url} HTTP/1.${ex.minor}\r\n`, 'latin1');
      return { kind: 'replace', head: Buffer.concat([line, input.subarray(lineEnd, head.table[Slot.HEAD_END]!)]) };
    }
    case 'request':
      ex.outcome = Outcome.Request;
      return { kind: 'replace', head: d.head };
    case 'redirect':
      return answer({ status: d.status, outcome: Outcome.Redirect, body: '', type: 'text/html', headers: `Location: ${d.url.replace(/[\r\n]/g, '')}\r\n` });
    case 'file':
      return answer({ status: 200, outcome: Outcome.File, page: d.name, pageRequired: true });
    case 'response': {
      ex.outcome = Outcome.Response;
      const status = statusOf(d.head);
      // Clients take any 2xx to CONNECT as an open tunnel.
      if (connect && status < 300) return answer({ status: 403, outcome: Outcome.Deny, page: 'internal_error.html' });
      return { kind: 'raw', head: d.head, body: d.body, status };
    }
    case 'deny':
      return answer({ status: 503, outcome: Outcome.Deny, page: 'internal_error.html' });
    case 'error':
      return answer({ status: 503, outcome: Outcome.Error, page: 'internal_error.html' });
  }
}

function statusOf(head: Buffer): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head.latin1Slice(0, Math.min(head.length, 16)));
  return m ? Number(m[1]) : 0;
}

function answer(a: LocalAnswer): Route {
  return { kind: 'answer', answer: a };
}
