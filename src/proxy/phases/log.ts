/**
 * Log: the exchange's one access-log line and its counts — the outcome is counted here
 * and nowhere else.
 */
import type { ProxyContext } from '../context';
import type { Exchange } from '../exchange';
import { methodText } from './decide';

export function logExchange(ctx: ProxyContext, ex: Exchange, client: { id: number; ip: string; port: number; localPort: number }): void {
  ctx.stats?.responseSent(ex.status);
  ctx.stats?.decision(ex.outcome, ex.decideMs);
  ctx.access?.(ex.record(client, methodText(ex), Date.now()));
}
