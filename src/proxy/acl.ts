/**
 * Address ranges (CIDR) and the checks built on them: which clients may use the proxy,
 * which destinations it refuses. Matching is Node's `net.BlockList`, which compares
 * addresses as numbers and matches IPv4 ranges against IPv4-mapped IPv6 peers too
 * (ExaProxy's exact-string match let 127.0.0.2 and ::ffff:127.0.0.1 through).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

interface Range {
  address: string;
  bits: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `addr[/bits]`; throws an Error naming the accepted form. */
export function parseRange(text: string): Range {
  const [address, len] = text.split('/', 2) as [string, string | undefined];
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (family === undefined) throw new Error(`"${text}" is not an IPv4/IPv6 address or CIDR range (e.g. 10.0.0.0/8, fc00::/7)`);
  const max = family === 'ipv4' ? 32 : 128;
  const bits = len === undefined ? max : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!(bits >= 0 && bits <= max)) throw new Error(`"${text}": the prefix length must be 0 to ${max}`);
  return { address, bits, family };
}

/** A list of ranges, matched against textual addresses (results cached per address). */
export class RangeList {
  private readonly list = new BlockList();
  private readonly cache = new Map<string, boolean>();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const r = parseRange(entry);
      this.list.addSubnet(r.address, r.bits, r.family);
    }
    this.empty = entries.length === 0;
  }

  has(ip: string): boolean {
    let hit = this.cache.get(ip);
    if (hit === undefined) {
      const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
      hit = family !== undefined && this.list.check(ip, family);
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(ip, hit);
    }
    return hit;
  }
}

/**
 * Destinations that must not be reached unless explicitly allowed: the proxy's own
 * addresses, loopback, unspecified, link-local, and IPv4-mapped/compatible forms of them.
 */
export const LOCAL_DESTINATIONS = [
  '0.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '::/128',
  '::1/128',
  'fe80::/10',
  '::ffff:0.0.0.0/104', // mapped 0/8
  '::ffff:127.0.0.0/104',
  '::ffff:169.254.0.0/112',
  '::127.0.0.0/104', // deprecated IPv4-compatible loopback
  // NAT64's well-known prefix (RFC 6052) in front of the same IPv4 ranges: a DNS64
  // resolver or a client naming them reaches this machine through the translator.
  '64:ff9b::0.0.0.0/104',
  '64:ff9b::127.0.0.0/104',
  '64:ff9b::169.254.0.0/112',
];

/** Strips the `::ffff:` prefix Node puts on IPv4 peers of dual-stack sockets. */
export function plainAddress(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
