/**
 * One request and its response: everything the phases know about it, and the record
 * that becomes its access-log line. A connection makes a new Exchange for every request,
 * so nothing of one request can leak into the next.
 */
import type { AccessRecord } from './context';
import { Outcome } from '../log/outcome';
import { BodyFramer } from './body-framer';
import type { Parent } from './parents';
import type { Upstream } from './upstream';

/** A stage the response body passes through before the client (src/proxy/respmod.ts). */
export interface ResponseStage {
  /** A piece of the upstream body as received; false: pause the upstream. */
  body(wire: Buffer): boolean;
  /** The upstream body is complete. */
  upstreamDone(): void;
  /** The client took what was written. */
  clientDrained(): void;
  /** The exchange ends some other way. */
  cancel(): void;
}

export class Exchange {
  readonly started: number;
  /** Native method id, and the token as sent when it is not a known one. */
  methodId = 0;
  method = '';
  minor = 1;
  /** The client wants the connection kept after this exchange. */
  keepAlive = false;
  /** The request asked to switch protocols (Connection: upgrade + Upgrade). */
  upgrade = false;
  /** The connection must close after this exchange (a body left unread, a refusal). */
  closeAfter = false;
  /** The host the client asked for (pages speak of it). */
  host = '';
  /** The absolute URL, spelled out only when something will print it. */
  url = '';
  /** For the access log's formats (filled only when there is one). */
  userAgent: string | undefined = undefined;
  referer: string | undefined = undefined;
  contentType: string | undefined = undefined;
  outcome: Outcome = Outcome.Permit;
  /** The user of the login the authenticate phase accepted (RFC 1738-escaped), '' without one. */
  user = '';
  /** The external ACL helper's `tag=`, '' without one. */
  tag = '';
  /** How long the helpers took to decide (0: none was asked). */
  decideMs = 0;
  /** ExaProxy's text after the slash: the helper's verdict or the reason. */
  detail = '';
  readonly body = new BodyFramer();
  /** The request came with a body (a retry could not send it again). */
  hadBody = false;

  // The upstream side.
  up: Upstream | null = null;
  /** host:port the request goes to. */
  target = '';
  port = 0;
  tls: { servername: string } | null = null;
  /** Through a parent proxy (parent.*): decided before the head is rewritten (absolute-form then). */
  viaParent = false;
  /** The parent proxy the request went to, or null (directly). */
  parent: Parent | null = null;
  /** Parents tried for this request. */
  parentTries = 0;
  /** A tunnel's CONNECT was sent to the parent, whose answer is awaited. */
  parentConnect = false;
  /** The rewritten request head, kept for one retry on a fresh connection. */
  upHead: Buffer | null = null;
  retried = false;
  /** The upstream sent something: a retry would no longer be safe. */
  received = false;

  // The response.
  status = 0;
  /** Part of the response has been written to the client. */
  responded = false;
  responseKeepAlive = false;
  /** The upstream connection may serve another request afterwards. */
  reusable = false;
  /** Bytes written to the client. */
  bytes = 0;
  readonly responseBody = new BodyFramer();
  /** An incomplete response head, waiting for more bytes. */
  partialHead: Buffer | null = null;
  /** The rewritten response head, waiting to leave with the first body bytes. */
  heldHead: Buffer | null = null;
  /** The RESPMOD stage the body goes through (`redirector.respmod`), or null: straight to the client. */
  respmod: ResponseStage | null = null;

  constructor(now: number) {
    this.started = now;
  }

  /** The host part of the target. */
  get targetHost(): string {
    return this.target.slice(0, this.target.lastIndexOf(':'));
  }

  record(client: { id: number; ip: string; port: number; localPort: number }, methodName: string, now: number): AccessRecord {
    return {
      time: this.started,
      clientId: client.id,
      clientIp: client.ip,
      clientPort: client.port,
      acceptPort: client.localPort,
      method: this.method || methodName,
      url: this.url || this.target,
      status: this.status,
      bytes: this.bytes,
      durationMs: now - this.started,
      outcome: this.outcome,
      // ExaProxy's detail: the helper's verdict or the reason, else the host.
      detail: this.detail || this.targetHost,
      upstream: this.target || '-',
      version: `HTTP/1.${this.minor}`,
      userAgent: this.userAgent,
      referer: this.referer,
      contentType: this.contentType,
      user: this.user,
      tag: this.tag,
      peer: this.parent === null ? undefined : `${this.parent.hierarchy}/${this.parent.host}`,
    };
  }
}
