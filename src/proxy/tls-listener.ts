/**
 * The TLS SNI listener (`tls.enable`): a second set of listening sockets whose
 * connections start with a TLS ClientHello instead of an HTTP request (SniConnection).
 * It shares the worker's context — helpers, resolver, destination protection, stats,
 * access log — and has its own address, connection limit and PROXY-protocol switch.
 */
import type { Socket } from 'node:net';
import type { Config } from '../config';
import type { ProxyContext } from './context';
import { listenError } from './listen-error';
import { Listener } from './listener';
import { ms, type Listen } from './settings';
import { SniConnection, type TlsContext } from './sni-connection';

/**
 * Rust's ClientHello reader takes one record of at most 2^14 + 2048 bytes (plus its
 * header): `tls.header-size` 0 (unlimited) or above means that.
 */
const LARGEST_RECORD = 5 + (1 << 14) + 2048;

export interface TlsListenerSettings {
  listen: Listen[];
  connections: number;
  proxied: boolean;
  helloLimit: number;
  /** `tls.idle-connect` in ms: how long a new connection may send nothing. */
  idleConnect: number;
}

/** The TLS listener's settings, or null when `tls.enable` is off. */
export function tlsSettingsFromConfig(config: Config): TlsListenerSettings | null {
  const { tls, tcp6 } = config;
  if (!tls.enable) return null;
  // ExaProxy listens on tls.ipv6 only when IPv6 listening is on (tcp6.listen).
  const listen: Listen[] = [{ host: tls.host, port: tls.port }];
  if (tcp6.listen) listen.push({ host: tls.ipv6, port: tls.port });
  return {
    listen,
    connections: tls.connections,
    proxied: tls.proxied,
    helloLimit: tls.headerSize === 0 ? LARGEST_RECORD : Math.min(tls.headerSize, LARGEST_RECORD),
    idleConnect: ms(tls.idleConnect),
  };
}

/** A Listener serving SniConnections, with the worker's context and the TLS listener's settings. */
export function tlsListener(ctx: ProxyContext, tls: TlsListenerSettings): Listener {
  const tlsCtx: TlsContext = {
    ...ctx,
    settings: {
      ...ctx.settings,
      listen: tls.listen,
      connections: tls.connections,
      proxied: tls.proxied,
      timeouts: { ...ctx.settings.timeouts, idleConnect: tls.idleConnect },
    },
    helloLimit: tls.helloLimit,
  };
  return new Listener(tlsCtx, {
    serve: (socket) => new SniConnection(socket, tlsCtx),
    // An HTTP 503 means nothing to a TLS client: one it cannot serve is closed.
    refuse: (socket: Socket) => socket.destroy(),
  });
}

/** A failure to listen on a TLS address as one line naming the tls.* option (else the error itself). */
export function tlsListenError(error: unknown, tls: TlsListenerSettings): unknown {
  return listenError(error, tls.listen, 'tls');
}
