/**
 * Name resolution with a cache that honours record TTLs (capped by `dns.ttl`) and
 * remembers failures briefly (`dns.negative-ttl`), so a burst of requests to one host
 * costs one lookup. Names in /etc/hosts (localhost, intranet aliases) are found through
 * the system resolver when DNS does not know them.
 */
import { promises as dns, lookup as systemLookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

const SYSTEM_RESOLV_CONF = '/etc/resolv.conf';

/** What `dns.resolver`, `dns.timeout` and `dns.retries` say. */
export interface NameServers {
  /** A resolv.conf; the system's own (/etc/resolv.conf) is read by c-ares by default. */
  file: string;
  timeoutMs: number;
  tries: number;
}

/**
 * The `nameserver` lines of a resolv.conf (an address, as the format allows; a port
 * after it, `127.0.0.1:5353` or `[::1]:5353`, is accepted too), or a one-line error.
 */
export function nameServersOf(file: string, text: string): string[] {
  const servers = text
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((s): s is string => s !== undefined);
  if (servers.length === 0) throw new Error(`dns.resolver ${file}: no "nameserver ADDRESS" line; name one, or use /etc/resolv.conf`);
  return servers;
}

/** A c-ares resolver asking the servers of `dns.resolver`, with its timeout and tries. */
export function resolverFor(servers: NameServers): dns.Resolver {
  const resolver = new dns.Resolver({ timeout: servers.timeoutMs, tries: servers.tries });
  let text: string;
  try {
    text = readFileSync(servers.file, 'utf8');
  } catch (err) {
    throw new Error(`dns.resolver ${servers.file}: cannot be read (${(err as NodeJS.ErrnoException).code}); name a readable resolv.conf`);
  }
  try {
    resolver.setServers(nameServersOf(servers.file, text));
  } catch (err) {
    if ((err as Error).message.startsWith('dns.resolver')) throw err;
    throw new Error(`dns.resolver ${servers.file}: ${(err as Error).message}; nameserver lines take an IPv4 or IPv6 address`);
  }
  return resolver;
}

export class ResolveError extends Error {
  constructor(
    readonly host: string,
    readonly code: string,
  ) {
    super(`cannot resolve ${host}: ${code}`);
  }
}

export class Resolver {
  /** Addresses of a name, or why it has none; valid until `expiry`. */
  private readonly cache = new Map<string, string[] | ResolveError>();
  private readonly expiry = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<string[]>>();
  private readonly dns: dns.Resolver;
  constructor(
    private readonly opts: { ttl: number; negativeTtl: number; ipv4: boolean; ipv6: boolean; servers?: NameServers },
    private readonly stats: { dnsHit(): void; dnsMiss(): void } | null = null,
  ) {
    // c-ares reads the system's resolv.conf itself, and copes when it lists no server.
    const own = opts.servers === undefined || opts.servers.file === SYSTEM_RESOLV_CONF;
    this.dns = own ? new dns.Resolver(opts.servers && { timeout: opts.servers.timeoutMs, tries: opts.servers.tries }) : resolverFor(opts.servers!);
  }

  /** Addresses of `host` (IPv4 first when both are allowed), or a ResolveError. */
  resolve(host: string, now: number): Promise<string[]> | string[] {
    if (isIP(host)) return [host];
    const cached = this.cache.get(host);
    if (cached !== undefined && this.expiry.get(host)! > now) {
      this.stats?.dnsHit();
      if (cached instanceof ResolveError) return Promise.reject(cached);
      return cached;
    }
    this.stats?.dnsMiss();
    let pending = this.inflight.get(host);
    if (!pending) {
      pending = this.lookup(host).finally(() => this.inflight.delete(host));
      this.inflight.set(host, pending);
    }
    return pending;
  }

  private async lookup(host: string): Promise<string[]> {
    const now = Date.now();
    const queries: Promise<{ address: string; ttl: number }[]>[] = [];
    if (this.opts.ipv4) queries.push(this.dns.resolve4(host, { ttl: true }).catch(() => []));
    if (this.opts.ipv6) queries.push(this.dns.resolve6(host, { ttl: true }).catch(() => []));
    const records = (await Promise.all(queries)).flat();
    let addresses = records.map((r) => r.address);
    let ttl = records.length ? Math.min(...records.map((r) => r.ttl)) * 1000 : this.opts.ttl;
    if (addresses.length === 0) {
      addresses = await new Promise<string[]>((resolve) =>
        systemLookup(host, { all: true, family: this.opts.ipv4 && !this.opts.ipv6 ? 4 : this.opts.ipv6 && !this.opts.ipv4 ? 6 : 0 }, (err, list) =>
          resolve(err ? [] : list.map((a) => a.address)),
        ),
      );
      ttl = this.opts.ttl;
    }
    if (this.cache.size > 20_000) {
      this.cache.clear();
      this.expiry.clear();
    }
    if (addresses.length === 0) {
      const err = new ResolveError(host, 'ENOTFOUND');
      this.cache.set(host, err);
      this.expiry.set(host, now + this.opts.negativeTtl);
      throw err;
    }
    this.cache.set(host, addresses);
    this.expiry.set(host, now + Math.min(Math.max(ttl, 1000), this.opts.ttl));
    return addresses;
  }
}
