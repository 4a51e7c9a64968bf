/**
 * The ICAP listener's settings (`icap.*`) and its ISTag.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config';
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
