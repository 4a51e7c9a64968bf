/**
 * The original destination of a connection that nftables/iptables redirected to the proxy
 * (SO_ORIGINAL_DST, read by the addon): where the client meant to go. One system call per
 * connection, made only by the listeners that use it (TLS, and HTTP with http.transparent).
 */
import type { Socket } from 'node:net';
import { native } from '../native/addon';
import { plainAddress } from './acl';

export interface Destination {
  ip: string;
  port: number;
}

const LINUX = process.platform === 'linux';

/** The socket's descriptor (libuv's, on Unix). */
function descriptor(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/**
 * Where the client was going before it was redirected, or null when it was not redirected
 * (conntrack knows no other destination than the proxy's own address and port) or the
 * system cannot say (not Linux, no conntrack).
 */
export function originalDestination(socket: Socket, localIp: string, localPort: number): Destination | null {
  if (!LINUX) return null;
  const fd = descriptor(socket);
  if (fd < 0) return null;
  const found = native.originalDestination(fd);
  if (found === null) return null;
  const colon = found.lastIndexOf(':');
  const ip = plainAddress(found.slice(0, colon).replace(/^\[|\]$/g, ''));
  const port = Number(found.slice(colon + 1));
  return ip === localIp && port === localPort ? null : { ip, port };
}
