/**
 * Destination protection: `security.deny`, and this machine's own addresses (loopback,
 * unspecified, link-local and their mapped forms, every interface address) unless
 * `security.local` lists the service.
 */
import { networkInterfaces } from 'node:os';
import { LOCAL_DESTINATIONS, RangeList } from './acl';
import type { ProxySettings } from './settings';

export function destinationAllowed(s: ProxySettings, host: string, address: string, port: number, ownAddress: string): boolean {
  if (s.deny.has(address)) return false;
  if (!isLocalDestination(address, ownAddress)) return true;
  return s.localAllowed.some((l) => (l.host === '*' || l.host === host || l.host === address) && (l.port === 0 || l.port === port));
}

const localRanges = new RangeList(LOCAL_DESTINATIONS);

/** Loopback, unspecified, link-local (and mapped forms), and every address of this machine. */
function isLocalDestination(address: string, ownAddress: string): boolean {
  return address === ownAddress || localRanges.has(address) || ownAddresses().has(address);
}

let own: Set<string> | null = null;
let ownAt = 0;
/** This machine's interface addresses, re-read every 5 minutes (ExaProxy's poll-interfaces). */
function ownAddresses(): Set<string> {
  const now = Date.now();
  if (own === null || now - ownAt > 300_000) {
    own = interfaceAddresses() ?? own ?? new Set();
    ownAt = now;
  }
  return own;
}

let interfacesFailed = false;
/**
 * The addresses of this machine's interfaces, or null when they cannot be read: a
 * sandbox without AF_NETLINK (systemd's RestrictAddressFamilies) makes the call throw.
 */
function interfaceAddresses(): Set<string> | null {
  try {
    return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
  } catch (err) {
    if (!interfacesFailed) {
      interfacesFailed = true;
      process.emitWarning(`cannot list this machine's addresses (${(err as Error).message}): only loopback and link-local destinations are refused as local`);
    }
    return null;
  }
}
