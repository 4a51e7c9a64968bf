/**
 * Large response bodies moved by the addon's relay thread (crates/exaproxy-relay, a body
 * handover): the held head, the body bytes read with it, then exactly the rest of a
 * Content-Length body, upstream → client, without a byte passing through JavaScript (what
 * is already in the kernel's buffers is moved during the handover call itself, the rest by
 * the thread). Both sockets stay Node's: reading the upstream stops while the relay reads it and
 * starts again after, so the connection goes back to the pool and the client's next
 * request follows as usual. Nothing is written to the client by Node meanwhile (the
 * connection writes only for the exchange in progress, and bytes it had queued leave
 * first). Any end but a complete body resets both sockets (the relay does), so a client
 * never takes a short body for a whole one.
 */
import type { Socket } from 'node:net';
import { native } from '../native';
import { afterWrites, descriptor, nativeRelayAvailable, RelayEnd, restartReading, stopReading, whenRelayEnds, type TunnelRelay } from './native-tunnel';

/**
 * Bodies at least this long after the bytes read with the head are handed over: below it,
 * a handover (the descriptors duplicated, registered, the report) costs more than the few
 * reads Node would make (measured on 100 KiB bodies: bench/README.md, "Where the time goes").
 */
export const NATIVE_BODY_MIN = 128 * 1024;

/** What the relay is told of a body. */
export interface BodyHandover {
  client: Socket;
  /** A plain TCP socket that reads through `onread` (upstream.ts): Node buffers none of its reads. */
  upstream: Socket;
  /** Written to the client first: the response head and the body bytes already read. */
  first: Buffer;
  /** Body bytes still to come from the upstream. */
  length: number;
  /** The relay's idle limit (the response timeout), 0: none. */
  idleMs: number;
  relay: TunnelRelay;
}

/** What the exchange hears, in order: `started` or `fallback` once, then (after `started`) `ended` once. */
export interface BodyEvents {
  /** The relay has the body: it writes `first`, then the rest. */
  started(): void;
  /** The relay could not take it (no descriptor left): reading goes on, nothing was written. */
  fallback(): void;
  /** The relay is done: `moved` body bytes after `first`; `Done` means all `length` of them. */
  ended(moved: number, reason: RelayEnd): void;
}

/** Whether `h` may go to the relay: not `js`, Linux, both sockets with a descriptor. */
export function mayRelayBody(h: BodyHandover): boolean {
  return h.relay !== 'js' && h.length >= NATIVE_BODY_MIN && descriptor(h.client) >= 0 && descriptor(h.upstream) >= 0 && nativeRelayAvailable();
}

/** Hands the body over (after `mayRelayBody`); the upstream reads nothing more until the end. */
export function relayBody(h: BodyHandover, events: BodyEvents): void {
  const { client, upstream } = h;
  stopReading(upstream);
  const resume = (): void => {
    restartReading(upstream);
    upstream.resume();
  };
  // Bytes Node is still sending to the client (earlier responses) go first.
  afterWrites([client], () => {
    if (client.destroyed || upstream.destroyed) return events.fallback();
    const id = native.relayBody(descriptor(client), descriptor(upstream), h.first, h.length, h.idleMs, h.relay === 'splice');
    if (id < 0) {
      resume();
      return events.fallback();
    }
    if (id === 0) {
      // Moved whole during the call (it was all in the kernel's buffers): no thread involved.
      events.started();
      resume();
      return events.ended(h.length, RelayEnd.Done);
    }
    // Node closing either socket (the client left, a stop) ends the body at once.
    const close = (): void => native.relayClose(id);
    whenRelayEnds(id, (_up, down, reason) => {
      for (const s of [client, upstream]) s.removeListener('close', close);
      if (reason === RelayEnd.Done) resume();
      events.ended(down, reason);
    });
    for (const s of [client, upstream]) s.once('close', close);
    events.started();
  });
}
