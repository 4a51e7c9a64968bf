/**
 * Forward: the request head rewritten for the upstream (hop-by-hop fields removed,
 * Via, X-Forwarded-For, the configured changes, absolute-form to origin-form), in the
 * worker's output slab. The body follows through the exchange's framer.
 */
import { ERROR_INFO, ErrorCode, Flag, Rewrite, Slot } from '../../native/abi.generated';
import { native } from '../../native/addon';
import type { ProxyContext } from '../context';
import { refusal, type LocalAnswer } from './answer';

const { rewriteRequest } = native;

/** The head to send upstream, or the answer when it cannot be rewritten. */
export function rewriteRequestHead(ctx: ProxyContext, input: Buffer, table: Uint32Array, clientIp: string): Buffer | LocalAnswer {
  const headLen = table[Slot.HEAD_END]! - table[Slot.METHOD_START]!;
  let bits = Rewrite.UPSTREAM_KEEP_ALIVE;
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
