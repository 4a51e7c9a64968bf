/**
 * The ICAP listener's settings (`icap.*`), and its start-up errors as one line naming the
 * option.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config';
import { StartError } from '../supervisor/start-errors';
import { ms, type Listen } from '../proxy/settings';

export interface IcapListenerSettings {
  listen: Listen[];
  connections: number;
  proxied: boolean;
  /** How long a new connection may stay silent before its first message (`icap.idle-connect`, in ms). */
  idleConnect: number;
  /** Largest ICAP head plus encapsulated heads (`icap.header-size`, 0: the parser's own bound). */
  headLimit: number;
  /** `ISTag`: names this configuration, so an ICAP client drops what it cached after a change. */
  istag: string;
}

/** The parser's bound when icap.header-size is 0 ("unlimited"): a head is kept in memory whole. */
const LARGEST_HEAD = 16 * 1024 * 1024;

/** The ICAP listener's settings, or null when `icap.enable` is off. */
export function icapSettingsFromConfig(config: Config, version: string): IcapListenerSettings | null {
  const { icap, tcp6 } = config;
  if (!icap.enable) return null;
  // As the TLS listener: the IPv6 address only when IPv6 listening is on (tcp6.listen).
  const listen: Listen[] = [{ host: icap.host, port: icap.port }];
  if (tcp6.listen) listen.push({ host: icap.ipv6, port: icap.port });
  return {
    listen,
    connections: icap.connections,
    proxied: icap.proxied,
    idleConnect: ms(icap.idleConnect),
    headLimit: icap.headerSize === 0 ? LARGEST_HEAD : icap.headerSize,
    istag: istagOf(config, version),
  };
}

/**
 * The ISTag: the same in every worker for one version and filtering configuration, and
 * another after either changes, so an ICAP client drops what it learnt from the old one.
 */
export function istagOf(config: Config, version: string): string {
  const digest = createHash('sha256').update(JSON.stringify([version, config.redirector])).digest('hex');
  return `"exaproxy-${digest.slice(0, 16)}"`;
}

/** A failure to listen as one line naming the `section`'s option (else the error itself). */
export function listenError(error: unknown, listen: Listen[], section: string): unknown {
  const err = error as NodeJS.ErrnoException & { address?: string };
  const at = listen.find((l) => l.host === err.address) ?? listen[0]!;
  const where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  const option = at.host === listen[0]!.host ? `${section}.host` : `${section}.ipv6`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartError(`exaproxy: ${section}.port ${at.port}: ${where} is already in use by another program; stop it or choose another ${section}.port`);
    case 'EADDRNOTAVAIL':
      return new StartError(`exaproxy: ${option} ${at.host}: not an address of this machine; choose one of its addresses`);
    case 'EACCES':
    case 'EPERM':
      return new StartError(at.port < 1024
        ? `exaproxy: ${section}.port ${at.port}: ports below 1024 need root or CAP_NET_BIND_SERVICE; start exaproxy as root (it switches to daemon.user once bound) or choose a port above 1023`
        : `exaproxy: ${section}.port ${at.port}: not allowed to listen on ${where} (${err.code}); choose another ${section}.port`);
    default:
      return error;
  }
}
