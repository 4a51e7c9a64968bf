/**
 * The PROXY protocol header (v1 or v2) a trusted front end sends before the first
 * request: parsed by the addon, it names the real client.
 */
import { Proxy as ProxySlot } from '../../native/abi.generated';
import { native } from '../../native/addon';

const { parseProxyHeader } = native;

export type ProxyHeader =
  | { kind: 'more' }
  | { kind: 'invalid' }
  /** `client` null: a LOCAL command or an unknown family (keep the socket's address). */
  | { kind: 'done'; consumed: number; client: { ip: string; port: number } | null };

const MORE: ProxyHeader = { kind: 'more' };
const INVALID: ProxyHeader = { kind: 'invalid' };

export function readProxyHeader(input: Buffer, start: number, table: Uint32Array): ProxyHeader {
  const n = parseProxyHeader(input, start, table);
  if (n === 0) return MORE;
  if (n < 0) return INVALID;
  const family = table[ProxySlot.FAMILY]!;
  const proxied = table[ProxySlot.COMMAND] === 1 && family !== 0;
  const client = proxied ? { ip: formatAddress(table, ProxySlot.SRC_ADDR, family), port: table[ProxySlot.SRC_PORT]! } : null;
  return { kind: 'done', consumed: n, client };
}

/**
 * An address from the table (big-endian words) as text, as inet_ntop writes it. The
 * addon hands numbers, never strings, across the boundary; Node has no formatter for
 * raw address bytes, so this one is ours.
 */
function formatAddress(table: Uint32Array, at: number, family: number): string {
  if (family === 4) {
    const w = table[at]!;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) {
    const w = table[at + i]!;
    groups.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
  }
  // Compress the longest run of zero groups (two or more).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
