/**
 * ExaProxy's ICAP-like protocol over stdin/stdout (`redirector.protocol = icap://NAME[/…]`,
 * examples/redirectors/README.md). The request is written exactly as ExaProxy writes it: LF line ends,
 * Pragma metadata, `Encapsulated` last, then the client's raw head. One request at a time.
 * From the TLS SNI listener (ExaProxy's TLS REQMOD): transport=tls, method=TLS, host the SNI,
 * an empty path, and the encapsulated part is the ClientHello record, bytes as received.
 * From the passthrough listener (ExaProxy's passthrough REQMOD): only transport=tcp, accept,
 * accept-port (the original destination), client and method=TCP, and nothing encapsulated.
 */
import type { Dialect, Outcome, RawReply, ReplyReader } from './dialect';
import { IcapReader } from './icap-reply';
import type { IcapResponse } from './icap-reply';
import type { Decision, RedirectorRequest } from './types';
import { parseHostPort, wireSafe } from './wire';

function decided(decision: Decision): Outcome {
  return { kind: 'decision', decision, cacheable: decision.kind !== 'error' };
}

const PERMIT = decided({ kind: 'permit' });

/** The end of an HTTP head: returns the index just after the blank line, or -1. */
function headEnd(head: string): number {
  const crlf = head.indexOf('\r\n\r\n');
  const lf = head.indexOf('\n\n');
  if (crlf === -1) return lf === -1 ? -1 : lf + 2;
  return lf === -1 || crlf < lf ? crlf + 4 : lf + 2;
}

/** The request head without anything after its blank line (the client's own body is what gets forwarded). */
export function headOnly(section: Buffer): Buffer {
  const end = headEnd(section.toString('latin1'));
  return end === -1 ? section : section.subarray(0, end);
}

/**
 * ExaProxy helpers often put a small body inside the `res-hdr` section (`null-body` counting
 * it): split the section at the end of the HTTP head so `head` is only the head, and the
 * body is those trailing bytes followed by the de-chunked `res-body`.
 */
export function responseDecision(section: Buffer, chunked: Buffer | null): Decision {
  const end = headEnd(section.toString('latin1'));
  if (end === -1 || end === section.length) return { kind: 'response', head: section, body: chunked ?? Buffer.alloc(0) };
  const inline = section.subarray(end);
  return { kind: 'response', head: section.subarray(0, end), body: chunked === null ? inline : Buffer.concat([inline, chunked]) };
}

export class IcapDialect implements Dialect {
  readonly slotsPerHelper = 1;
  readonly channels = false;
  readonly stderrIsFailure = true;
  /** Everything up to and including `Host: <H>`, which never changes. */
  private readonly preamble: string;

  constructor(uri: string) {
    const name = uri.slice('icap://'.length).split('/')[0]!;
    this.preamble = `REQMOD ${uri} ICAP/1.0\nHost: ${name}\n`;
  }

  encode(req: RedirectorRequest): string {
    if (req.transport === 'tcp') {
      return `${this.preamble}Pragma: transport=tcp\nPragma: accept=${req.myIp}\nPragma: accept-port=${req.myPort}\n`
        + `Pragma: client=${req.clientIp}\nPragma: method=TCP\nEncapsulated: req-hdr=0, null-body=0\n\n`;
    }
    // A login the proxy checked (src/auth) is its own: the helper gets the user, never the password.
    const head = req.user ? req.rawHead.toString('latin1').replace(/^proxy-authorization:[^\n]*\n/gim, '') : req.rawHead.toString('latin1');
    return `${this.preamble}Pragma: transport=${req.transport}\nPragma: proxy=test\nPragma: scheme=http\n`
      + `Pragma: accept=${req.myIp}\nPragma: accept-port=${req.myPort}\nPragma: client=${req.clientIp}\n`
      + `Pragma: host=${wireSafe(req.host)}\nPragma: path=${wireSafe(req.path)}\nPragma: method=${req.method}\n`
      + (req.user ? `X-Authenticated-User: ${req.user}\n` : '')
      + (req.icapHeaders ?? '')
      + `Encapsulated: req-hdr=0, null-body=${head.length}\n\n${head}`;
  }

  newReader(maxReplyBytes: number): ReplyReader {
    return new IcapReader(maxReplyBytes);
  }

  interpret(reply: RawReply, req: RedirectorRequest): Outcome {
    const icap = reply.icap!;
    if (icap.code !== 200) return PERMIT; // 204, and (as ExaProxy) any other code: 304, 302, 403…
    const response = icap.sections.get('res-hdr');
    if (response !== undefined) return decided(responseDecision(response, icap.body));
    const request = icap.sections.get('req-hdr');
    if (request === undefined || request.length === 0) return PERMIT;
    if (request.subarray(0, 8).toString('latin1') === 'CONNECT ') return this.connectBlock(icap, request, req);
    return decided({ kind: 'request', head: headOnly(request) });
  }

  /**
   * A CONNECT block is an intercept when `X-Intercept: active` is set or bytes follow it;
   * alone, it turns the request into a CONNECT to that host (the icap-google-no-ssl trick).
   */
  private connectBlock(icap: IcapResponse, block: Buffer, req: RedirectorRequest): Outcome {
    const text = block.toString('latin1');
    const lineEnd = text.indexOf('\n');
    const requestLine = (lineEnd === -1 ? text : text.slice(0, lineEnd)).replace(/\r$/, '');
    const words = requestLine.split(' ');
    const target = words.length === 3 && /^HTTP\/1\.[01]$/.test(words[2]!) ? parseHostPort(words[1]!, req.port) : null;
    if (target === null) {
      return decided({ kind: 'error', reason: `icap helper sent a CONNECT block with request line ${JSON.stringify(requestLine)}: expected "CONNECT host:port HTTP/1.1"` });
    }
    const end = headEnd(text);
    const trailing = end !== -1 && end < text.length;
    if ((icap.headers.get('x-intercept') ?? '').toLowerCase() === 'active' || trailing) {
      return decided({ kind: 'intercept', host: target.host, port: target.port });
    }
    return decided({ kind: 'request', head: headOnly(block) });
  }
}
