/**
 * REQMOD to an ICAP service over TCP (RFC 3507; `redirector.protocol = icap-service://…`).
 * Each request is the client's head with `X-Client-IP`, `X-Authenticated-User` when a login
 * was checked, `Allow: 204`, and `null-body`: the request body is never sent (the service
 * filters on the head, as a header-only filter with `Preview: 0` would), the client's own
 * body follows the head the service allowed or returned.
 *
 * Answers: 204 → permit; 200 with `req-hdr` → the modified request (the same head → permit);
 * 200 with `res-hdr` → that response; any other status → `redirector.failure`.
 */
import type { Dialect, Outcome, RawReply, ReplyReader } from './dialect';
import { headOnly, responseDecision } from './icap-dialect';
import { IcapReader } from './icap-reply';
import type { IcapServiceUri } from './icap-uri';
import type { Decision, RedirectorRequest } from './types';
import { wireSafe } from './wire';

/**
 * Lines never encapsulated: the proxy's own login (the service gets the user, never the
 * password) and hop-by-hop lines that do not frame the message. Connection, Upgrade and
 * Transfer-Encoding stay: a head the service returns is forwarded with the client's body,
 * which they describe.
 */
const NOT_ENCAPSULATED = /^(?:proxy-authorization|proxy-connection|keep-alive|te|trailer)[ \t]*:[^\n]*\n/gim;

/** `head` without the lines never encapsulated (REQMOD's request head, RESPMOD's req-hdr). */
export function encapsulable(head: string): string {
  return head.replace(NOT_ENCAPSULATED, '');
}

function decided(decision: Decision): Outcome {
  return { kind: 'decision', decision, cacheable: decision.kind !== 'error' };
}

/** The HTTP head the service is sent for `req`. */
export function encapsulatedHead(req: RedirectorRequest): string {
  if (req.transport === 'tls') {
    // The TLS listener has a ClientHello, not an HTTP head: the service sees the tunnel it opens.
    const target = `${wireSafe(req.host)}:${req.port}`;
    return `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`;
  }
  return encapsulable(req.rawHead.toString('latin1'));
}

export class IcapServiceDialect implements Dialect {
  readonly slotsPerHelper = 1;
  readonly channels = false;
  readonly stderrIsFailure = false;
  private readonly preamble: string;

  constructor(service: IcapServiceUri) {
    this.preamble = `REQMOD ${service.uri} ICAP/1.0\r\nHost: ${service.hostHeader}\r\n`;
  }

  encode(req: RedirectorRequest): string {
    const head = encapsulatedHead(req);
    return `${this.preamble}X-Client-IP: ${wireSafe(req.clientIp)}\r\n`
      + (req.user ? `X-Authenticated-User: ${wireSafe(req.user)}\r\n` : '')
      + `Allow: 204\r\nEncapsulated: req-hdr=0, null-body=${head.length}\r\n\r\n${head}`;
  }

  newReader(maxReplyBytes: number): ReplyReader {
    return new IcapReader(maxReplyBytes);
  }

  interpret(reply: RawReply, req: RedirectorRequest): Outcome {
    const icap = reply.icap!;
    if (icap.code === 204) return decided({ kind: 'permit' });
    if (icap.code !== 200) return { kind: 'fail', reason: `the ICAP service answered "${icap.statusLine}"` };
    const response = icap.sections.get('res-hdr');
    if (response !== undefined) return decided(responseDecision(response, icap.body));
    const request = icap.sections.get('req-hdr');
    if (request === undefined || request.length === 0) {
      return { kind: 'fail', reason: 'the ICAP service answered 200 with neither req-hdr nor res-hdr' };
    }
    const head = headOnly(request);
    // A service that does not use 204 (or was not allowed to) echoes the head it was sent.
    if (head.latin1Slice(0, head.length) === encapsulatedHead(req)) return decided({ kind: 'permit' });
    return decided({ kind: 'request', head });
  }
}
