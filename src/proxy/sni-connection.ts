/**
 * One connection of the TLS SNI listener: another entry point into the same phases as an
 * HTTP request, with the first TLS record in place of a request head:
 *
 *   PROXY header → ClientHello (SNI) → admit (client ACL) → decide (decide-tls) →
 *   connect (UpstreamLeg: resolve, destination protection, open) → tunnel → log
 *
 * TLS is never terminated: the ClientHello is read, not consumed, and reaches the server
 * byte for byte, followed by whatever the client sent after it. A connection that cannot
 * go on is closed (with a plaintext TLS alert when the client speaks TLS) and logged once,
 * with its reason, as an exchange of method TLS.
 */
import { ERROR_INFO, Sni } from '../native/abi.generated';
import { native } from '../native/addon';
import { Outcome } from '../log/outcome';
import { TLS_REQUEST } from '../monitor/stats';
import { ClientSocket, Expiry, State } from './client-socket';
import type { ProxyContext } from './context';
import { Exchange } from './exchange';
import type { LocalAnswer } from './phases/answer';
import { decideTls, TLS_PORT, type TlsRoute } from './phases/decide-tls';
import { logExchange } from './phases/log';
import type { Upstream } from './upstream';
import { UpstreamLeg, type ClientSide } from './upstream-leg';
import { viaParent } from './phases/connect-parent';
import { checkTlsExternalAcl } from './phases/external-acl';

const { peekSni } = native;

/** The proxy's context, with the TLS listener's own limit on the first record. */
export interface TlsContext extends ProxyContext {
  /** Largest first record accepted, header included (`tls.header-size`). */
  helloLimit: number;
}

/** TLS alert descriptions (RFC 8446 §6), sent as a plaintext fatal alert record. */
const Alert = {
  AccessDenied: 49,
  DecodeError: 50,
  RecordOverflow: 22,
  InternalError: 80,
  UnrecognizedName: 112,
} as const;

function alertRecord(description: number): Buffer {
  // content type 21 (alert), version 3.1, length 2, level 2 (fatal), description
  return Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, description]);
}

/** A record header that already announces more than the limit allows. */
function announcedTooLong(buf: Buffer, pos: number, limit: number): boolean {
  return buf.length - pos >= 5 && 5 + buf.readUInt16BE(pos + 3) > limit;
}

export class SniConnection extends ClientSocket implements ClientSide {
  private ex: Exchange | null = null;
  private readonly leg = new UpstreamLeg(this);
  private readonly sniTable = new Uint32Array(Sni.SIZE);
  declare readonly ctx: TlsContext;

  constructor(socket: ConstructorParameters<typeof ClientSocket>[0], ctx: TlsContext) {
    super(socket, ctx);
  }

  // ── client socket events ──────────────────────────────────────────────────────

  onData(chunk: Buffer): void {
    this.ctx.stats?.bytesFromClient(chunk.length);
    if (this.state === State.Closed) return;
    this.input.append(chunk, this.state === State.Head || this.state === State.ProxyHeader);
    if (this.state === State.ProxyHeader) {
      if (!this.readProxyHeader() || this.input.buf === null) return;
    }
    if (this.state === State.Head) this.readHello();
    else this.limitBuffered(); // deciding or connecting: what follows the hello waits
  }

  onDrain(): void {}

