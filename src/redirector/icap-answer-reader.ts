/**
 * Reads a service's answers to one RESPMOD as they stream in: `100 Continue` (more body
 * wanted), then the final answer — its ICAP head, the encapsulated HTTP heads located by
 * `Encapsulated`, then the de-chunked body piece by piece, never held whole. The same
 * status-line and Encapsulated rules as every ICAP answer (icap-reply.ts).
 */
import { ChunkedDecoder } from './chunked-decoder';
import { ProtocolError } from './dialect';
import { parseEncapsulated, parseStatus } from './icap-reply';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** An ICAP head plus its encapsulated HTTP heads larger than this is refused. */
const MAX_HEAD = 256 * 1024;

export interface IcapAnswerHead {
  code: number;
  statusLine: string;
  headers: Map<string, string>;
  /** The encapsulated heads by name (`res-hdr`, `req-hdr`). */
  sections: Map<string, Buffer>;
  /** A body follows (`res-body`/`req-body`), else the answer ends with its heads. */
  hasBody: boolean;
}

export interface IcapAnswerSink {
  /** A 100 Continue, or the final answer's heads. */
  head(head: IcapAnswerHead): void;
  /** A piece of the final answer's de-chunked body. */
  body(piece: Buffer): void;
  /** The final answer is complete; `rest` is whatever followed it. */
  end(rest: number): void;
}

type State = 'head' | 'sections' | 'body' | 'done';

export class IcapAnswerReader {
  private state: State = 'head';
  private pending: Buffer | null = null;
  private head: IcapAnswerHead | null = null;
  private sectionBytes = 0;
  private offsets: Array<[string, number]> = [];
  private readonly decoder = new ChunkedDecoder();

  constructor(private readonly sink: IcapAnswerSink) {}

  get finished(): boolean {
    return this.state === 'done';
  }

  /** Feeds bytes from the service; throws ProtocolError on anything that is not an ICAP answer. */
  push(chunk: Buffer): void {
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let pos = 0;
    // An answer without encapsulated heads (204, an error) ends with its ICAP head: no more bytes needed.
    while (this.state !== 'done' && (pos < buf.length || this.state === 'sections')) {
      if (this.state === 'body') {
        const end = this.decoder.push(buf, pos, (piece) => this.sink.body(piece));
        if (end === -1) return;
        this.state = 'done';
        return this.sink.end(buf.length - end);
      }
      const next = this.state === 'head' ? this.readHead(buf, pos) : this.readSections(buf, pos);
      if (next === -1) {
        this.pending = buf.subarray(pos);
        if (this.pending.length > MAX_HEAD) throw new ProtocolError(`sent an ICAP head larger than ${MAX_HEAD} bytes`);
        return;
      }
      pos = next;
    }
  }

  private readHead(buf: Buffer, pos: number): number {
    // Blank lines between answers are tolerated (as icap-reply.ts does).
    while (buf[pos] === 0x0d || buf[pos] === 0x0a) pos++;
    const end = buf.indexOf(HEAD_END, pos);
    if (end === -1) return -1;
    const lines = buf.toString('latin1', pos, end).split('\r\n');
    const statusLine = lines[0]!;
    const code = parseStatus(statusLine);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon === -1) throw new ProtocolError(`sent ICAP header line ${JSON.stringify(line)} without ":"`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const after = end + HEAD_END.length;
    if (code === 100) {
      this.sink.head({ code, statusLine, headers, sections: new Map(), hasBody: false });
      return after;
    }
    this.offsets = parseEncapsulated(headers.get('encapsulated') ?? '');
    const last = this.offsets[this.offsets.length - 1];
    this.head = { code, statusLine, headers, sections: new Map(), hasBody: last !== undefined && last[0] !== 'null-body' && last[0].endsWith('-body') };
    this.sectionBytes = last?.[1] ?? 0;
    if (this.sectionBytes > MAX_HEAD) throw new ProtocolError(`announced ${this.sectionBytes} bytes of encapsulated heads, more than ${MAX_HEAD}`);
    this.state = 'sections';
    return after;
  }

  private readSections(buf: Buffer, pos: number): number {
    const end = pos + this.sectionBytes;
    if (end > buf.length) return -1;
    const head = this.head!;
    for (let i = 0; i < this.offsets.length - 1; i++) {
      const [name, start] = this.offsets[i]!;
      const stop = this.offsets[i + 1]![1];
      if (stop < start) throw new ProtocolError('sent Encapsulated offsets out of order');
      // Copied: the sections outlive the socket's buffer.
      head.sections.set(name, Buffer.from(buf.subarray(pos + start, pos + stop)));
    }
    this.sink.head(head);
    if (head.hasBody) {
      this.state = 'body';
    } else {
      this.state = 'done';
      this.sink.end(buf.length - end);
    }
    return end;
  }
}
