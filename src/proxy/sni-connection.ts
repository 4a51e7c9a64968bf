/**
 * One connection of the TLS SNI listener: the first TLS record in place of a request head,
 * then the phases every stream connection goes through (stream-connection.ts):
 *
 *   PROXY header → ClientHello (SNI) → admit → decide → connect → tunnel → log
 *
 * TLS is never terminated: the ClientHello is read, not consumed, and reaches the server
 * byte for byte, followed by whatever the client sent after it. A connection that cannot go
 * on is closed with a plaintext TLS alert when the client speaks TLS, and logged as method TLS.
 */
import { ERROR_INFO, Sni } from '../native/abi.generated';
import { native } from '../native/addon';
import { TLS_REQUEST } from '../monitor/stats';
import { Expiry, State } from './client-socket';
import type { ProxyContext } from './context';
import { TLS_PORT, type StreamDestination } from './phases/decide-stream';
import { originalDestination } from './original-destination';
import { StreamConnection } from './stream-connection';

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

export class SniConnection extends StreamConnection {
  protected readonly method = 'TLS';
  protected readonly requestSlot = TLS_REQUEST;
  protected override readonly awaited = 'ClientHello';
  private readonly sniTable = new Uint32Array(Sni.SIZE);
  declare readonly ctx: TlsContext;

  constructor(socket: ConstructorParameters<typeof StreamConnection>[0], ctx: TlsContext) {
    super(socket, ctx);
  }

  protected farewell(status: number): Buffer {
    return alertRecord(status === 403 ? Alert.AccessDenied : Alert.InternalError);
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

  onEnd(): void {
    this.clientEnded = true;
    if (this.endedBeforeProxyHeader()) return;
    if (this.state === State.Head && this.input.pending === 0) this.close();
    else if (this.state === State.Head) this.refuse(400, 'ClientHello incomplete', null);
  }

  // ── the ClientHello ──────────────────────────────────────────────────────────

  private readHello(): void {
    const { buf, pos } = this.input;
    if (buf === null) return;
    const limit = this.ctx.helloLimit;
    const n = peekSni(buf, pos, this.sniTable);
    if (n === 0) {
      if (buf.length - pos > limit || announcedTooLong(buf, pos, limit)) return this.refuse(400, 'TLS record over tls.header-size', alertRecord(Alert.RecordOverflow));
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
      return this.refuse(400, `invalid ClientHello (${name})`, alertRecord(Alert.DecodeError));
    }
    const t = this.sniTable;
    if (t[Sni.RECORD_LEN]! > limit) return this.refuse(400, 'TLS record over tls.header-size', alertRecord(Alert.RecordOverflow));
    if (t[Sni.NAME_END] === 0) return this.refuse(400, 'ClientHello without SNI', alertRecord(Alert.UnrecognizedName));
    const sni = buf.latin1Slice(t[Sni.NAME_START], t[Sni.NAME_END]).toLowerCase().replace(/\.$/, '');
    // The hello stays in the input (it is replayed from there); the helper gets a copy.
    const hello = Buffer.from(buf.subarray(pos, pos + t[Sni.RECORD_LEN]!));
    const ex = this.newExchange();
    const to = this.destination(sni);
    ex.host = sni;
    ex.url = `${sni}:${to.port}`;
    this.begin(ex, { method: 'TLS', transport: 'tls', host: sni, to, raw: hello });
  }

  /**
   * Where the client was going: the address and port nftables/iptables redirected it from,
   * else the SNI name on port 443. Behind a PROXY-protocol front end the socket is the front
   * end's, whose original destination says nothing about the client.
   */
  private destination(sni: string): StreamDestination {
    const original = this.ctx.settings.proxied ? null : originalDestination(this.socket, this.localIp, this.localPort);
    return original === null ? { host: sni, port: TLS_PORT } : { host: original.ip, port: original.port };
  }
}
