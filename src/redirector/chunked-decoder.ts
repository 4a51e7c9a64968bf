/**
 * A streaming de-chunker for the chunked coding HTTP/1.1 and ICAP share (RFC 9112 §7.1,
 * RFC 3507 §4.4.1): gives the data of each chunk as it arrives, without copying it, and says
 * where the coding ended. ICAP's `ieof` chunk extension (the body ended inside the preview)
 * is remembered. HTTP bodies reaching it were checked in Rust already (scanChunked); what an
 * ICAP service sends is checked here, and anything else than the coding is a ProtocolError.
 */
import { ProtocolError } from './dialect';

const LF = 0x0a;
/** A size line or a trailer line longer than this is not a chunked coding. */
const MAX_LINE = 4096;

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

export class ChunkedDecoder {
  private state: State = 'size';
  private left = 0;
  private line: Buffer | null = null;
  /** The last chunk carried `ieof`. */
  ieof = false;

  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Feeds `buf[start..]`: `data` gets each piece of chunk data in order. Returns the offset
   * after the coding's end (the final CRLF), or -1 when all of `buf` was taken and more is
   * needed.
   */
  push(buf: Buffer, start: number, data: (piece: Buffer) => void): number {
    let pos = start;
    while (pos < buf.length) {
      if (this.state === 'data') {
        const n = Math.min(this.left, buf.length - pos);
        data(buf.subarray(pos, pos + n));
        pos += n;
        this.left -= n;
        if (this.left === 0) this.state = 'data-end';
        continue;
      }
      if (this.state === 'done') return pos;
      const lf = buf.indexOf(LF, pos);
      const end = lf === -1 ? buf.length : lf;
      const piece = buf.subarray(pos, end);
      this.line = this.line === null ? piece : Buffer.concat([this.line, piece]);
      if (this.line.length > MAX_LINE) throw new ProtocolError(`sent a chunk line longer than ${MAX_LINE} bytes`);
      if (lf === -1) return -1;
      pos = lf + 1;
      const text = this.line.toString('latin1').replace(/\r$/, '');
      this.line = null;
      this.onLine(text);
      if ((this.state as State) === 'done') return pos;
    }
    return this.state === 'done' ? pos : -1;
  }

  private onLine(text: string): void {
    switch (this.state) {
      case 'size': {
        const semi = text.indexOf(';');
        const size = (semi === -1 ? text : text.slice(0, semi)).trim();
        if (!/^[0-9A-Fa-f]{1,8}$/.test(size)) throw new ProtocolError(`sent chunk size ${JSON.stringify(text.slice(0, 40))}: expected hex digits`);
        this.left = Number.parseInt(size, 16);
        if (this.left > 0) {
          this.state = 'data';
          return;
        }
        this.ieof = semi !== -1 && /(?:^|;)\s*ieof\s*(?:$|;|=)/i.test(text.slice(semi));
        this.state = 'trailer';
        return;
      }
      case 'data-end':
        if (text !== '') throw new ProtocolError('sent chunk data longer than its size');
        this.state = 'size';
        return;
      case 'trailer':
        if (text === '') this.state = 'done';
        return;
      default:
        return;
    }
  }
}
