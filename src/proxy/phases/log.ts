/**
 * Log: the exchange's one access-log line and its counts — the outcome is counted here
 * and nowhere else.
 */
import type { ProxyContext } from '../context';
import type { Exchange } from '../exchange';
import { methodText } from './decide';

/** The connection an exchange came on, as its log line shows it (read only when there is an access log). */
export interface LoggedClient {
  readonly id: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly localPort: number;
}

export function logExchange(ctx: ProxyContext, ex: Exchange, client: LoggedClient): void {
  ctx.stats?.responseSent(ex.status);
  ctx.stats?.decision(ex.outcome, ex.decideMs);
  ctx.access?.(ex.record({ id: client.id, ip: client.clientIp, port: client.clientPort, localPort: client.localPort }, methodText(ex), Date.now()));
}
