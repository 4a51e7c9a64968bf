/**
 * Address ranges (CIDR) and the checks built on them: which clients may use the
 * proxy, which destinations it refuses. Addresses are compared as numbers, never
 * as strings (ExaProxy's exact-string match let 127.0.0.2 and ::ffff:127.0.0.1 through).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** An address as a 128-bit number (IPv4 as IPv4-mapped IPv6), in four 32-bit words. */
type Words = [number, number, number, number];

interface Range {
  words: Words;
  bits: number; // prefix length over the 128-bit form
}

function v4Words(ip: string): Words | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return [0, 0, 0xffff, n >>> 0];
}

function v6Words(ip: string): Words | undefined {
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Embedded IPv4 (::ffff:1.2.3.4): rewrite its dotted part as two hex groups.
    const v4 = v4Words(text.slice(lastColon + 1));
    if (!v4) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4[3] >>> 16).toString(16)}:${(v4[3] & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => (/^[0-9a-f]{1,4}$/i.test(h) ? parseInt(h, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const zeros = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (zeros < 0) return undefined;
  const all = [...head, ...Array.from({ length: zeros }, () => 0), ...rest];
  if (all.length !== 8 || all.some((g) => Number.isNaN(g))) return undefined;
  return [
    ((all[0]! << 16) | all[1]!) >>> 0,
    ((all[2]! << 16) | all[3]!) >>> 0,
    ((all[4]! << 16) | all[5]!) >>> 0,
    ((all[6]! << 16) | all[7]!) >>> 0,
  ];
}

/** Parses an IPv4 or IPv6 address into its 128-bit form. */
export function addressWords(ip: string): Words | undefined {
  return isIPv4(ip) ? v4Words(ip) : isIPv6(ip) ? v6Words(ip) : undefined;
}

/** Parses `addr[/bits]`; throws an Error naming the accepted form. */
export function parseRange(text: string): Range {
  const [addr, len] = text.split('/', 2) as [string, string | undefined];
  const words = addressWords(addr);
  if (!words) throw new Error(`"${text}" is not an IPv4/IPv6 address or CIDR range (e.g. 10.0.0.0/8, fc00::/7)`);
  const v4 = isIPv4(addr);
  const max = v4 ? 32 : 128;
  const bits = len === undefined ? max : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!(bits >= 0 && bits <= max)) throw new Error(`"${text}": the prefix length must be 0 to ${max}`);
  return { words, bits: v4 ? bits + 96 : bits };
}

function inRange(w: Words, r: Range): boolean {
  let bits = r.bits;
  for (let i = 0; i < 4 && bits > 0; i++, bits -= 32) {
    const mask = bits >= 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0;
    if (((w[i]! ^ r.words[i]!) & mask) >>> 0 !== 0) return false;
  }
  return true;
}

/** A list of ranges, matched against textual addresses (results cached per address). */
export class RangeList {
  private readonly ranges: Range[];
  private readonly cache = new Map<string, boolean>();

  constructor(entries: readonly string[]) {
    this.ranges = entries.map(parseRange);
  }

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  has(ip: string): boolean {
    let hit = this.cache.get(ip);
    if (hit === undefined) {
      const w = addressWords(ip);
      hit = w !== undefined && this.ranges.some((r) => inRange(w, r));
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
