/**
 * The proxy's listening sockets and its connection limit.
 *
 * `http.connections` is the proxy's limit: each worker serves its share of it (see
 * src/supervisor/limits.ts), less when its open-file limit cannot hold that many. At the
 * limit new clients are accepted but not served: they wait, paused, in arrival order until a
 * connection closes — the user-space equivalent of leaving them in the kernel backlog, which
 * Node cannot do. At most `backlog` wait, each for at most `http.idle-connect`; the others
 * get a 503 and are closed, so waiting clients cannot use up the descriptors the served ones
 * need. A warning is logged at most every 20 s while it lasts. One sweeper per worker fires
 * every connection's timeout, so no per-request timer exists.
 */
import { closeSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { every } from '../monitor/periodic';
import { workerBudget } from '../supervisor/limits';
import { ClientConnection } from './connection';
import type { ProxyContext } from './context';
import { addressKey, bind, register, release, takeOver, type SocketOwner } from './listening-sockets';

const SWEEP_MS = 250;
const SATURATION_WARNING_MS = 20_000;
/** How long a refused client may take to read its 503 before its socket is closed anyway. */
const REFUSAL_LINGER_MS = 2_000;

interface Waiting {
  socket: Socket;
  since: number;
}

/** What a listener serves: an HTTP ClientConnection, or another entry point (the TLS SNI listener's). */
export interface Served {
  readonly socket: Socket;
  onClosed: ((c: never) => void) | null;
  /** Called by the sweeper with the current time. */
  expire(now: number): void;
}

/** How a listener serves an accepted socket, and refuses one it cannot serve (default: a 503 page). */
export interface ServeWith {
  serve(socket: Socket, ctx: ProxyContext): Served;
  refuse?(socket: Socket): void;
}

const HTTP: ServeWith = { serve: (socket, ctx) => new ClientConnection(socket, ctx) };

export class Listener implements SocketOwner {
  /** the listening sockets it serves, by configured address (see listening-sockets.ts) */
  private readonly servers: { key: string; server: Server }[] = [];
  /** false once drained or closed: a socket taken over from it is not given back */
  open = true;
  private readonly clients = new Set<Served>();
  private readonly waiting: Waiting[] = [];
  /** refused clients reading their 503, oldest first ('since' is when they must be gone) */
  private readonly lingering: Waiting[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private lastWarning = 0;
  private lastAcceptError = 0;
  private accepting = true;
  /** clients this worker serves at once */
  readonly limit: number;
  /** clients this worker keeps waiting beyond that */
  readonly queueLimit: number;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly kind: ServeWith = HTTP,
  ) {
    const budget = workerBudget(ctx.settings.connections, ctx.settings.backlog);
    this.limit = budget.perWorker;
    this.queueLimit = budget.queue;
    this.sweeper = every(SWEEP_MS, 'proxy: timeout sweep', { warn: (m) => ctx.log.warn(m) }, () => this.sweep());
  }

  get connections(): number {
    return this.clients.size;
  }

  /**
   * Listens on every configured address: on the socket this process listens on there already
   * (the data path it replaces, or one bound ahead as root), else on a new one. Resolves with
   * the bound addresses.
   */
  async listen(): Promise<{ host: string; port: number }[]> {
    const bound: { host: string; port: number }[] = [];
    for (const listen of this.ctx.settings.listen) {
      const key = addressKey(listen.host, listen.port);
      let server = takeOver(key, this);
      if (server !== undefined) {
        // The socket it came with (passthrough) is not needed: the one listening already is it.
        if (listen.fd !== undefined) closeSync(listen.fd);
      } else {
        server = await bind(listen, this.ctx.settings.backlog);
        register(key, server, this);
      }
      const address = server.address();
      if (address && typeof address === 'object') bound.push({ host: address.address, port: address.port });
      this.servers.push({ key, server });
    }
    return bound;
  }

  private release(): Promise<void>[] {
    return this.servers.splice(0).map(({ key, server }) => release(key, server, this));
  }

  /**
   * Stops listening (closes the listening sockets, so new clients are refused by the system)
   * or listens again; established connections are untouched (SIGTTOU / SIGTTIN).
   */
  async setListening(on: boolean): Promise<void> {
    if (on === this.accepting) return;
    this.accepting = on;
    // A socket made before the workers started (passthrough) could not be made again without
    // the privilege it needed: it stays bound, and new clients are closed as they arrive.
    if (this.ctx.settings.listen.some((l) => l.fd !== undefined)) return;
    if (on) {
      await this.listen();
      return;
    }
    await Promise.all(this.release());
  }

  readonly onConnection = (socket: Socket): void => {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    if (this.clients.size >= this.limit) {
      socket.on('error', () => socket.destroy());
      const now = Date.now();
      if (now - this.lastWarning > SATURATION_WARNING_MS) {
        this.lastWarning = now;
        this.ctx.log.warn(
          { limit: this.limit, configured: this.ctx.settings.connections, waiting: this.waiting.length, queue: this.queueLimit },
          'connection limit reached (http.connections): new clients wait until others close',
        );
      }
      if (this.waiting.length >= this.queueLimit) {
        this.refuse(socket, 'the proxy is serving as many clients as it may; try again in a moment');
        return;
      }
      socket.pause();
      this.waiting.push({ socket, since: now });
      return;
    }
    this.serve(socket);
  };

  /**
   * At the open-file limit accept() fails (EMFILE; libuv then closes the connection it could
   * not take, so the client is refused, not left hanging). Existing connections are not
   * affected; the error is logged at most every 20 s, not once per refused client.
   */
  readonly onAcceptError = (err: Error): void => {
    const now = Date.now();
    if (now - this.lastAcceptError < SATURATION_WARNING_MS) return;
    this.lastAcceptError = now;
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'EMFILE' || code === 'ENFILE' ? ' (open-file limit reached: new clients are refused until descriptors are free; raise ulimit -n)' : '';
    this.ctx.log.error({ err }, `listener error${hint}`);
  };

  /** A 503 for a client that cannot be served (queue full, or waited http.idle-connect), then close. */
  private refuse(socket: Socket, message: string): void {
    if (this.kind.refuse) return this.kind.refuse(socket);
    const page = this.ctx.pages.response(503, this.ctx.pages.error(503, message), { minor: 1, close: true });
    // What the client sent is read and dropped: closing with unread data would reset the
    // connection, and the client could lose the 503 before reading it.
    // A hard deadline (swept), not an idle timeout a trickling client could keep pushing back.
    socket.on('data', () => {});
    socket.once('end', () => socket.destroy());
    socket.resume();
    socket.end(page);
    // As many may linger as wait (the descriptors budgeted for them); beyond, the oldest is closed.
    if (this.lingering.length >= this.queueLimit) this.lingering.shift()?.socket.destroy();
    this.lingering.push({ socket, since: Date.now() + REFUSAL_LINGER_MS });
  }

  private serve(socket: Socket): void {
    const client = this.kind.serve(socket, this.ctx);
    client.onClosed = this.onClientClosed as (c: never) => void;
    this.clients.add(client);
  }

  private readonly onClientClosed = (client: Served): void => {
    this.clients.delete(client);
    while (this.waiting.length && this.clients.size < this.limit) {
      const next = this.waiting.shift()!.socket;
      if (next.destroyed) continue;
      this.serve(next);
      next.resume();
    }
  };

  private sweep(): void {
    const now = Date.now();
    for (const client of this.clients) client.expire(now);
    this.ctx.upstreams.sweep(now);
    // Arrival order: the oldest waiting clients are first. http.idle-connect applies to them
    // as to a served client that has not sent a request yet.
    const deadline = now - this.ctx.settings.timeouts.idleConnect;
    while (this.waiting.length > 0 && (this.waiting[0].socket.destroyed || this.waiting[0].since <= deadline)) {
      const { socket } = this.waiting.shift()!;
      if (!socket.destroyed) this.refuse(socket, 'the proxy was serving as many clients as it may for too long (http.idle-connect); try again later');
    }
    while (this.lingering.length > 0 && (this.lingering[0].socket.destroyed || this.lingering[0].since <= now)) this.lingering.shift()!.socket.destroy();
  }

  /** Stops listening, then closes every connection. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.open = false;
    // Connections first: server.close() waits for them, and a half-open one may never end.
    const closing = this.release();
    for (const { socket } of [...this.waiting.splice(0), ...this.lingering.splice(0)]) socket.destroy();
    for (const client of this.clients) client.socket.destroy();
    this.ctx.upstreams.closeAll();
    await Promise.all(closing);
  }

  /** Stops listening and resolves when the last client has gone (soft stop). */
  async drain(timeoutMs: number): Promise<void> {
    // Stop listening now; server.close()'s callback would wait for the connections too.
    this.open = false;
    void Promise.all(this.release());
    const deadline = Date.now() + timeoutMs;
    while (this.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await this.close();
  }
}
