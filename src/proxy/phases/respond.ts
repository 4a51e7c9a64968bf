/**
 * Respond: the upstream's response head — interim (1xx) heads passed on to HTTP/1.1
 * clients, an upgrade only when one was asked for, the head rewritten for the client,
 * whether the client and upstream connections can be reused, and the body's framing.
 */
import { ERROR_INFO, ErrorCode, Flag, Header, Rewrite, Slot } from '../../native/abi.generated';
import { HeadView } from '../../native/head-view';
import { native } from '../../native/addon';
import type { ProxyContext } from '../context';
import type { Exchange } from '../exchange';
import { refusal, type LocalAnswer } from './answer';

const { readResponse, rewriteResponse } = native;

/** Room offered for the rewritten head before it is parsed: most heads fit; a larger one is rewritten again. */
const HEAD_ROOM = 4096;

export type ResponseStep =
  /** The head is not complete yet (kept in `ex.partialHead`). */
  | { kind: 'more' }
  /** A 1xx head for the client (null: an HTTP/1.0 client gets none), then `rest`. */
  | { kind: 'interim'; head: Buffer | null; rest: Buffer }
  /** The final head, rewritten; `rest` is what came after it. `tunnel`: 101, bytes both ways from now. */
  | { kind: 'final'; head: Buffer; rest: Buffer; tunnel: boolean }
  /** Nothing can be relayed: the client gets this instead (and the upstream is dropped). */
  | { kind: 'refused'; answer: LocalAnswer };

const MORE: ResponseStep = { kind: 'more' };

export function readResponseHead(ctx: ProxyContext, ex: Exchange, buf: Buffer): ResponseStep {
  const table = ctx.scratch.responseTable;
  // Parsed and rewritten for the client in one addon call; the bits matter only to a final head.
  const clientKeepAlive = ex.keepAlive && !ex.closeAfter && !ex.body.pending;
  let bits = clientKeepAlive ? Rewrite.CLIENT_KEEP_ALIVE : 0;
  if (ex.minor === 0) bits |= Rewrite.CLIENT_HTTP_10;
  const { buf: out, start } = ctx.scratch.out(Math.min(buf.length, HEAD_ROOM) + 1024);
  const n = readResponse(ctx.plan, buf, 0, table, ex.methodId, out, start, bits);
  if (n === 0) {
    ex.partialHead = buf;
    return MORE;
  }
  ex.partialHead = null;
  if (n < 0) {
    const [name] = ERROR_INFO[-n] ?? ['UNKNOWN'];
    ctx.log.warn({ upstream: ex.target, error: name }, 'invalid response from upstream');
    return refused(refusal(502, `The server ${ex.target} sent an invalid response.`, name, true));
  }
  const flags = table[Slot.FLAGS]!;
  if ((flags & Flag.INTERIM) !== 0) {
    // 100 Continue and friends go to HTTP/1.1 clients (hop-by-hop fields removed).
    if (ex.minor === 0) return { kind: 'interim', head: null, rest: buf.subarray(n) };
    const head = rewrittenHead(ctx, buf, n, table, bits);
    return head === null ? notRelayed(ex) : { kind: 'interim', head, rest: buf.subarray(n) };
  }
  if ((flags & Flag.TUNNEL) !== 0 && !ex.upgrade) {
    // A 101 nobody asked for (RFC 9110 §15.2.2): tunnelling now would let the client's
    // next bytes reach the server unparsed and unfiltered.
    return refused(refusal(502, `The server ${ex.target} switched protocols without being asked to.`, 'unsolicited 101', true));
  }
  ex.status = table[Slot.STATUS]!;
  if (ctx.access !== null) ex.contentType = new HeadView(buf, table).header(Header.CONTENT_TYPE);
  const head = rewrittenHead(ctx, buf, n, table, bits);
  if (head === null) return notRelayed(ex);
  ex.responseKeepAlive = (table[Slot.FLAGS]! & Flag.KEEP_ALIVE) !== 0;
  ex.responded = true;
  ctx.stats?.upstreamLatency(Date.now() - ex.started);
  const tunnel = (flags & Flag.TUNNEL) !== 0;
  if (!tunnel) {
    ex.reusable = (flags & (Flag.CONNECTION_CLOSE | Flag.BODY_UNTIL_CLOSE)) === 0 && (flags & Flag.VERSION_11) !== 0;
    ex.responseBody.start(table, true);
  }
  return { kind: 'final', head, rest: buf.subarray(n), tunnel };
}

/** The head readResponse wrote into the scratch output; else written again with more room, or null when it cannot be. */
function rewrittenHead(ctx: ProxyContext, buf: Buffer, n: number, table: Uint32Array, bits: number): Buffer | null {
  const written = table[Slot.REWRITTEN]!;
  return written > 0 ? ctx.scratch.take(written) : rewriteResponseHead(ctx, buf, n, table, bits);
}

/** The head `buf[0..n]` (parsed into `table`) rewritten for the client, or null when it cannot be. */
function rewriteResponseHead(ctx: ProxyContext, buf: Buffer, n: number, table: Uint32Array, bits: number): Buffer | null {
  const scratch = ctx.scratch;
  // Usually fits in the head's size plus our few lines; configured additions may need more.
  for (let room = n + 1024; room <= 4 * n + 65536; room *= 4) {
    const { buf: out, start } = scratch.out(room);
    const written = rewriteResponse(ctx.plan, buf, table, out, start, bits);
    if (written > 0) return scratch.take(written);
    if (written !== -ErrorCode.OUTPUT_TOO_SMALL) break;
  }
  return null;
}

function notRelayed(ex: Exchange): ResponseStep {
  return refused(refusal(502, `The response from ${ex.target} could not be relayed.`, undefined, true));
}

function refused(answer: LocalAnswer): ResponseStep {
  return { kind: 'refused', answer };
}
