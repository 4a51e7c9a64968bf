/**
 * Where a message body ends, for requests and responses alike: no body, a
 * Content-Length, chunked (the addon scans the chunk boundaries), or the close of the
 * connection. Bytes are never copied: `take` says how many of the given ones belong to
 * the body, and the caller forwards exactly those.
 */
import { Chunk, Flag, Slot } from '../native/abi.generated';
import { native } from '../native/addon';

const { scanChunked } = native;

export const enum Framing {
  None,
  Length,
  Chunked,
  UntilClose,
}

export class BodyFramer {
  framing = Framing.None;
  /** Bytes still to come of a Length body. */
  left = 0;
  private chunk: Uint32Array | null = null;

  /**
   * The framing a parsed head announces. A request without Content-Length or chunked
   * has no body; a response without either (and not bodiless by status or method)
   * lasts until the connection closes.
   */
  start(table: Uint32Array, response: boolean): this {
    const flags = table[Slot.FLAGS]!;
    if (response && (flags & Flag.BODY_NONE) !== 0) {
      this.framing = Framing.None;
    } else if ((flags & Flag.CHUNKED) !== 0) {
      this.framing = Framing.Chunked;
      (this.chunk ??= new Uint32Array(Chunk.SIZE)).fill(0);
    } else if ((flags & Flag.CONTENT_LENGTH) !== 0) {
      this.left = table[Slot.LENGTH_HI]! * 0x1_0000_0000 + table[Slot.LENGTH_LO]!;
      this.framing = this.left > 0 ? Framing.Length : Framing.None;
    } else {
      this.framing = response ? Framing.UntilClose : Framing.None;
    }
    return this;
  }

  /** Body bytes are still to come. */
  get pending(): boolean {
    return this.framing !== Framing.None;
  }

  /**
   * How many bytes of `buf[start..end]` belong to the body (the rest belongs to whatever
   * follows it), or a negative ErrorCode for broken chunked framing. Once the body is
   * complete the framing is None.
   */
  take(buf: Buffer, start: number, end: number): number {
    switch (this.framing) {
      case Framing.Length: {
        const n = Math.min(end - start, this.left);
        this.left -= n;
        if (this.left === 0) this.framing = Framing.None;
        return n;
      }
      case Framing.Chunked: {
        const n = scanChunked(buf, start, end, this.chunk!);
        if (n >= 0 && this.chunk![Chunk.PHASE] === Chunk.PHASE_DONE) this.framing = Framing.None;
        return n;
      }
      case Framing.UntilClose:
        return end - start;
      default:
        return 0;
    }
  }

  /** `n` bytes of a Length body went by elsewhere (the addon's relay moved them: native-body.ts). */
  passed(n: number): void {
    this.left -= n;
    if (this.left <= 0) this.framing = Framing.None;
  }

  /** The connection closed cleanly: a body that lasts until then is complete. */
  closed(): boolean {
    if (this.framing !== Framing.UntilClose) return false;
    this.framing = Framing.None;
    return true;
  }
}