  onEnd(): void {
    this.clientEnded = true;
    if (this.state === State.Head && this.input.pending === 0) this.close();
    else if (this.state === State.Head) this.refuse(400, 'ClientHello incomplete', null);
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

  // ── the ClientHello ──────────────────────────────────────────────────────────

  private readHello(): void {
    const { buf, pos } = this.input;
    if (buf === null) return;
    const limit = this.ctx.helloLimit;
    const n = peekSni(buf, pos, this.sniTable);
    if (n === 0) {
      if (buf.length - pos > limit || announcedTooLong(buf, pos, limit)) return this.refuse(400, 'TLS record over tls.header-size', Alert.RecordOverflow);
      if (this.expiry !== Expiry.HeadTimeout) {
        // The first bytes of the hello: from now on it must complete in time.
        this.deadline = Date.now() + this.ctx.settings.timeouts.header;
        this.expiry = Expiry.HeadTimeout;
      }
      return this.limitBuffered();
    }
    if (n < 0) {
      const name = ERROR_INFO[-n]?.[0] ?? 'TLS_RECORD';
      // A client that does not speak TLS would not understand an alert.
      if (name === 'NOT_TLS') return this.refuse(400, 'not TLS', null);
      return this.refuse(400, `invalid ClientHello (${name})`, Alert.DecodeError);
    }
    const t = this.sniTable;
    if (t[Sni.RECORD_LEN]! > limit) return this.refuse(400, 'TLS record over tls.header-size', Alert.RecordOverflow);
    if (t[Sni.NAME_END] === 0) return this.refuse(400, 'ClientHello without SNI', Alert.UnrecognizedName);
    const sni = buf.latin1Slice(t[Sni.NAME_START], t[Sni.NAME_END]).toLowerCase().replace(/\.$/, '');
    // The hello stays in the input (it is replayed from there); the helper gets a copy.
    const hello = Buffer.from(buf.subarray(pos, pos + t[Sni.RECORD_LEN]!));
    this.start(sni, hello);
  }

  private start(sni: string, hello: Buffer): void {
    const ctx = this.ctx;
    const ex = this.newExchange();
    ex.host = sni;
    ex.url = `${sni}:${TLS_PORT}`;
    if (!this.allowed) return this.refuse(403, 'client not allowed', Alert.AccessDenied, Outcome.Deny);
    const acl = ctx.externalAcl;
    if (acl === null) return this.decide(ex, sni, hello);
    this.state = State.Deciding; // while the external ACL helper thinks
    this.pauseClient();
    const question = {
      method: 'CONNECT', scheme: 'https', host: sni, port: TLS_PORT, path: '', clientIp: this.clientIp, clientPort: this.clientPort,
      myIp: this.localIp, myPort: this.localPort, rawHead: hello, transport: 'tls',
    } as const;
    checkTlsExternalAcl(acl, ex, question, (no) => {
      if (this.ex !== ex || this.state !== State.Deciding) return; // the client went away meanwhile
      if (no === null) this.decide(ex, sni, hello);
      else this.answer(no);
    });
  }

  private decide(ex: Exchange, sni: string, hello: Buffer): void {
    const ctx = this.ctx;
    if (ctx.decider === null) return this.follow(ex, { kind: 'connect', host: sni, port: TLS_PORT });
    this.state = State.Deciding;
    this.pauseClient();
    void decideTls(ctx, ex, sni, hello, { ip: this.clientIp, localIp: this.localIp, localPort: this.localPort }).then((route) => {
      if (this.ex === ex && this.state === State.Deciding) this.follow(ex, route); // else the client went away meanwhile
    });
  }

  private follow(ex: Exchange, route: TlsRoute): void {
    if (route.kind === 'close') return this.refuse(route.status, '', Alert.AccessDenied, route.outcome);
    this.state = State.Connecting;
    ex.url = `${route.host}:${route.port}`;
    ex.viaParent = viaParent(this.ctx, ex, route.host);
    this.leg.connect(ex, route.host, route.port, 'tunnel');
  }

  private newExchange(): Exchange {
    this.deadline = 0;
    this.expiry = Expiry.None;
    const ex = (this.ex = new Exchange(Date.now()));
    ex.method = 'TLS';
    this.ctx.stats?.requestStarted(TLS_REQUEST);
    return ex;
  }

  /**
   * Ends the connection without a tunnel: logged once with `reason` (kept when a helper's
   * verdict is already there), then a fatal alert when the client speaks TLS, then closed.
   */
  private refuse(status: number, reason: string, alert: number | null, outcome: Outcome = Outcome.Error): void {
    if (this.state === State.Closed) return;
    const ex = this.ex ?? this.newExchange();
    if (ex.url === '') ex.url = '-';
    ex.status = status;
    if (ex.outcome === Outcome.Permit) ex.outcome = outcome;
    if (reason !== '') ex.detail = reason;
    this.ctx.log.debug({ client: this.clientIp, sni: ex.host, reason: ex.detail }, 'TLS connection closed');
    this.leg.drop(ex);
    if (alert !== null) this.writeClient(alertRecord(alert));
    this.log(ex);
    this.close();
  }

  private log(ex: Exchange): void {
    if (this.ex !== ex) return;
    this.ex = null;
    logExchange(this.ctx, ex, { id: this.id, ip: this.clientIp, port: this.clientPort, localPort: this.localPort });
  }

  private close(): void {
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

  /** Connected: the ClientHello and everything after it go to the server, then bytes both ways. */
  sendRequest(ex: Exchange, up: Upstream): void {
    ex.status = 200;
    ex.responded = true;
    this.tunnel(up, null);
  }

  tunnel(up: Upstream, fromUpstream: Buffer | null): void {
    const ex = this.ex!;
    // The hello (and what came with it) is counted now; what follows, by the tunnel.
    this.ctx.stats?.bytesToUpstream(this.startTunnel(ex, up, fromUpstream, () => this.log(ex)));
    this.socket.resume();
  }

  /** The connect phase refused or failed (destination not allowed, DNS, unreachable). */
  answer(a: LocalAnswer): void {
    const ex = this.ex;
    if (ex === null || this.state === State.Closed) return;
    const status = a.status < 400 ? 403 : a.status; // dns.fqdn's page is a 200 for HTTP clients
    this.refuse(status, a.detail ?? a.message ?? `${a.status}`, status === 403 ? Alert.AccessDenied : Alert.InternalError, a.outcome === Outcome.Local ? Outcome.Deny : a.outcome);
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

  /** Called by the listener's sweeper with the current time. */
  expire(now: number): void {
    if (this.expiry === Expiry.None || now < this.deadline) return;
    const what = this.expiry;
    this.expiry = Expiry.None;
    if (what === Expiry.Silent) return this.close();
    if (what === Expiry.HeadTimeout) return this.refuse(408, 'ClientHello not received in time (http.header-timeout)', null);
    this.refuse(504, 'upstream timeout', Alert.InternalError);
  }
}
