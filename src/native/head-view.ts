/**
 * Lazy string accessors over a parsed head: the socket's bytes plus the table the
 * addon filled. Nothing is decoded until policy code asks for it, so the fast path
 * makes no string per header.
 */
import './latin1';
import { Flag, HEADER_NAMES, METHOD_NAMES, Method, Record, Slot } from './abi.generated';

export class HeadView {
  constructor(
    readonly buf: Buffer,
    readonly table: Uint32Array,
  ) {}

  get flags(): number {
    return this.table[Slot.FLAGS]!;
  }
  get methodId(): number {
    return this.table[Slot.METHOD]!;
  }
  /** The method token as sent (upper case for the known ones). */
  get method(): string {
    const id = this.methodId;
    return id === Method.OTHER ? this.slice(Slot.METHOD_START, Slot.METHOD_END) : METHOD_NAMES[id]!;
  }
  get versionMinor(): number {
    return this.table[Slot.VERSION]!;
  }
  get status(): number {
    return this.table[Slot.STATUS]!;
  }
  get target(): string {
    return this.slice(Slot.TARGET_START, Slot.TARGET_END);
  }
  /** Host of the target's authority (or of the Host header), IPv6 without brackets, lower-cased. */
  get host(): string {
    return this.slice(Slot.HOST_START, Slot.HOST_END).toLowerCase();
  }
  /** Explicit port, or 0. */
  get port(): number {
    return this.table[Slot.PORT]!;
  }
  /** Path and query; "/" when the target had no path (`http://h` → "/", `http://h?q` → "/?q"). */
  get path(): string {
    const t = this.table;
    if (t[Slot.PATH_START] === t[Slot.PATH_END]) return '/';
    const path = this.slice(Slot.PATH_START, Slot.PATH_END);
    return path.charCodeAt(0) === 0x3f /* ? */ ? `/${path}` : path;
  }
  get contentLength(): number {
    const t = this.table;
    return t[Slot.LENGTH_HI]! * 0x1_0000_0000 + t[Slot.LENGTH_LO]!;
  }
  get headerCount(): number {
    return this.table[Slot.HEADER_COUNT]!;
  }
  get headStart(): number {
    return this.table[Slot.METHOD_START]!;
  }
  get headEnd(): number {
    return this.table[Slot.HEAD_END]!;
  }
  has(flag: number): boolean {
    return (this.table[Slot.FLAGS]! & flag) !== 0;
  }
  get isHttp11(): boolean {
    return this.has(Flag.VERSION_11);
  }

  /** Value of the first header with this well-known id (see `Header`), or undefined. */
  header(id: number): string | undefined {
    const t = this.table;
    const n = t[Slot.HEADER_COUNT]!;
    for (let i = 0, r = Slot.HEADERS; i < n; i++, r += Record.SIZE) {
      if (t[r + Record.NAME_ID] === id) return this.buf.latin1Slice(t[r + Record.VALUE_START]!, t[r + Record.VALUE_END]!);
    }
    return undefined;
  }

  /** Value of the first header with this name (any case), or undefined. */
  headerNamed(name: string): string | undefined {
    const wanted = name.toLowerCase();
    const known = HEADER_NAMES.indexOf(wanted);
    if (known > 0) return this.header(known);
    const t = this.table;
    const n = t[Slot.HEADER_COUNT]!;
    for (let i = 0, r = Slot.HEADERS; i < n; i++, r += Record.SIZE) {
      const s = t[r + Record.NAME_START]!;
      const e = t[r + Record.NAME_END]!;
      if (e - s === wanted.length && this.buf.latin1Slice(s, e).toLowerCase() === wanted) {
        return this.buf.latin1Slice(t[r + Record.VALUE_START]!, t[r + Record.VALUE_END]!);
      }
    }
    return undefined;
  }

  /** Every header as [name, value], in order (for tests and slow paths). */
  headers(): [string, string][] {
    const t = this.table;
    const out: [string, string][] = [];
    for (let i = 0, r = Slot.HEADERS; i < t[Slot.HEADER_COUNT]!; i++, r += Record.SIZE) {
      out.push([
        this.buf.latin1Slice(t[r + Record.NAME_START]!, t[r + Record.NAME_END]!),
        this.buf.latin1Slice(t[r + Record.VALUE_START]!, t[r + Record.VALUE_END]!),
      ]);
    }
    return out;
  }

  /** The head's raw bytes (a view, not a copy). */
  raw(): Buffer {
    return this.buf.subarray(this.headStart, this.headEnd);
  }

  private slice(startSlot: number, endSlot: number): string {
    return this.buf.latin1Slice(this.table[startSlot]!, this.table[endSlot]!);
  }
}
