/**
 * The PROXY protocol header (v1 or v2) a trusted front end sends before the first
 * request: parsed by the addon, it names the real client and where it was going.
 */
import { Proxy as ProxySlot } from '../../native/abi.generated';
import { native } from '../../native/addon';
import { ipv6Text } from '../../config/ip';

const { parseProxyHeader } = native;

export type ProxyHeader =
  | { kind: 'more' }
  | { kind: 'invalid' }
  /**
   * `client` and `destination` null: a LOCAL command (the front end's own health check),
   * UNKNOWN, or a family that is not TCP over IPv4/IPv6 (keep the socket's addresses).
   */
  | { kind: 'done'; consumed: number; client: Address | null; destination: Address | null };

export interface Address {
  ip: string;
  port: number;
}

const MORE: ProxyHeader = { kind: 'more' };
const INVALID: ProxyHeader = { kind: 'invalid' };

export function readProxyHeader(input: Buffer, start: number, table: Uint32Array): ProxyHeader {
  const n = parseProxyHeader(input, start, table);
  if (n === 0) return MORE;
  if (n < 0) return INVALID;
  const family = table[ProxySlot.FAMILY]!;
  const proxied = table[ProxySlot.COMMAND] === 1 && family !== 0;
  const client = proxied ? { ip: formatAddress(table, ProxySlot.SRC_ADDR, family), port: table[ProxySlot.SRC_PORT]! } : null;
  const destination = proxied ? { ip: formatAddress(table, ProxySlot.DST_ADDR, family), port: table[ProxySlot.DST_PORT]! } : null;
  return { kind: 'done', consumed: n, client, destination };
}

/** An address from the table (big-endian words) as text: the addon hands numbers, never strings. */
function formatAddress(table: Uint32Array, at: number, family: number): string {
  if (family === 4) {
    const w = table[at]!;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const bytes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = table[at + i]!;
    bytes.push(w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255);
  }
  return ipv6Text(bytes);
}
