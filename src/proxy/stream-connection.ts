/**
 * A connection that carries one byte stream rather than HTTP requests — the TLS SNI
 * listener's (sni-connection.ts) and the passthrough listener's (tcp-connection.ts). Each is
 * one exchange through the same phases as an HTTP request:
 *
 *   admit (client ACL) → decide (phases/decide-stream.ts) → connect (UpstreamLeg: resolve,
 *   destination protection, open) → tunnel (ClientSocket.startTunnel) → log
 *
 * What comes before admit (reading a ClientHello, or nothing) is the subclass's. A
 * connection that cannot go on is closed and logged once, with its reason, as an exchange
 * of the subclass's method (TLS, TCP).
 */
import { Outcome } from '../log/outcome';
import { ClientSocket, Expiry, State } from './client-socket';
import { Exchange } from './exchange';
import type { LocalAnswer } from './phases/answer';
import { decideStream, type StreamDestination, type StreamQuestion, type StreamRoute } from './phases/decide-stream';
import { checkTlsExternalAcl } from './phases/external-acl';
import { viaParent } from './phases/connect-parent';
import { logExchange } from './phases/log';
import type { Upstream } from './upstream';
import { UpstreamLeg, type ClientSide } from './upstream-leg';

export abstract class StreamConnection extends ClientSocket implements ClientSide {
  protected ex: Exchange | null = null;
  protected readonly leg = new UpstreamLeg(this);

  /** The access log's method, and the monitor's slot for it. */
  protected abstract readonly method: string;
  protected abstract readonly requestSlot: number;
  /** What the connection waits for before it can be decided, for the timeout's log line. */
  protected readonly awaited: string = 'the first bytes';

  /**
   * The last bytes a refused client gets before the close (a TLS alert), or null; `status`
   * says why (403 refused, 5xx failed).
   */
  protected abstract farewell(status: number): Buffer | null;

  onDrain(): void {}

  /** The address and port the client connected to, as the helpers' `myip`/`myport`. */
  protected get arrivedAt(): { ip: string; port: number } {
    return { ip: this.localIp, port: this.localPort };
  }

  onClose(): void {
    if (this.state === State.Tunnel) return; // the tunnel accounts for itself
    const ex = this.ex;
    if (ex !== null) {
      ex.detail ||= 'client closed';
      this.log(ex);
      this.leg.drop(ex);
    }
    this.state = State.Closed;
    this.countClosed();
    this.onClosed?.(this);
  }

  /**
   * Admit, decide, connect: `question` is what the helper is asked (`to` is where a permit
   * goes). The exchange was made by `newExchange` and names its URL already.
   */
  protected begin(ex: Exchange, question: StreamQuestion): void {
    const ctx = this.ctx;
    if (!this.allowed) return this.refuse(403, 'client not allowed', this.farewell(403), Outcome.Deny);
    const acl = ctx.externalAcl;
    if (acl === null) return this.decide(ex, question);
    this.state = State.Deciding; // while the external ACL helper thinks
    this.pauseClient();
    // Asked as Squid asks about HTTPS: method CONNECT, the name (or address) and port.
    const aclQuestion = {
      method: 'CONNECT', scheme: 'https', host: question.host, port: question.to.port, path: '', clientIp: this.clientIp, clientPort: this.clientPort,
      myIp: this.arrivedAt.ip, myPort: this.arrivedAt.port, rawHead: question.raw, transport: question.transport,
    } as const;
    checkTlsExternalAcl(acl, ex, aclQuestion, (no) => {
      if (this.ex !== ex || this.state !== State.Deciding) return; // the client went away meanwhile
      if (no === null) this.decide(ex, question);
      else this.answer(no);
    });
  }

  private decide(ex: Exchange, question: StreamQuestion): void {
    const ctx = this.ctx;
    if (ctx.decider === null) return this.follow(ex, { kind: 'connect', ...question.to });
    this.state = State.Deciding;
    this.pauseClient();
    void decideStream(ctx, ex, question, { ip: this.clientIp, localIp: this.arrivedAt.ip, localPort: this.arrivedAt.port }).then((route) => {
      if (this.ex === ex && this.state === State.Deciding) this.follow(ex, route); // else the client went away meanwhile
    });
  }

  private follow(ex: Exchange, route: StreamRoute): void {
    if (route.kind === 'close') return this.refuse(route.status, '', this.farewell(403), route.outcome);
    this.state = State.Connecting;
    // An intercept is logged where it went; a permitted connection by what the client asked.
    if (ex.outcome === Outcome.Intercept) ex.url = hostPort(route);
    ex.viaParent = viaParent(this.ctx, ex, route.host);
    this.leg.connect(ex, route.host, route.port, 'tunnel');
  }

