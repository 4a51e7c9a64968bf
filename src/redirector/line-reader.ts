/**
 * Splits a helper's stdout into lines. Squid and ExaProxy both end a reply at LF and
 * drop a CR just before it, so helpers may answer with LF or CRLF.
 */
import { ProtocolError } from './dialect';

const LF = 0x0a;
const CR = 0x0d;

export class LineReader {
  /** Bytes of an unfinished line (rarely used: a reply usually arrives in one chunk). */
  private partial: Buffer | null = null;

  constructor(private readonly maxLineBytes: number) {}

  /** Calls `onLine` with each complete line (latin1, so bytes survive), without its line end. */
  push(chunk: Buffer, onLine: (line: string) => void): void {
    const data = this.partial === null ? chunk : Buffer.concat([this.partial, chunk]);
    this.partial = null;
    let start = 0;
    for (let end = data.indexOf(LF, start); end !== -1; end = data.indexOf(LF, start)) {
      const stop = end > start && data[end - 1] === CR ? end - 1 : end;
      if (stop - start > this.maxLineBytes) throw new ProtocolError(`sent a reply longer than ${this.maxLineBytes} bytes`);
      onLine(data.toString('latin1', start, stop));
      start = end + 1;
    }
    if (start < data.length) {
      if (data.length - start > this.maxLineBytes) {
        throw new ProtocolError(`sent a reply longer than ${this.maxLineBytes} bytes`);
      }
      this.partial = data.subarray(start);
    }
  }
}
