/**
 * The ICAP responses the listener writes (RFC 3507 §4.3.3, §4.6, §4.10): every one carries
 * `ISTag`, and `Encapsulated` says what follows — nothing (`null-body=0`), a request head,
 * or an HTTP response head and its chunked body.
 */
import { reasonPhrase } from '../proxy/pages';

const REASONS: Record<number, string> = {
  100: 'Continue',
  200: 'OK',
  204: 'No Content',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'ICAP Service Not Found',
  405: 'Method Not Allowed For Service',
  408: 'Request Timeout',
  500: 'Server Error',
  501: 'Method Not Implemented',
  503: 'Service Overloaded',
  505: 'ICAP Version Not Supported',
};

export interface IcapService {
  /** The `ISTag` value, quoted. */
  istag: string;
  /** `Server` and `Service` name. */
  server: string;
  maxConnections: number;
}

/** `Options-TTL`: how long an ICAP client may keep the OPTIONS answer (Squid's default is 60 s). */
const OPTIONS_TTL = 60;

function head(code: number, s: IcapService, lines: string): Buffer {
  return Buffer.from(`ICAP/1.0 ${code} ${REASONS[code] ?? reasonPhrase(code)}\r\nISTag: ${s.istag}\r\nServer: ${s.server}\r\n${lines}\r\n`, 'latin1');
}

/** The OPTIONS answer: REQMOD only, 204 welcome, headers first (Preview: 0), for every file type. */
export function optionsResponse(s: IcapService, date: string): Buffer {
  return head(200, s, `Date: ${date}\r\nMethods: REQMOD\r\nService: ${s.server} ICAP filter\r\nMax-Connections: ${s.maxConnections}\r\n`
    + `Options-TTL: ${OPTIONS_TTL}\r\nAllow: 204\r\nPreview: 0\r\nTransfer-Preview: *\r\nEncapsulated: null-body=0\r\n`);
}

/** 204: use the request unchanged. */
export function noContent(s: IcapService): Buffer {
  return head(204, s, 'Encapsulated: null-body=0\r\n');
}

/** An ICAP error status; `close`: the connection ends after it. */
export function icapError(s: IcapService, code: number, close: boolean): Buffer {
  return head(code, s, `${close ? 'Connection: close\r\n' : ''}Encapsulated: null-body=0\r\n`);
}

/** `100 Continue`: after a preview, send the rest of the body. */
export function continueResponse(): Buffer {
  return Buffer.from('ICAP/1.0 100 Continue\r\n\r\n', 'latin1');
}

/**
 * 200 with a request head: the request to use instead. With `body`, the client's body
 * follows chunked (the caller relays it); without, the request has none.
 */
export function modifiedRequest(s: IcapService, request: Buffer, body: boolean): Buffer {
  const list = `req-hdr=0, ${body ? 'req-body' : 'null-body'}=${request.length}`;
  return Buffer.concat([head(200, s, `Encapsulated: ${list}\r\n`), request]);
}

/** 200 with an HTTP response (a page, a redirect, a helper's response): the client gets it instead. */
export function servedResponse(s: IcapService, response: Buffer, body: Buffer): Buffer {
  const list = body.length === 0 ? `res-hdr=0, null-body=${response.length}` : `res-hdr=0, res-body=${response.length}`;
  const parts = [head(200, s, `Encapsulated: ${list}\r\n`), response];
  if (body.length > 0) parts.push(Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, Buffer.from('\r\n0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}
