/**
 * Admit: the rules a request must pass before anything is asked or connected — the
 * client ACL, methods, Expect, the scheme, a host to go to, Max-Forwards, CONNECT
 * ports. Returns the answer that refuses (or answers) it, or null to go on.
 */
import { isIP } from 'node:net';
import { Form, Header, Method, Scheme, Slot } from '../../native/abi.generated';
import { Outcome } from '../../log/outcome';
import type { Exchange } from '../exchange';
import type { ProxySettings } from '../settings';
import { refusal, type LocalAnswer } from './answer';
import { viewOf, type RequestHead } from './read-head';

/** Every method a request may have here, for OPTIONS answered by the proxy. */
const ALLOW = 'Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH, CONNECT\r\n';

export function admit(head: RequestHead, ex: Exchange, s: ProxySettings, clientAllowed: boolean): LocalAnswer | null {
  if (!clientAllowed) return refusal(403, 'This proxy does not accept requests from your address.', 'client not allowed', true);
  if (ex.methodId === Method.OTHER && !s.extensions.has(ex.method)) {
    return { ...refusal(405, `The method ${ex.method} is not allowed by this proxy.`, 'method not allowed'), outcome: Outcome.Deny };
  }
  if ((head.expectContinue || head.expectOther) && (s.rejectExpect || head.expectOther)) {
    return refusal(417, 'This proxy does not support the expectation given in the Expect header.');
  }
  if (head.form === Form.ABSOLUTE && head.scheme === Scheme.OTHER) {
    return refusal(400, 'Only http:// and https:// URLs can be fetched through this proxy.');
  }
  if (head.form === Form.ASTERISK || (head.form === Form.ORIGIN && !head.hasHost)) {
    // `OPTIONS *` or a request meant for the proxy itself.
    return refusal(400, 'The request has no host to forward it to: configure this address as your HTTP proxy.');
  }
  if (ex.methodId === Method.OPTIONS || ex.methodId === Method.TRACE) {
    const answer = maxForwards(head, ex);
    if (answer !== null) return answer;
  }
  if (ex.methodId === Method.CONNECT && (!s.connect || !s.connectPorts.has(head.port))) {
    ex.url = `${head.host}:${head.port}`;
    return refusal(403, `CONNECT to port ${head.port} is not allowed by this proxy.`, 'CONNECT NOT ALLOWED', true);
  }
  return null;
}

/** OPTIONS/TRACE with `Max-Forwards: 0` are answered here (RFC 9110 §7.6.2). */
function maxForwards(head: RequestHead, ex: Exchange): LocalAnswer | null {
  const value = viewOf(head).header(Header.MAX_FORWARDS);
  if (value === undefined) return null;
  if (!/^\d+$/.test(value)) return refusal(400, 'Max-Forwards must be a number.');
  if (Number(value) > 0) return null;
  if (ex.methodId === Method.TRACE) {
    const echoed = head.input.latin1Slice(head.table[Slot.METHOD_START]!, head.table[Slot.HEAD_END]!);
    return { status: 200, outcome: Outcome.Local, body: echoed, type: 'message/http' };
  }
  return { status: 200, outcome: Outcome.Local, body: '', type: 'text/plain', headers: ALLOW };
}

/** `http.forward`: a trusted front end names the real client in a header; its address or null. */
export function forwardedClient(head: RequestHead, s: ProxySettings, peer: string): string | null {
  if (!s.forwardHeader || !s.forwardTrust.has(peer)) return null;
  const value = viewOf(head).headerNamed(s.forwardHeader);
  if (!value) return null;
  const last = value.slice(value.lastIndexOf(',') + 1).trim();
  return isIP(last) ? last : null;
}
