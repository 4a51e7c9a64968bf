/**
 * Forward: the request head rewritten for the upstream (hop-by-hop fields removed,
 * Via, X-Forwarded-For, the configured changes, absolute-form to origin-form — kept
 * absolute for a parent proxy), in the
 * worker's output slab. The body follows through the exchange's framer.
 */
import { ERROR_INFO, ErrorCode, Flag, Rewrite, Slot } from '../../native/abi.generated';
import { native } from '../../native/addon';
import type { ProxyContext } from '../context';
import { Outcome } from '../../log/outcome';
import { refusal, type LocalAnswer } from './answer';
import { targetOf } from './read-head';

const { parseRequest, readRequest, rewriteRequest } = native;

/** Room offered for a head rewritten while it is parsed: most heads fit; a larger one is rewritten when forwarded. */
const HEAD_ROOM = 4096;
/** The rewrite of a head forwarded directly (upgrade kept when asked for: only an upgrade request has one). */
const DIRECT = Rewrite.UPSTREAM_KEEP_ALIVE | Rewrite.ALLOW_UPGRADE;

/**
 * Parses the request head at `buf[pos..]` into the worker's table (see parseRequest). When
 * nothing decided after the parse can change how it is rewritten — no helper, login,
 * external ACL, parent or forwarded-client header — it is rewritten in the same addon call,
 * into the scratch output, for `rewriteRequestHead` to take if the request is forwarded.
 */
export function parseRequestHead(ctx: ProxyContext, buf: Buffer, pos: number, table: Uint32Array, clientIp: string): number {
  if (ctx.decider !== null || ctx.auth !== null || ctx.externalAcl !== null || ctx.parents !== null || ctx.settings.forwardHeader) {
    return parseRequest(buf, pos, table);
  }
  const { buf: out, start } = ctx.scratch.outForParse(Math.min(buf.length - pos, HEAD_ROOM) + 1024);
  return readRequest(ctx.plan, buf, pos, table, out, start, ctx.scratch.addressBytes(clientIp), DIRECT);
}

/** The head to send upstream, or the answer when it cannot be rewritten. */
export function rewriteRequestHead(ctx: ProxyContext, input: Buffer, table: Uint32Array, clientIp: string, toParent = false): Buffer | LocalAnswer {
  // Rewritten when it was parsed (parseRequestHead), still in the worker's table and scratch output.
  const parsed = toParent || table !== ctx.scratch.table ? 0 : table[Slot.REWRITTEN]!;
  const early = parsed > 0 ? ctx.scratch.takeParsed(parsed) : null;
  if (early !== null) return early;
  const headLen = table[Slot.HEAD_END]! - table[Slot.METHOD_START]!;
  // A parent proxy is sent the target in absolute-form.
  let bits = toParent ? Rewrite.UPSTREAM_KEEP_ALIVE | Rewrite.ABSOLUTE_FORM : Rewrite.UPSTREAM_KEEP_ALIVE;
  if ((table[Slot.FLAGS]! & Flag.IS_UPGRADE) !== 0) bits |= Rewrite.ALLOW_UPGRADE;
  let n = -ErrorCode.OUTPUT_TOO_SMALL;
  // Usually fits in the head's size plus our few lines; configured additions may need more.
  for (let room = headLen + 1024; n === -ErrorCode.OUTPUT_TOO_SMALL && room <= 4 * headLen + 65536; room *= 4) {
    const { buf, start } = ctx.scratch.out(room);
    n = rewriteRequest(ctx.plan, input, table, buf, start, clientIp, bits);
  }
  if (n > 0) return ctx.scratch.take(n);
  const [name, status] = (n < 0 && ERROR_INFO[-n]) || ['EMPTY_REWRITE', 500];
  ctx.log.error({ error: name }, 'request rewrite failed');
  return refusal(status, 'The request could not be forwarded.', undefined, true);
}

/**
 * Where a head a helper wrote instead of the client's goes, parsed into the worker's
 * table so that every rule applies to it; or the answer when it cannot be parsed.
 */
export function replacedTarget(ctx: ProxyContext, head: Buffer): { host: string; port: number; tls: boolean } | LocalAnswer {
  if (parseRequest(head, 0, ctx.scratch.table) > 0) return targetOf(head, ctx.scratch.table);
  // Only the request line is logged: header lines may hold credentials.
  ctx.log.error({ line: firstLine(head) }, 'the helper returned a request exaproxy cannot parse');
  return { status: 503, outcome: Outcome.Error, page: 'internal_error.html', pageHost: '' };
}

function firstLine(head: Buffer): string {
  const end = head.indexOf(10);
  return head.latin1Slice(0, Math.min(end < 0 ? head.length : end, 200)).trimEnd();
}
