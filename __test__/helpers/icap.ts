/**
 * ICAP messages for tests that speak to the ICAP listener over raw sockets: REQMOD and
 * OPTIONS written as Squid writes them, and the pieces of a response read back.
 */

/** A REQMOD for `head` (an HTTP request head); `body` is sent chunked (in one chunk) after it. */
export function reqmod(head: string, opts: { body?: Buffer; preview?: number; allow204?: boolean; fields?: string; service?: string } = {}): Buffer {
  const http = Buffer.from(head, 'latin1');
  const list = opts.body === undefined ? `req-hdr=0, null-body=${http.length}` : `req-hdr=0, req-body=${http.length}`;
  const icap = `REQMOD icap://127.0.0.1/${opts.service ?? 'filter'} ICAP/1.0\r\nHost: 127.0.0.1\r\n`
    + (opts.preview === undefined ? '' : `Preview: ${opts.preview}\r\n`)
    + (opts.allow204 === false ? '' : 'Allow: 204\r\n')
    + (opts.fields ?? '')
    + `Encapsulated: ${list}\r\n\r\n`;
  const parts: Buffer[] = [Buffer.from(icap, 'latin1'), http];
  if (opts.body !== undefined) {
    if (opts.preview === 0) parts.push(Buffer.from('0\r\n\r\n'));
    else parts.push(chunked(opts.body));
  }
  return Buffer.concat(parts);
}

/** `body` as one chunk and the last chunk. */
export function chunked(body: Buffer): Buffer {
  if (body.length === 0) return Buffer.from('0\r\n\r\n');
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
}

export const OPTIONS = Buffer.from('OPTIONS icap://127.0.0.1/filter ICAP/1.0\r\nHost: 127.0.0.1\r\nEncapsulated: null-body=0\r\n\r\n');

/** The ICAP status codes in `text`, in order (a pipelined answer holds several). */
export function statuses(text: string): number[] {
  return [...text.matchAll(/^ICAP\/1\.0 (\d{3}) /gm)].map((m) => Number(m[1]));
}

/** A GET head for `url` (absolute form, as Squid encapsulates it). */
export function get(url: string, extra = ''): string {
  return `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n${extra}\r\n`;
}
