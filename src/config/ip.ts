/**
 * IP address text ↔ bytes, and CIDR ranges, for validating configuration values.
 * Ranges are normalised to one canonical spelling so that printing the configuration
 * (-i / -e) and loading it back gives the same value. Node validates addresses
 * (`isIPv4`/`isIPv6`) and matches them (`BlockList`, src/proxy/acl.ts) but has no
 * address ↔ bytes conversion nor an RFC 5952 writer: those are the only parts kept here.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The four bytes of a dotted-quad IPv4 address, or undefined if `text` is not one. */
export function ipv4Bytes(text: string): number[] | undefined {
  if (!isIPv4(text)) return undefined;
  return text.split('.').map(Number);
}

/** The sixteen bytes of an IPv6 address (embedded IPv4 allowed, no zone), or undefined. */
export function ipv6Bytes(text: string): number[] | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    // Embedded IPv4 (::ffff:1.2.3.4): rewrite the dotted part as two hex words.
    const v4 = ipv4Bytes(body.slice(lastColon + 1));
    if (!v4) return undefined;
    const high = (v4[0]! * 256 + v4[1]!).toString(16);
    const low = (v4[2]! * 256 + v4[3]!).toString(16);
    body = `${body.slice(0, lastColon + 1)}${high}:${low}`;
  }
  const halves = body.split('::');
  const words = (part: string): number[] => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const left = words(halves[0] ?? '');
  const right = halves.length > 1 ? words(halves[1] ?? '') : [];
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...left, ...Array.from({ length: missing }, () => 0), ...right];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

/** RFC 5952 text of sixteen bytes: lower case, the longest run of two or more zero words as "::". */
export function ipv6Text(bytes: readonly number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes[i]! * 256 + bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}

/**
 * Canonical text of a CIDR range ("10.0.0.0/8", "fc00::/7"); a bare address is a /32 or /128.
 * Throws an Error whose message completes "expected …" when the range is not valid, including
 * when bits are set after the prefix (10.0.0.1/8 is almost always a typo for 10.0.0.0/8).
 */
export function canonicalCidr(text: string): string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const v4 = ipv4Bytes(address);
  const bytes = v4 ?? ipv6Bytes(address);
  if (!bytes) throw new Error(`"${address}" is not an IPv4 or IPv6 address`);
  const width = bytes.length * 8;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) {
    throw new Error(`"/${prefixText}" is not a prefix length from 0 to ${width}`);
  }
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (prefix > width) throw new Error(`"/${prefixText}" is not a prefix length from 0 to ${width}`);
  const network = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const networkText = v4 ? network.join('.') : ipv6Text(network);
  if (network.some((b, i) => b !== bytes[i])) {
    throw new Error(`"${text}" has bits set after the /${prefix} prefix; write ${networkText}/${prefix}`);
  }
  return `${networkText}/${prefix}`;
}
