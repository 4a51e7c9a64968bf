/**
 * One connection of the passthrough listener (`passthrough.*`): a TCP stream Linux TPROXY
 * delivered, whose local address is where the client was going. Nothing is read before the
 * decision: the helper is asked about the original destination at once (transport `tcp`),
 * then the stream goes through the phases every stream connection goes through
 * (stream-connection.ts) — permit to the original destination, intercept to the helper's,
 * anything else closed — and is logged as method TCP.
 */
import { TCP_REQUEST } from '../monitor/stats';
import { State } from './client-socket';
import { StreamConnection } from './stream-connection';

const NOTHING = Buffer.alloc(0);

export class TcpConnection extends StreamConnection {
  protected readonly method = 'TCP';
  protected readonly requestSlot = TCP_REQUEST;

  constructor(socket: ConstructorParameters<typeof StreamConnection>[0], ctx: ConstructorParameters<typeof StreamConnection>[1]) {
    super(socket, ctx);
    if (socket.destroyed) return;
    const to = { host: this.localIp, port: this.localPort };
    const ex = this.newExchange();
    ex.host = to.host;
    ex.url = `${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`;
    this.begin(ex, { method: 'TCP', transport: 'tcp', host: to.host, to, raw: NOTHING });
  }

  /**
   * The accepted socket's local address is the client's destination, not one of the proxy's:
   * the machine's own addresses are still refused (destination.ts lists them).
   */
  override get ownIp(): string {
    return '';
  }

  protected farewell(): null {
    return null; // the client's protocol is unknown: a close is all it can be told
  }

  onData(chunk: Buffer): void {
    this.ctx.stats?.bytesFromClient(chunk.length);
    if (this.state === State.Closed) return;
    // What the client sends before the tunnel opens waits, and goes first.
    this.input.append(chunk, false);
    this.limitBuffered();
  }

  onEnd(): void {
    this.clientEnded = true; // the tunnel passes the FIN on
  }
}
