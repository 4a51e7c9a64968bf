/**
 * The passthrough listener (`passthrough.enable`): listening sockets with IP_TRANSPARENT
 * (Linux), to which nftables/iptables TPROXY rules deliver TCP streams meant for other hosts —
 * or, with `passthrough.proxied`, ordinary listening sockets behind a front end that sends a
 * PROXY header naming each stream's client and destination. Each accepted stream is a
 * TcpConnection (tcp-connection.ts), served with the worker's context — helpers, resolver,
 * destination protection, stats, access log.
 *
 * Making a transparent socket needs CAP_NET_ADMIN, which the workers never have: the primary
 * makes them before anything drops privileges (`openTransparentSockets`) and names them to each
 * worker by descriptor; node:cluster resolves a worker's `listen({ fd })` in the primary, which
 * hands the socket to the worker.
 */
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import type { Config } from '../config';
import { native } from '../native/addon';
import { StartError } from '../supervisor/start-errors';
import type { ProxyContext } from './context';
import { Listener } from './listener';
import { ms, type Listen } from './settings';
import { TcpConnection } from './tcp-connection';

/** How the primary tells the workers which descriptors are the passthrough sockets. */
export const PASSTHROUGH_FDS_ENV = 'EXAPROXY_PASSTHROUGH_FDS';

export interface PassthroughSettings {
  listen: Listen[];
  connections: number;
  /** `passthrough.idle-connect` in ms (0: none): how long a stream may carry nothing either way. */
  idle: number;
  /** `passthrough.proxied`: behind a PROXY-protocol front end, on ordinary sockets. */
  proxied: boolean;
}

/** The passthrough listener's addresses and limit, or null when `passthrough.enable` is off. */
export function passthroughSettingsFromConfig(config: Config): PassthroughSettings | null {
  const { passthrough, tcp6 } = config;
  if (!passthrough.enable) return null;
  const listen: Listen[] = [{ host: passthrough.host, port: passthrough.port }];
  if (tcp6.listen) listen.push({ host: passthrough.ipv6, port: passthrough.port });
  return {
    listen,
    connections: passthrough.connections,
    idle: passthrough.idleConnect === 0 ? 0 : ms(passthrough.idleConnect),
    proxied: passthrough.proxied,
  };
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

function where(l: Listen): string {
  return `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}

/** Why a transparent socket could not be made, as the one start line. */
function openError(errno: number, l: Listen): StartError {
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return new StartError('exaproxy: passthrough.enable: a transparent socket (IP_TRANSPARENT) needs CAP_NET_ADMIN; start exaproxy as root (it switches to daemon.user once bound) or set passthrough.enable=false');
    case 'EADDRINUSE':
      return new StartError(`exaproxy: passthrough.port ${l.port}: ${where(l)} is already in use by another program; stop it or choose another passthrough.port`);
    case 'ENOPROTOOPT':
    case 'ENOSYS':
      return new StartError('exaproxy: passthrough.enable: this kernel has no transparent sockets (TPROXY); set passthrough.enable=false');
    default:
      return new StartError(`exaproxy: passthrough.host ${l.host}, passthrough.port ${l.port}: cannot listen on ${where(l)} (${code}); choose another address or port`);
  }
}

/**
 * In the primary, before workers start and privileges drop: makes the transparent sockets.
 * Returns what to add to each worker's environment as it is forked — a copy of each socket of
 * its own: node:cluster closes a worker's copy when the worker goes, and the one kept here
 * must outlive every worker. Throws the one start line when it cannot (not Linux, no
 * CAP_NET_ADMIN, address in use).
 */
export function openTransparentSockets(settings: PassthroughSettings | null): (() => NodeJS.ProcessEnv) | undefined {
  // Behind a front end the sockets are ordinary: each worker listens on them itself.
  if (settings === null || settings.proxied) return undefined;
  if (process.platform !== 'linux') {
    throw new StartError(`exaproxy: passthrough.enable: the passthrough listener needs Linux TPROXY, and this is ${process.platform}; set passthrough.enable=false`);
  }
  const kept = settings.listen.map((l) => {
    const fd = native.transparentSocket(l.host, l.port);
    if (fd < 0) throw openError(-fd, l);
    return fd;
  });
  return () => ({ [PASSTHROUGH_FDS_ENV]: kept.map((fd) => native.duplicateSocket(fd)).join(',') });
}

/** In a worker: the sockets the primary made, as listening addresses by descriptor. */
function sharedSockets(settings: PassthroughSettings): Listen[] {
  const fds = (process.env[PASSTHROUGH_FDS_ENV] ?? '').split(',').filter(Boolean).map(Number);
  if (fds.length !== settings.listen.length || fds.some((fd) => !(fd >= 0))) {
    throw new StartError('exaproxy: passthrough.enable: the transparent sockets were not made before the workers started (restart exaproxy)');
  }
  return settings.listen.map((l, i) => ({ ...l, fd: fds[i] }));
}

/** A Listener serving TcpConnections on the primary's transparent sockets, or behind a front end. */
export function passthroughListener(ctx: ProxyContext, settings: PassthroughSettings): Listener {
  const own: ProxyContext = {
    ...ctx,
    settings: {
      ...ctx.settings,
      listen: settings.proxied ? settings.listen : sharedSockets(settings),
      connections: settings.connections,
      proxied: settings.proxied,
      timeouts: { ...ctx.settings.timeouts, tunnelIdle: settings.idle },
    },
  };
  return new Listener(own, {
    serve: (socket) => new TcpConnection(socket, own),
    // Nothing the proxy could say means anything to an unknown protocol: closed.
    refuse: (socket: Socket) => socket.destroy(),
  });
}
