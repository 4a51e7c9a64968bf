/**
 * One connection of the passthrough listener (`passthrough.*`): a TCP stream whose
 * destination is where the client was going. Linux TPROXY delivers it with that address as
 * the socket's local one; behind a PROXY-protocol front end (`passthrough.proxied`) the
 * header names it, and the client. Nothing of the client's own stream is read before the
 * decision: the helper is asked about the destination at once (transport `tcp`), then the
 * stream goes through the phases every stream connection goes through
 * (stream-connection.ts) — permit to the destination, intercept to the helper's, anything
 * else closed — and is logged as method TCP.
 */
import { TCP_REQUEST } from '../monitor/stats';
import { Expiry, State } from './client-socket';
import type { StreamDestination } from './phases/decide-stream';
import { StreamConnection } from './stream-connection';

const NOTHING = Buffer.alloc(0);

export class TcpConnection extends StreamConnection {
  protected readonly method = 'TCP';
  protected readonly requestSlot = TCP_REQUEST;

  constructor(socket: ConstructorParameters<typeof StreamConnection>[0], ctx: ConstructorParameters<typeof StreamConnection>[1]) {
    super(socket, ctx);
    if (socket.destroyed) return;
    // Behind a front end, a connection without its header in time is closed and logged.
    if (this.state === State.ProxyHeader) this.expiry = Expiry.HeadTimeout;
    else this.start({ host: this.localIp, port: this.localPort });
  }

  private start(to: StreamDestination): void {
    const ex = this.newExchange();
    ex.host = to.host;
    ex.url = `${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`;
    this.begin(ex, { method: 'TCP', transport: 'tcp', host: to.host, to, raw: NOTHING });
  }

  /**
   * Under TPROXY the accepted socket's local address is the client's destination, not one of
   * the proxy's: the machine's own addresses are still refused (destination.ts lists them).
   * Behind a front end it is the proxy's own, as for any listener.
   */
  override get ownIp(): string {
    return this.ctx.settings.proxied ? this.localIp : '';
  }

  protected override get arrivedAt(): { ip: string; port: number } {
    return this.proxiedTo ?? super.arrivedAt;
  }

  protected farewell(): null {
    return null; // the client's protocol is unknown: a close is all it can be told
  }

  onData(chunk: Buffer): void {
    this.ctx.stats?.bytesFromClient(chunk.length);
    if (this.state === State.Closed) return;
    if (this.state === State.ProxyHeader) {
      this.input.append(chunk, true);
      if (this.readProxyHeader()) this.afterProxyHeader();
      return;
    }
    // What the client sends before the tunnel opens waits, and goes first.
    this.input.append(chunk, false);
    this.limitBuffered();
  }

  /** The header is read; what followed it waits in the input for the tunnel. */
  private afterProxyHeader(): void {
    const to = this.proxiedTo;
    // No addresses: the front end's health check (a LOCAL command; HAProxy sends one on each
    // check of a send-proxy-v2 server), with nowhere to go: nothing to decide or log.
    if (to === null) return this.close();
    this.start({ host: to.ip, port: to.port });
  }

  onEnd(): void {
    this.clientEnded = true; // the tunnel passes the FIN on
    this.endedBeforeProxyHeader();
  }
}
