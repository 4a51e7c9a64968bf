/**
 * The bytes a client sent that are not processed yet: `buf` from `pos` to its end.
 *
 * A chunk that arrives with nothing waiting is used as it is (no copy: the common case).
 * While a head is incomplete, pieces are appended into a store that doubles when full,
 * so each byte is copied once however finely a slow client drips its head; and the head
 * is parsed again only once a new line has ended in it. Nothing before the end of `buf`
 * is ever overwritten, so views of earlier heads stay valid while a helper thinks.
 */
export class InputBuffer {
  buf: Buffer | null = null;
  pos = 0;
  private store: Buffer | null = null;
  /** Bytes of the pending head (from `pos`) a parse has already found incomplete. */
  private seen = 0;

  /** Bytes waiting. */
  get pending(): number {
    return this.buf === null ? 0 : this.buf.length - this.pos;
  }

  /** Adds a chunk; `head`: an incomplete head is being read (grow in place). */
  append(chunk: Buffer, head: boolean): void {
    const buf = this.buf;
    if (buf === null) {
      this.buf = chunk;
      this.pos = 0;
    } else if (head) {
      this.grow(buf, chunk);
    } else {
      this.buf = Buffer.concat([buf.subarray(this.pos), chunk]);
      this.pos = 0;
    }
  }

  /** Marks `n` more bytes as processed. */
  consume(n: number): void {
    this.pos += n;
    if (this.buf !== null && this.pos >= this.buf.length) this.buf = null;
  }

  /** Forgets everything waiting. */
  clear(): void {
    this.buf = null;
    this.pos = 0;
  }

  /**
   * False when parsing the pending head again is pointless: a parse found it
   * incomplete, no line has ended since, and it is still within `limit`.
   */
  worthParsing(limit: number): boolean {
    const buf = this.buf!;
    return this.seen === 0 || buf.length - this.pos > limit || buf.indexOf(10, this.pos + this.seen) >= 0;
  }

  /** After a parse of the pending head: `complete` or not (then its bytes have been seen). */
  parsed(complete: boolean): void {
    this.seen = complete ? 0 : this.pending;
    // Views of the head (and of what follows it) keep the store alive while needed.
    if (complete) this.store = null;
  }

  private grow(buf: Buffer, chunk: Buffer): void {
    const store = this.store;
    const end = buf.length + chunk.length;
    if (store !== null && buf.buffer === store.buffer && buf.byteOffset === store.byteOffset && end <= store.length) {
      chunk.copy(store, buf.length);
      this.buf = store.subarray(0, end);
      return;
    }
    const pending = buf.length - this.pos;
    const grown = Buffer.allocUnsafeSlow(Math.max(16 * 1024, 2 * (pending + chunk.length)));
    buf.copy(grown, 0, this.pos);
    chunk.copy(grown, pending);
    this.store = grown;
    this.buf = grown.subarray(0, pending + chunk.length);
    this.pos = 0;
  }
}
