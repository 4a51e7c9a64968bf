/**
 * Tunnels relayed by the addon's relay thread (crates/exaproxy-relay): once both sockets
 * are handed over, no byte of the tunnel passes through JavaScript.
 *
 * Node keeps owning its two sockets: reading is stopped on both, the relay works on
 * duplicates of their descriptors, and the sockets are destroyed when the relay reports
 * the tunnel's end. Destroying either socket before that (the listener's close, a stop)
 * ends the tunnel (relayClose), so every path that closes connections keeps working.
 */
import type { Socket } from 'node:net';
import { native } from '../native';

export type TunnelRelay = 'splice' | 'copy' | 'js';

/** What tunnel.ts hands over: the bytes read with the heads, none of which may be lost. */
export interface Pending {
  toUpstream: Buffer | null;
  toClient: Buffer | null;
  clientEnded: boolean;
}

type OnClose = (bytesUp: number, bytesDown: number) => void;

/** The parts of libuv's stream handle that net.Socket keeps in `_handle`. */
interface StreamHandle {
  fd?: number;
  reading?: boolean;
  readStop?: () => number;
}
type HandleSocket = Socket & { _handle?: StreamHandle | null; _readableState?: { ended?: boolean } };

/** Why the relay ended a tunnel or body (crates/exaproxy-node/src/relay.rs). */
export const enum RelayEnd {
  Done = 0,
  Idle = 1,
  Closed = 2,
  Broken = 3,
}

/** Told once when the relay has ended tunnel (or body) `id`. */
export type OnRelayEnd = (clientToUpstream: number, upstreamToClient: number, reason: RelayEnd) => void;

const live = new Map<number, OnRelayEnd>();
const ignore = (): void => undefined;
let started = false;

/** The relay thread's reports: `[id, clientToUpstream, upstreamToClient, reason, …]`. */
function ended(flat: number[]): void {
  for (let i = 0; i + 3 < flat.length; i += 4) {
    const then = live.get(flat[i]);
    if (then === undefined) continue;
    live.delete(flat[i]);
    then(flat[i + 1], flat[i + 2], flat[i + 3]);
  }
}

/** Calls `then` when the relay reports the end of `id` (native-body.ts). */
export function whenRelayEnds(id: number, then: OnRelayEnd): void {
  live.set(id, then);
}

/** Whether the native relay can be used in this process (Linux, thread started). */
export function nativeRelayAvailable(): boolean {
  if (!started && native.relayAvailable()) {
    native.relayInit(ended);
    started = true;
  }
  return started;
}

/**
 * Stops Node reading `socket` for good and returns what it had read but not delivered.
 * `reading` stays true on the handle so that nothing in net.Socket starts it again.
 */
export function stopReading(socket: HandleSocket): Buffer[] {
  const chunks: Buffer[] = [];
  for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) chunks.push(chunk);
  const handle = socket._handle;
  handle?.readStop?.();
  if (handle) handle.reading = true;
  return chunks;
}

/** The socket's descriptor, or -1 (not a plain socket: TLS, a pipe, already closed). */
export function descriptor(socket: Socket): number {
  return (socket as HandleSocket)._handle?.fd ?? -1;
}

/** Undoes stopReading, for a tunnel the JavaScript relay takes after all. */
export function restartReading(socket: Socket): void {
  const handle = (socket as HandleSocket)._handle;
  if (handle) handle.reading = false;
}

function joined(first: Buffer | null, more: Buffer[]): Buffer {
  if (more.length === 0) return first ?? Buffer.alloc(0);
  return Buffer.concat(first === null ? more : [first, ...more]);
}

/** Calls `then` once everything Node was asked to write on `sockets` has been sent. */
export function afterWrites(sockets: Socket[], then: () => void): void {
  const busy = sockets.filter((s) => s.writableLength > 0 && !s.destroyed);
  if (busy.length === 0) return then();
  let left = busy.length;
  for (const s of busy) s.write(Buffer.alloc(0), () => --left === 0 && then());
}

/**
 * Hands the tunnel to the relay thread; `onClose` gets the byte counts once it has ended.
 * When the relay cannot take it (a socket without a descriptor, no descriptor left),
 * `fallback` gets the sockets reading again and everything still owed to each side.
 */
export function relayNatively(
  client: Socket,
  upstream: Socket,
  pending: Pending,
  idleMs: number,
  splice: boolean,
  onClose: OnClose,
  fallback: (pending: Pending) => void,
): void {
  const clientFd = descriptor(client);
  const upstreamFd = descriptor(upstream);
  if (clientFd < 0 || upstreamFd < 0) return fallback(pending);
  // The upstream's pool listeners are gone: an error must not go unhandled ('close' follows).
  upstream.on('error', ignore);
  const fromClient = stopReading(client);
  const fromUpstream = stopReading(upstream);
  const clientEnded = pending.clientEnded || (client as HandleSocket)._readableState?.ended === true;
  const toClient = joined(pending.toClient, fromUpstream);
  const toUpstream = joined(pending.toUpstream, fromClient);
  // Bytes Node is still sending go first: the relay writes on the same sockets.
  afterWrites([client, upstream], () => {
    if (client.destroyed || upstream.destroyed) {
      client.destroy();
      upstream.destroy();
      return onClose(0, 0);
    }
    const id = native.relayStart(clientFd, upstreamFd, toClient, toUpstream, clientEnded, idleMs, splice);
    if (id < 0) {
      restartReading(client);
      restartReading(upstream);
      return fallback({ toUpstream, toClient, clientEnded });
    }
    const closeTunnel = (): void => native.relayClose(id);
    // The relay counts what it relays, not what it was given first; Node's undelivered reads count.
    const counted: OnClose = (up, down) => onClose(up + (toUpstream.length - (pending.toUpstream?.length ?? 0)), down + (toClient.length - (pending.toClient?.length ?? 0)));
    whenRelayEnds(id, (up, down) => {
      for (const s of [client, upstream]) {
        s.removeListener('close', closeTunnel);
        s.destroy();
      }
      counted(up, down);
    });
    for (const s of [client, upstream]) s.once('close', closeTunnel);
  });
}
