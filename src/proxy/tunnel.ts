/**
 * A two-way byte relay for CONNECT and for upgraded connections (WebSocket, …), with
 * half-close: when one side finishes sending, the other side is told (FIN) and may
 * still answer. Backpressure comes from `pipe`. Idle tunnels are closed after
 * `idleMs` without traffic in either direction. This is the JavaScript relay
 * (`http.tunnel-relay=js`, and the fallback of the native one: native-tunnel.ts).
 */
import type { Socket } from 'node:net';
import { nativeRelayAvailable, relayNatively, type Pending, type TunnelRelay } from './native-tunnel';

export function tunnel(
  client: Socket,
  upstream: Socket,
  idleMs: number,
  onClose: (bytesUp: number, bytesDown: number) => void,
): void {
  const startUp = upstream.bytesWritten;
  const startDown = client.bytesWritten;
  let open = 2;
  const closed = (): void => {
    if (--open === 0) onClose(upstream.bytesWritten - startUp, client.bytesWritten - startDown);
  };
  const fail = (): void => {
    client.destroy();
    upstream.destroy();
  };
  // A side that breaks (reset, error) is passed on as a reset, never as a FIN that would make
  // a truncated stream look complete.
  const broken = (other: Socket) => (): void => {
    if (!other.destroyed) other.resetAndDestroy();
    fail();
  };
  client.once('close', () => {
    upstream.destroy();
    closed();
  });
  upstream.once('close', () => {
    // Let the client read what is already queued for it, then close.
    if (client.writableLength > 0) client.end();
    else client.destroy();
    closed();
  });
  client.on('error', broken(upstream));
  upstream.on('error', broken(client));
  // A side that has both sent and received its FIN is done.
  const finishIfBothEnded = (s: Socket): void => {
    if (s.readableEnded && s.writableFinished) s.destroy();
  };
  client.on('end', () => finishIfBothEnded(client));
  upstream.on('end', () => finishIfBothEnded(upstream));
  client.on('finish', () => finishIfBothEnded(client));
  upstream.on('finish', () => finishIfBothEnded(upstream));
  client.setTimeout(idleMs, fail);
  upstream.setTimeout(idleMs, fail);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  upstream.resume();
}

/**
 * Hands a client connection and its upstream over to a relay, with the bytes each side
 * had already sent along with the heads (none may be lost): the addon's relay thread
 * (`http.tunnel-relay` splice or copy, on Linux) or `tunnel` above.
 */
export function handOver(
  client: Socket,
  upstream: Socket,
  pending: Pending,
  idleMs: number,
  relay: TunnelRelay,
  onClose: (bytesUp: number, bytesDown: number) => void,
): void {
  // The upstream's pooled-connection listeners go; the relay brings its own.
  for (const event of ['data', 'drain', 'end', 'close', 'error']) upstream.removeAllListeners(event);
  const inJavaScript = (p: Pending): void => relayInJavaScript(client, upstream, p, idleMs, onClose);
  if (relay !== 'js' && nativeRelayAvailable()) relayNatively(client, upstream, pending, idleMs, relay === 'splice', onClose, inJavaScript);
  else inJavaScript(pending);
}

function relayInJavaScript(client: Socket, upstream: Socket, pending: Pending, idleMs: number, onClose: (bytesUp: number, bytesDown: number) => void): void {
  if (pending.toClient !== null && pending.toClient.length > 0) client.write(pending.toClient);
  if (pending.toUpstream !== null && pending.toUpstream.length > 0) upstream.write(pending.toUpstream);
  if (pending.clientEnded) upstream.end();
  tunnel(client, upstream, idleMs, onClose);
}
