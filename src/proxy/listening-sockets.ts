/**
 * The listening sockets of this process, by configured address, so that a new data path can
 * take over the sockets of the one it replaces (a reload in one process, daemon.supervise=false):
 * the socket never closes, so no client is refused while the configuration changes, and an
 * address below 1024 bound while the process was root stays usable once it is daemon.user.
 *
 * A socket has one owner at a time, the Listener whose handler serves its connections; taking
 * it over moves the handler, and the previous owner is remembered until the new one is kept
 * (its own drain or close forgets it) or gives up (a reload that fails: the socket goes back).
 * With workers (node:cluster) each worker process has its own table, used by nobody else.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { SOCKET_BUFFER } from './buffers';

export interface SocketOwner {
  /** serves an accepted connection */
  readonly onConnection: (socket: Socket) => void;
  /** an accept error (EMFILE …) */
  readonly onAcceptError: (error: Error) => void;
  /** whether it still serves (a drained or closed listener does not take a socket back) */
  readonly open: boolean;
}

interface Entry {
  server: Server;
  owner: SocketOwner | undefined;
  previous: SocketOwner | undefined;
}

const table = new Map<string, Entry>();

/** The key of a configured address (a socket made already is known by its address too). */
export function addressKey(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The server every listener creates: half-open connections kept, Nagle off, large reads. */
export function newServer(): Server {
  return createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: SOCKET_BUFFER });
}

function attach(entry: Entry, owner: SocketOwner | undefined): void {
  entry.server.removeAllListeners('connection');
  entry.server.removeAllListeners('error');
  entry.owner = owner;
  if (owner === undefined) {
    // Bound ahead of its listener (see bindAhead): a client is kept in the kernel's backlog.
    entry.server.on('error', () => {});
    return;
  }
  entry.server.on('connection', owner.onConnection);
  entry.server.on('error', owner.onAcceptError);
}

/** Listens on host:port (or the socket fd) with a new server; rejects as server.listen does. */
export async function bind(listen: { host: string; port: number; fd?: number }, backlog: number): Promise<Server> {
  const server = newServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.fd === undefined ? { host: listen.host, port: listen.port, backlog } : { fd: listen.fd, backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * Binds these addresses now, for listeners made later (while the process may still bind ports
 * below 1024, before it becomes daemon.user). An address that cannot be bound is left to the
 * listener, whose own attempt names the option in its error.
 */
export async function bindAhead(addresses: { host: string; port: number }[], backlog: number): Promise<void> {
  for (const { host, port } of addresses) {
    const key = addressKey(host, port);
    if (table.has(key)) continue;
    try {
      const entry: Entry = { server: await bind({ host, port }, backlog), owner: undefined, previous: undefined };
      attach(entry, undefined);
      table.set(key, entry);
    } catch {
      // left to the listener
    }
  }
}

/** The socket bound to this address already, now served by `owner`; undefined when there is none. */
export function takeOver(key: string, owner: SocketOwner): Server | undefined {
  const entry = table.get(key);
  if (entry === undefined) return undefined;
  entry.previous = entry.owner?.open === true ? entry.owner : undefined;
  attach(entry, owner);
  return entry.server;
}

/** A socket bound by `owner` itself, so that the next data path may take it over. */
export function register(key: string, server: Server, owner: SocketOwner): void {
  const entry: Entry = { server, owner: undefined, previous: undefined };
  attach(entry, owner);
  table.set(key, entry);
}

/**
 * `owner` stops listening on the socket at `key`: a socket it took over goes back to the
 * listener it came from when that one still serves; otherwise it is closed (resolves once it
 * is). A socket taken over from `owner` by another is not touched.
 */
export async function release(key: string, server: Server, owner: SocketOwner): Promise<void> {
  const entry = table.get(key);
  if (entry !== undefined && entry.server === server) {
    if (entry.owner !== owner) {
      if (entry.previous === owner) entry.previous = undefined;
      return;
    }
    const back = entry.previous?.open === true ? entry.previous : undefined;
    if (back !== undefined) {
      entry.previous = undefined;
      attach(entry, back);
      return;
    }
    table.delete(key);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Closes the sockets bound ahead that no listener took over (a data path that failed to start). */
export async function closeUnclaimed(): Promise<void> {
  const unclaimed = [...table].filter(([, entry]) => entry.owner === undefined);
  for (const [key] of unclaimed) table.delete(key);
  await Promise.all(unclaimed.map(([, entry]) => new Promise<void>((resolve) => entry.server.close(() => resolve()))));
}
