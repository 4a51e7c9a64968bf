/**
 * Decide, for the listeners that relay a byte stream: the TLS SNI listener asks about the
 * server name (ExaProxy's TLS request in every dialect, transport `tls`), the passthrough
 * listener about the original destination (transport `tcp`). The verdict becomes where the
 * stream goes — where the client was going, an intercepting server, or nowhere.
 */
import { Outcome } from '../../log/outcome';
import type { Decision, RedirectorRequest } from '../../redirector';
import type { ProxyContext } from '../context';
import type { Exchange } from '../exchange';

/** The port a permitted TLS connection goes to when it was not redirected (no SO_ORIGINAL_DST). */
export const TLS_PORT = 443;

/** Where a permitted connection goes: an address or a name, and a port. */
export interface StreamDestination {
  host: string;
  port: number;
}

/** What the helper is asked about a stream, and where a permit sends it. */
export interface StreamQuestion {
  method: 'TLS' | 'TCP';
  transport: 'tls' | 'tcp';
  /** What the helper filters on: the SNI name, or the original destination's address. */
  host: string;
  to: StreamDestination;
  /** Sent to ICAP helpers: the ClientHello record (TLS), nothing (TCP). */
  raw: Buffer;
}

export type StreamRoute = ({ kind: 'connect' } & StreamDestination) | { kind: 'close'; status: number; outcome: Outcome };

/** Asks the helper pool; the exchange gets the verdict and the time it took. */
export async function decideStream(
  ctx: ProxyContext,
  ex: Exchange,
  q: StreamQuestion,
  client: { ip: string; localIp: string; localPort: number },
): Promise<StreamRoute> {
  const asked = Date.now();
  let decision: Decision;
  const request: RedirectorRequest = {
    method: q.method,
    scheme: q.transport === 'tls' ? 'https' : 'http',
    host: q.host,
    port: q.to.port,
    path: '',
    clientIp: client.ip,
    myIp: client.localIp,
    myPort: client.localPort,
    // From the external ACL helper (user=, tag=), when one is asked.
    user: ex.user,
    tag: ex.tag,
    rawHead: q.raw,
    transport: q.transport,
  };
  try {
    const result = await ctx.decider!.decide(request);
    decision = result.decision;
    ex.detail = result.verdict;
  } catch (err) {
    ctx.log.error({ err }, 'redirector failed');
    decision = { kind: 'deny', reason: String(err) };
  }
  ex.decideMs = Date.now() - asked;
  return streamRouteOf(decision, q.to, ex);
}

/**
 * Only permit and intercept can carry a stream on: the proxy cannot show a page, a
 * redirect or a rewritten request to a client whose bytes it does not read, so those close
 * the connection as a deny.
 */
export function streamRouteOf(d: Decision, to: StreamDestination, ex: Exchange): StreamRoute {
  switch (d.kind) {
    case 'permit':
      return { kind: 'connect', host: to.host, port: to.port };
    case 'intercept':
      ex.outcome = Outcome.Intercept;
      return { kind: 'connect', host: d.host, port: d.port };
    case 'error':
      return { kind: 'close', status: 503, outcome: Outcome.Error };
    default:
      // A redirect, a page, a rewrite, a response: refused, the helper's verdict in the log.
      return { kind: 'close', status: 403, outcome: Outcome.Deny };
  }
}
