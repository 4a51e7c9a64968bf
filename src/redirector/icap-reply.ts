/**
 * Reads ExaProxy-style ICAP responses from a helper's stdout (examples/redirectors/README.md, exaproxy
 * icap/parser.py): a status line `ICAP/1.0 <code> <reason>`, header lines (each with a `:`)
 * up to an empty line, then the bytes located by `Encapsulated`. A last entry `null-body=N`
 * means exactly N more bytes; `res-body=N` / `req-body=N` means N header bytes and then a
 * chunked body that ends at its `0` line with nothing after it (ExaProxy's quirk).
 */
import { ProtocolError } from './dialect';
import type { RawReply, ReplyReader } from './dialect';
import type { IcapResponse } from './types';

export type { IcapResponse };

const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

type State = 'status' | 'headers' | 'sections' | 'chunk-size' | 'chunk-data' | 'chunk-end';

function trimCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** `ICAP/1.0 <digits> <reason>`: exaproxy splits on single spaces into exactly three parts. */
export function parseStatus(line: string): number {
  const first = line.indexOf(' ');
  const second = first === -1 ? -1 : line.indexOf(' ', first + 1);
  if (second === -1) throw new ProtocolError(`sent ICAP status line ${JSON.stringify(line)}: expected "ICAP/1.0 <code> <reason>" (the reason is required)`);
  const version = line.slice(0, first);
  const code = line.slice(first + 1, second);
  if (version !== 'ICAP/1.0' || !/^[0-9]+$/.test(code)) {
    throw new ProtocolError(`sent ICAP status line ${JSON.stringify(line)}: expected "ICAP/1.0 <code> <reason>"`);
  }
  return Number(code);
}

/** `req-hdr=0, null-body=45` → entries sorted by offset; malformed entries are skipped (as exaproxy). */
export function parseEncapsulated(value: string): Array<[string, number]> {
  const entries: Array<[string, number]> = [];
  for (const part of value.split(',')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    const name = part.slice(0, equals).trim().toLowerCase();
    const offset = part.slice(equals + 1).trim();
    if (/^[0-9]+$/.test(offset)) entries.push([name, Number(offset)]);
  }
  return entries.sort((a, b) => a[1] - b[1]);
}

export class IcapReader implements ReplyReader {
  private pending: Buffer = EMPTY;
  private state: State = 'status';
  private statusLine = '';
  private code = 0;
  private headers = new Map<string, string>();
  private offsets: Array<[string, number]> = [];
  private sectionBytes = 0;
  private bodyName: string | null = null;
  private sections = new Map<string, Buffer>();
  private chunks: Buffer[] = [];
  private chunkLeft = 0;
  /** Bytes taken by the response being read, to bound a runaway helper. */
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer, out: RawReply[]): void {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    for (;;) {
      const next = this.step(data, pos, out);
      if (next === null) break;
      this.size = this.state === 'status' ? 0 : this.size + next - pos;
      pos = next;
      if (this.size > this.maxBytes) throw new ProtocolError(`sent an ICAP response larger than ${this.maxBytes} bytes`);
    }
    this.pending = pos === data.length ? EMPTY : data.subarray(pos);
    if (this.size + this.pending.length > this.maxBytes) {
      throw new ProtocolError(`sent an ICAP response larger than ${this.maxBytes} bytes`);
    }
  }

  /** Consumes one unit (a line, the sections, one chunk) and returns the new position, or null to wait for more. */
  private step(data: Buffer, pos: number, out: RawReply[]): number | null {
    if (this.state === 'sections') {
      const end = pos + this.sectionBytes; // read before emit() resets it
      if (end > data.length) return null;
      this.cutSections(data.subarray(pos, end));
      if (this.bodyName === null) this.emit(out);
      else this.state = 'chunk-size';
      return end;
    }
    if (this.state === 'chunk-data') {
      if (data.length - pos < this.chunkLeft) return null;
      this.chunks.push(data.subarray(pos, pos + this.chunkLeft));
      this.state = 'chunk-end';
      return pos + this.chunkLeft;
    }
    const lf = data.indexOf(LF, pos);
    if (lf === -1) return null;
    this.line(trimCr(data.toString('latin1', pos, lf)), out);
    return lf + 1;
  }

  private line(line: string, out: RawReply[]): void {
    switch (this.state) {
      case 'status':
        // Tolerated: blank lines between responses (e.g. an RFC-style CRLF after the `0` chunk).
        if (line.trim() === '') return;
        this.code = parseStatus(line);
        this.statusLine = line;
        this.state = 'headers';
        return;
      case 'headers':
        if (line.trim() === '') return this.endOfHeaders(out);
        this.header(line);
        return;
      case 'chunk-size': {
        const size = line.trim().split(';')[0]!.trim();
        if (!/^[0-9A-Fa-f]{1,8}$/.test(size)) throw new ProtocolError(`sent ICAP chunk size ${JSON.stringify(line)}: expected hex digits`);
        this.chunkLeft = Number.parseInt(size, 16);
        if (this.chunkLeft === 0) this.emit(out);
        else this.state = 'chunk-data';
        return;
      }
      case 'chunk-end':
        // exaproxy consumes exactly one line after each chunk's data.
        this.state = 'chunk-size';
        return;
      default:
        return;
    }
  }

  private header(line: string): void {
    const colon = line.indexOf(':');
    if (colon === -1) throw new ProtocolError(`sent ICAP header line ${JSON.stringify(line)} without ":"`);
    this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }

  private endOfHeaders(out: RawReply[]): void {
    const encapsulated = this.headers.get('encapsulated');
    this.offsets = encapsulated === undefined ? [] : parseEncapsulated(encapsulated);
    const last = this.offsets[this.offsets.length - 1];
    if (last === undefined) {
      this.emit(out);
      return;
    }
    this.sectionBytes = last[1];
    if (this.sectionBytes > this.maxBytes) throw new ProtocolError(`announced ${this.sectionBytes} encapsulated bytes, more than ${this.maxBytes}`);
    this.bodyName = last[0].endsWith('-body') && last[0] !== 'null-body' ? last[0] : null;
    this.state = 'sections';
  }

  private cutSections(block: Buffer): void {
    for (let i = 0; i < this.offsets.length - 1; i++) {
      const [name, start] = this.offsets[i]!;
      this.sections.set(name, block.subarray(start, this.offsets[i + 1]![1]));
    }
  }

  private emit(out: RawReply[]): void {
    const icap: IcapResponse = {
      statusLine: this.statusLine,
      code: this.code,
      headers: this.headers,
      sections: this.sections,
      body: this.bodyName === null ? null : Buffer.concat(this.chunks),
    };
    out.push({ channel: null, verdict: this.statusLine, icap });
    this.state = 'status';
    this.headers = new Map();
    this.sections = new Map();
    this.offsets = [];
    this.bodyName = null;
    this.chunks = [];
    this.sectionBytes = 0;
  }
}
