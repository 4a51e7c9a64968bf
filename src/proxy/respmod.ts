/**
 * The optional RESPMOD stage of the response path (`redirector.respmod`, RFC 3507 §4.9): the
 * upstream leg hands it the response head and each piece of the body as received; it streams
 * them to the ICAP service as chunks — the first `Preview` bytes, the rest once the service
 * says 100 Continue — and gives the client what the service answers:
 * - 204 to the preview: the original response, from the bytes held (the head and at most
 *   the preview plus one read) and then the upstream's stream passed through;
 * - 200 with res-hdr: the adapted response, its body de-chunked as it arrives and framed
 *   again for the client (respmod-head.ts);
 * - anything else, or a service that breaks, stalls or goes: `redirector.failure` while nothing
 *   has left (allow: the original while still held, else a 503 page), a reset once something has.
 * `Allow: 204` is not sent: a 204 after the whole body would need the whole body held.
 * Backpressure: a slow client pauses the service's connection, a slow service the upstream.
 */
import type { Socket } from 'node:net';
import { Outcome } from '../log/outcome';
import { ChunkedDecoder } from '../redirector/chunked-decoder';
import { ProtocolError } from '../redirector/dialect';
import { IcapAnswerReader, type IcapAnswerHead } from '../redirector/icap-answer-reader';
import { RespmodWaitedTooLong } from '../redirector/respmod-service';
import { Framing } from './body-framer';
import type { Exchange } from './exchange';
import { adaptedHead, overLimitPage, requestHeadFor, type ClientFraming, type RespmodClient } from './respmod-head';

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const IEOF_CHUNK = Buffer.from('0; ieof\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
/** icap: the service decides; original / adapted: what the client is getting; done: over. */
type Mode = 'icap' | 'original' | 'adapted' | 'done';

/**
 * Called with the final response head held in `ex.heldHead` and a body to come: 'off' leaves
 * the response to the leg, 'on' puts the stage in `ex.respmod`, 'answered' means the client
 * got a 403 page instead (a Content-Length above the limit, `respmod-over-limit = deny`).
 */
export function startRespmod(client: RespmodClient, ex: Exchange): 'off' | 'on' | 'answered' {
  const service = client.ctx.respmod;
  const requestHead = requestHeadFor(ex);
  const plan = service?.plan(requestHead.split(' ', 2)[1] ?? '') ?? null;
  if (service == null || plan === null) return 'off';
  const { limit, overLimit } = service.settings;
  if (limit > 0 && ex.responseBody.framing === Framing.Length && ex.responseBody.left > limit) {
    if (overLimit === 'bypass') return 'off'; // decided before anything is sent: the service never sees it
    ex.heldHead = null;
    ex.responded = false;
    client.answer(overLimitPage(limit));
    return 'answered';
  }
  ex.respmod = new RespmodStage(client, ex, plan.preview, requestHead);
  return 'on';
}

export class RespmodStage {
  private mode: Mode = 'icap';
  private socket: Socket;
  /** From a connection idle in the pool, which the service may have closed as it was taken:
   * what was sent (ICAP head, preview) until the service says anything, to send again once. */
  private replay: { head: string; data: Buffer[] } | null = null;
  private readonly reader: IcapAnswerReader;
  /** De-chunks a chunked upstream body (its data is what the service is sent). */
  private readonly decoder: ChunkedDecoder | null;
  /** The original response as received (head, then body bytes), while a 204 may still want it. */
  private original: Buffer[] | null;
  /** Body data after the preview, waiting for 100 Continue. */
  private later: Buffer[] = [];
  private previewLeft: number;
  private previewOpen: boolean;
  /** The service wants the whole body (100 Continue, or no preview at all). */
  private continued: boolean;
  /** The message to the service is complete. */
  private sent = false;
  private upstreamComplete = false;
  private bodyBytes = 0;
  private icapWritable = true;
  private answerDone = false;
  private reusable = true;
  private framing: ClientFraming | null = null;
  private adaptedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The final answer's ICAP status, once its head came (0: not yet). */
  private answerStatus = 0;
  private servicePaused = false; // reading from the service waits for the client

  constructor(private readonly client: RespmodClient, private readonly ex: Exchange, preview: number | null, requestHead: string) {
    const service = client.ctx.respmod!;
    const head = ex.heldHead!;
    ex.heldHead = null;
    ex.responded = false; // nothing has left: a failure can still be answered with a page
    this.decoder = ex.responseBody.framing === Framing.Chunked ? new ChunkedDecoder() : null;
    this.original = preview === null ? null : [head];
    this.previewLeft = preview ?? 0;
    this.previewOpen = preview !== null;
    this.continued = preview === null;
    this.reader = new IcapAnswerReader({ head: (h) => this.answerHead(h), body: (p) => this.adaptedBody(p), end: (rest) => this.answerEnd(rest) });
    const { socket, reused } = service.acquire();
    this.socket = socket;
    this.listen('on');
    const icapHead = service.icapHead(client.clientIp, requestHead, head.toString('latin1'), preview);
    if (reused && preview !== null) this.replay = { head: icapHead, data: [] };
    this.socket.write(icapHead, 'latin1');
    if (preview === 0) this.closePreview(false);
  }

  // ── from the upstream leg ───────────────────────────────────────────────────

  /** A piece of the upstream body as received; false: pause the upstream. */
  body(wire: Buffer): boolean {
    if (this.mode === 'original') return this.client.writeClient(wire);
    if (this.mode !== 'icap' && this.mode !== 'adapted') return false;
    this.original?.push(wire);
    try {
      if (this.decoder === null) this.data(wire);
      else this.decoder.push(wire, 0, (piece) => this.data(piece));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.fail(`could not be sent the body: ${error.message}`);
      return false;
    }
    if ((this.mode as Mode) === 'original') return true;
    if ((this.mode as Mode) === 'done' || (this.mode !== 'icap' && !this.continued)) return false;
    if (this.previewOpen && this.previewLeft === 0) this.closePreview(!this.ex.responseBody.pending);
    this.arm();
    return this.icapWritable && (this.continued || this.previewOpen) && !this.sent;
  }

  /** The upstream body is complete. */
  upstreamDone(): void {
    this.upstreamComplete = true;
    if (this.mode === 'original') return this.finish();
    if (this.mode === 'done') return;
    this.detachUpstream();
    if (this.previewOpen) this.closePreview(true);
    else if (this.continued) this.endMessage();
    this.arm();
  }

  /** The client took what was written. */
  clientDrained(): void {
    if (this.mode === 'original') this.ex.up?.socket.resume();
    else if (this.mode === 'adapted' && !this.answerDone && this.servicePaused) {
      this.servicePaused = false;
      this.socket.resume();
      this.arm();
    }
  }

  /** The exchange ended some other way (client gone, timeout, upstream broken): let go of everything. */
  cancel(): void {
    if (this.mode === 'done') return;
    this.over();
    this.socket.destroy();
  }

  // ── to the service ──────────────────────────────────────────────────────────

  private data(piece: Buffer): void {
    // An answer that came before the service asked for the whole body needs no more of it.
    if (this.mode !== 'icap' && !(this.mode === 'adapted' && this.continued)) return;
    this.bodyBytes += piece.length;
    const { limit } = this.client.ctx.respmod!.settings;
    if (limit > 0 && this.bodyBytes > limit) return this.overLimit(limit);
    if (this.previewOpen) {
      const n = Math.min(piece.length, this.previewLeft);
      if (n > 0) this.chunk(piece.subarray(0, n));
      this.previewLeft -= n;
      if (n < piece.length) this.later.push(piece.subarray(n));
    } else if (this.continued) this.chunk(piece);
    else this.later.push(piece);
  }

  private chunk(data: Buffer): void {
    if (data.length === 0 || this.sent) return;
    this.replay?.data.push(data);
    this.socket.write(`${data.length.toString(16)}\r\n`, 'latin1');
    this.socket.write(data);
    this.icapWritable = this.socket.write(CRLF);
  }

  /** Ends the preview: `ieof` when the body ended inside it (the message is then complete). */
  private closePreview(ieof: boolean): void {
    this.previewOpen = false;
    this.icapWritable = this.socket.write(ieof ? IEOF_CHUNK : LAST_CHUNK);
    if (ieof) this.sent = true;
  }

  private endMessage(): void {
    if (this.sent) return;
    this.sent = true;
    this.icapWritable = this.socket.write(LAST_CHUNK);
  }

  private serviceDrained(): void {
    this.icapWritable = true;
    this.arm();
    if (this.continued && !this.sent && this.mode !== 'done') this.ex.up?.socket.resume();
  }

  // ── from the service ────────────────────────────────────────────────────────

  private fromService(chunk: Buffer): void {
    if (this.mode === 'done' || this.answerDone) return;
    this.replay = null;
    this.arm();
    this.client.responseProgress();
    try {
      this.reader.push(chunk);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.fail(`sent an answer that is not ICAP: ${error.message}`);
    }
  }

  private answerHead(h: IcapAnswerHead): void {
    if (this.mode !== 'icap') return;
    if (h.code !== 100) this.answerStatus = h.code;
    if (h.code === 100) {
      if (this.continued || this.previewOpen || this.sent) return this.fail('sent 100 Continue where none was asked for');
      this.continued = true;
      this.replay = null;
      this.original = null; // from here the body goes to the service: a 204 could no longer be served
      for (const piece of this.later.splice(0)) this.chunk(piece);
      if (this.upstreamComplete) this.endMessage();
      else if (this.icapWritable) this.ex.up?.socket.resume();
      return this.arm();
    }
    this.disarm();
    if (h.code === 204) return; // acted on at its end (answerEnd)
    if (h.code !== 200) return this.fail(`answered "${h.statusLine}"`);
    const section = h.sections.get('res-hdr');
    if (section === undefined || h.sections.has('req-hdr')) return this.fail('answered a RESPMOD with 200 but without a res-hdr alone');
    const adapted = adaptedHead(this.client.ctx, this.ex, section, h.hasBody);
    if (typeof adapted === 'string') return this.fail(adapted);
    this.mode = 'adapted';
    // Answered on the preview: the rest of the upstream body is not wanted, nor its end awaited.
    if (!this.continued) this.detachUpstream(false);
    this.original = null;
    this.later = [];
    this.framing = adapted.framing;
    Object.assign(this.ex, { status: adapted.status, contentType: adapted.contentType, responseKeepAlive: adapted.keepAlive, outcome: Outcome.Response, detail: `RESPMOD ${h.statusLine}`, responded: true });
    if (!this.client.writeClient(adapted.head)) this.pauseService();
  }

  private adaptedBody(piece: Buffer): void {
    if (this.mode !== 'adapted' || piece.length === 0) return;
    const framing = this.framing!;
    const first = this.adaptedBytes === 0;
    this.adaptedBytes += piece.length;
    let more: boolean;
    if (framing.kind === 'chunked') {
      more = this.client.writeClient(Buffer.from(`${first ? '' : '\r\n'}${piece.length.toString(16)}\r\n`, 'latin1'), piece);
    } else {
      if (framing.kind === 'length' && this.adaptedBytes > framing.length) return this.fail(`sent a body longer than its Content-Length ${framing.length}`);
      more = this.client.writeClient(piece);
    }
    if (!more) this.pauseService();
  }

  private answerEnd(rest: number): void {
    this.answerDone = true;
    this.disarm();
    if (rest > 0) this.reusable = false;
    if (this.mode === 'icap' && this.answerStatus === 204) {
      // A 204: the original response, as held.
      if (this.original === null) return this.fail('answered 204 after the whole body was sent (exaproxy sends no Allow: 204)');
      this.letGoOfService();
      return this.toOriginal('RESPMOD ICAP/1.0 204');
    }
    if (this.mode !== 'adapted') return;
    const framing = this.framing!;
    if (framing.kind === 'length' && this.adaptedBytes !== framing.length) return this.fail(`sent ${this.adaptedBytes} body bytes for its Content-Length ${framing.length}`);
    if (framing.kind === 'chunked') this.client.writeClient(this.adaptedBytes === 0 ? LAST_CHUNK : Buffer.from('\r\n0\r\n\r\n', 'latin1'));
    this.letGoOfService();
    if (!this.upstreamComplete) this.ex.reusable = false; // the rest of the upstream body is not wanted
    this.finish();
  }

  // ── outcomes ────────────────────────────────────────────────────────────────

  /** The client gets the original response: what is held, then the upstream's stream. */
  private toOriginal(detail: string): void {
    const held = this.original!;
    this.original = null;
    this.later = [];
    this.mode = 'original';
    Object.assign(this.ex, { detail, responded: true });
    let more = true;
    for (const piece of held) more = this.client.writeClient(piece);
    if (this.upstreamComplete) return this.finish();
    if (more) this.ex.up?.socket.resume();
  }

  /** Nothing more of this stage: the exchange goes on without it. */
  private over(): void {
    this.mode = 'done';
    this.ex.respmod = null;
    this.disarm();
  }

  private finish(): void {
    this.over();
    this.client.responseDone();
  }

  private overLimit(limit: number): void {
    const bypass = this.client.ctx.respmod!.settings.overLimit === 'bypass';
    this.socket.destroy();
    if (bypass && this.mode === 'icap' && this.original !== null) return this.toOriginal('RESPMOD bypassed: over redirector.respmod-limit');
    this.over();
    if (this.ex.responded) return this.client.abort('RESPMOD over redirector.respmod-limit');
    this.client.answer(overLimitPage(limit));
  }

  /** The service failed this response: redirector.failure while nothing has left, else a reset. */
  private fail(reason: string): void {
    if (this.mode === 'done' || this.mode === 'original') return;
    const service = this.client.ctx.respmod!;
    service.failed(this.ex.target, reason);
    this.socket.destroy();
    const detail = `RESPMOD failed: ${reason}`;
    if (!this.ex.responded && service.settings.failure === 'allow' && this.original !== null) return this.toOriginal(detail);
    this.over();
    if (this.ex.responded) return this.client.abort(detail);
    this.client.answer({ status: 503, outcome: Outcome.Error, detail, close: true, message: 'The response could not be checked by the ICAP service.' });
  }

  private lost(reason: string): void {
    if (this.answerDone || this.mode === 'done' || this.mode === 'original') return;
    if (this.replay === null) return this.fail(`lost the connection (${reason})`);
    // Closed as it was taken from the pool: the same again on a new connection.
    const { head, data } = this.replay;
    this.replay = null;
    this.listen('off');
    this.socket.on('error', () => undefined).destroy();
    this.socket = this.client.ctx.respmod!.resend(head, data, this.previewOpen ? null : this.sent ? IEOF_CHUNK : LAST_CHUNK);
    this.listen('on');
    this.arm();
  }

  /**
   * The connection goes back to the service's pool when its message and answer are both whole:
   * a final answer to a preview (no 100 Continue) ends the message there too.
   */
  private letGoOfService(): void {
    this.listen('off');
    const whole = this.sent || (!this.previewOpen && !this.continued);
    if (whole && this.reusable && !this.socket.destroyed) this.client.ctx.respmod!.release(this.socket);
    else this.socket.destroy();
  }

  /** The upstream is done with: pooled when its body is all here and it may be (`reuse`). */
  private detachUpstream(reuse = true): void {
    const { ex } = this, up = ex.up;
    ex.up = null;
    if (up === null) return;
    if (reuse && ex.reusable && !ex.body.pending && !up.ended) {
      up.socket.resume();
      this.client.ctx.upstreams.release(up, Date.now());
    } else {
      up.owner = null;
      up.destroy();
    }
  }

  private readonly onData = (chunk: Buffer): void => this.fromService(chunk);
  private readonly onDrain = (): void => this.serviceDrained();
  private readonly onError = (error: NodeJS.ErrnoException): void => error instanceof RespmodWaitedTooLong ? this.fail(error.message) : this.lost(error.code ?? error.message);
  private readonly onClose = (): void => this.lost('closed by the service');

  private listen(how: 'on' | 'off'): void {
    this.socket[how]('data', this.onData);
    this.socket[how]('drain', this.onDrain);
    this.socket[how]('error', this.onError);
    this.socket[how]('close', this.onClose);
  }

  private pauseService(): void {
    this.servicePaused = true;
    this.socket.pause();
    this.disarm(); // the client is slow, not the service
  }

  /**
   * The service has `redirector.timeout` to move while it is waited for: its answer to a
   * preview or a whole message, or room for the body being sent. Not while the body waits
   * for the upstream, nor while the answer waits for the client.
   */
  private arm(): void {
    this.disarm();
    if (this.answerDone || this.mode === 'done' || this.mode === 'original' || this.servicePaused) return;
    const waiting = this.sent || !this.icapWritable || (!this.previewOpen && !this.continued);
    if (!waiting) return;
    this.timer = setTimeout(() => this.fail(`did not answer within ${this.client.ctx.respmod!.settings.timeoutMs} ms`), this.client.ctx.respmod!.settings.timeoutMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
