/**
 * The proxy's listening sockets and its connection limit.
 *
 * At the limit (`http.connections`) new clients are accepted but not served: they
 * wait, paused, in arrival order until a connection closes — the user-space equivalent
 * of leaving them in the kernel backlog, which Node cannot do. A warning is logged at
 * most every 20 s while it lasts. One sweeper per worker fires every connection's
 * timeout, so no per-request timer exists.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ClientConnection } from './client';
import type { ProxyContext } from './context';

const SWEEP_MS = 250;
/**
 * Bytes a socket may hold before its writer is paused. Node's 16 KiB default is smaller
 * than one 64 KiB read, so every relayed chunk would pause and resume the other side (two
 * epoll changes per chunk); 256 KiB lets a chunk pass straight through.
 */
export const SOCKET_BUFFER = 256 * 1024;
const SATURATION_WARNING_MS = 20_000;

export class Listener {
  private readonly servers: Server[] = [];
  private readonly clients = new Set<ClientConnection>();
  private readonly waiting: Socket[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private lastWarning = 0;
  private accepting = true;

  constructor(private readonly ctx: ProxyContext) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  get connections(): number {
    return this.clients.size;
  }

  /** Binds every configured address; resolves with the bound addresses. */
  async listen(): Promise<{ host: string; port: number }[]> {
    const bound: { host: string; port: number }[] = [];
    for (const { host, port } of this.ctx.settings.listen) {
      const server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: SOCKET_BUFFER }, this.onConnection);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, backlog: this.ctx.settings.backlog }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.ctx.log.error({ err }, 'listener error'));
      const address = server.address();
      if (address && typeof address === 'object') bound.push({ host: address.address, port: address.port });
      this.servers.push(server);
    }
    return bound;
  }

  /**
   * Stops listening (closes the listening sockets, so new clients are refused by the system)
   * or listens again; established connections are untouched (SIGTTOU / SIGTTIN).
   */
  async setListening(on: boolean): Promise<void> {
    if (on === this.accepting) return;
    this.accepting = on;
    if (on) {
      await this.listen();
      return;
    }
    const servers = this.servers.splice(0);
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private readonly onConnection = (socket: Socket): void => {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    if (this.clients.size >= this.ctx.settings.connections) {
      socket.pause();
      socket.on('error', () => socket.destroy());
      this.waiting.push(socket);
      const now = Date.now();
      if (now - this.lastWarning > SATURATION_WARNING_MS) {
        this.lastWarning = now;
        this.ctx.log.warn(
          { limit: this.ctx.settings.connections, waiting: this.waiting.length },
          'connection limit reached (http.connections): new clients wait until others close',
        );
      }
      return;
    }
    this.serve(socket);
  };

  private serve(socket: Socket): void {
    const client = new ClientConnection(socket, this.ctx);
    client.onClosed = this.onClientClosed;
    this.clients.add(client);
  }

  private readonly onClientClosed = (client: ClientConnection): void => {
    this.clients.delete(client);
    while (this.waiting.length && this.clients.size < this.ctx.settings.connections) {
      const next = this.waiting.shift()!;
      if (next.destroyed) continue;
      this.serve(next);
      next.resume();
    }
  };

  private sweep(): void {
    const now = Date.now();
    for (const client of this.clients) client.expire(now);
    this.ctx.upstreams.sweep(now);
  }

  /** Stops listening, then closes every connection. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    // Connections first: server.close() waits for them, and a half-open one may never end.
    const closing = this.servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const socket of this.waiting) socket.destroy();
    for (const client of this.clients) client.socket.destroy();
    this.ctx.upstreams.closeAll();
    await Promise.all(closing);
  }

  /** Stops listening and resolves when the last client has gone (soft stop). */
  async drain(timeoutMs: number): Promise<void> {
    // Stop listening now; server.close()'s callback would wait for the connections too.
    for (const s of this.servers.splice(0)) s.close();
    const deadline = Date.now() + timeoutMs;
    while (this.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await this.close();
  }
}