  protected newExchange(): Exchange {
    this.deadline = 0;
    this.expiry = Expiry.None;
    const ex = (this.ex = new Exchange(Date.now()));
    ex.method = this.method;
    this.ctx.stats?.requestStarted(this.requestSlot);
    return ex;
  }

  /**
   * Ends the connection without a tunnel: logged once with `reason` (kept when a helper's
   * verdict is already there), then `last` (an alert) when there is one, then closed.
   */
  protected refuse(status: number, reason: string, last: Buffer | null, outcome: Outcome = Outcome.Error): void {
    if (this.state === State.Closed) return;
    const ex = this.ex ?? this.newExchange();
    if (ex.url === '') ex.url = '-';
    ex.status = status;
    if (ex.outcome === Outcome.Permit) ex.outcome = outcome;
    if (reason !== '') ex.detail = reason;
    this.ctx.log.debug({ client: this.clientIp, method: this.method, host: ex.host, reason: ex.detail }, 'connection closed');
    this.leg.drop(ex);
    if (last !== null) this.writeClient(last);
    this.log(ex);
    this.close();
  }

  /** A front end's header that is not PROXY protocol is refused and logged like any refusal. */
  protected override invalidProxyHeader(): void {
    this.refuse(400, 'invalid PROXY protocol header', null);
  }

  /**
   * The client closed while its PROXY header was still expected; true if so. With part of a
   * header it is refused and logged; with nothing sent it was a connect-only health check of the
   * front end, closed quietly.
   */
  protected endedBeforeProxyHeader(): boolean {
    if (this.state !== State.ProxyHeader) return false;
    if (this.input.pending === 0) this.close();
    else this.refuse(400, 'closed before the PROXY header', null);
    return true;
  }

  protected log(ex: Exchange): void {
    if (this.ex !== ex) return;
    this.ex = null;
    logExchange(this.ctx, ex, this);
  }

  protected close(): void {
    if (this.state === State.Closed) return;
    this.input.clear();
    this.endSocket();
  }

  // ── the upstream (ClientSide, for the UpstreamLeg) ───────────────────────────

  active(): Exchange | null {
    return this.state === State.Connecting ? this.ex : null;
  }

  connecting(): void {
    this.deadline = Date.now() + this.ctx.settings.timeouts.upstreamConnect;
    this.expiry = Expiry.UpstreamTimeout;
  }

  /** Connected: what the client sent so far goes to the server, then bytes both ways. */
  sendRequest(ex: Exchange, up: Upstream): void {
    ex.status = 200;
    ex.responded = true;
    this.tunnel(up, null);
  }

  tunnel(up: Upstream, fromUpstream: Buffer | null): void {
    const ex = this.ex!;
    // What waits in the input (a ClientHello) is counted now; what follows, by the tunnel.
    this.ctx.stats?.bytesToUpstream(this.startTunnel(ex, up, fromUpstream, () => this.log(ex)));
    this.socket.resume();
  }

  /** The connect phase refused or failed (destination not allowed, DNS, unreachable). */
  answer(a: LocalAnswer): void {
    const ex = this.ex;
    if (ex === null || this.state === State.Closed) return;
    const status = a.status < 400 ? 403 : a.status; // dns.fqdn's page is a 200 for HTTP clients
    this.refuse(status, a.detail ?? a.message ?? `${a.status}`, this.farewell(status), a.outcome === Outcome.Local ? Outcome.Deny : a.outcome);
  }

  abort(reason: string): void {
    this.refuse(502, reason, null);
  }

  writeClient(data: Buffer, more?: Buffer): boolean {
    if (this.ex !== null) this.ex.bytes += data.length + (more?.length ?? 0);
    return this.write(data, more);
  }

  // Nothing of HTTP's response handling applies: the tunnel starts as soon as the upstream connects.
  upstreamDrained(): void {}
  responseProgress(): void {}
  responseDone(): void {}

  protected expired(what: Expiry): void {
    if (what === Expiry.Silent) return this.close();
    if (what === Expiry.HeadTimeout) {
      const awaited = this.state === State.ProxyHeader ? 'PROXY header' : this.awaited;
      return this.refuse(408, `${awaited} not received in time (http.header-timeout)`, null);
    }
    this.refuse(504, 'upstream timeout', this.farewell(504));
  }
}

function hostPort(to: StreamDestination): string {
  return `${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`;
}
