/**
 * Decide, for the TLS SNI listener: the helper is asked about the server name (ExaProxy's
 * TLS request in every dialect, transport `tls`) and its verdict becomes where the
 * ClientHello goes — the name on port 443, an intercepting server, or nowhere.
 */
import { Outcome } from '../../log/outcome';
import type { Decision } from '../../redirector';
import type { ProxyContext } from '../context';
import type { Exchange } from '../exchange';

/** The port a permitted TLS connection goes to (the destination address is not known: no SO_ORIGINAL_DST). */
export const TLS_PORT = 443;

export type TlsRoute = { kind: 'connect'; host: string; port: number } | { kind: 'close'; status: number; outcome: Outcome };

/** Asks the helper pool about `sni`; the exchange gets the verdict and the time it took. */
export async function decideTls(
  ctx: ProxyContext,
  ex: Exchange,
  sni: string,
  hello: Buffer,
  client: { ip: string; localIp: string; localPort: number },
): Promise<TlsRoute> {
  const asked = Date.now();
  let decision: Decision;
  try {
    const result = await ctx.decider!.decide({
      method: 'TLS',
      scheme: 'https',
      host: sni,
      port: TLS_PORT,
      path: '',
      clientIp: client.ip,
      myIp: client.localIp,
      myPort: client.localPort,
      // From the external ACL helper (user=, tag=), when one is asked.
      user: ex.user,
      tag: ex.tag,
      rawHead: hello,
      transport: 'tls',
    });
    decision = result.decision;
    ex.detail = result.verdict;
  } catch (err) {
    ctx.log.error({ err }, 'redirector failed');
    decision = { kind: 'deny', reason: String(err) };
  }
  ex.decideMs = Date.now() - asked;
  return tlsRouteOf(decision, sni, ex);
}

/**
 * Only permit and intercept can carry a TLS connection on: the proxy cannot show a page,
 * a redirect or a rewritten request to a client it does not terminate TLS for, so those
 * close the connection as a deny.
 */
export function tlsRouteOf(d: Decision, sni: string, ex: Exchange): TlsRoute {
  switch (d.kind) {
    case 'permit':
      return { kind: 'connect', host: sni, port: TLS_PORT };
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
