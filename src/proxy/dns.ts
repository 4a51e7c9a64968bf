/**
 * Name resolution with a cache that honours record TTLs (capped by `dns.ttl`) and
 * remembers failures briefly (`dns.negative-ttl`), so a burst of requests to one host
 * costs one lookup. Names in /etc/hosts (localhost, intranet aliases) are found through
 * the system resolver when DNS does not know them.
 */
import { promises as dns, lookup as systemLookup } from 'node:dns';
import { isIP } from 'node:net';

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
  constructor(
    private readonly opts: { ttl: number; negativeTtl: number; ipv4: boolean; ipv6: boolean },
    private readonly stats: { dnsHit(): void; dnsMiss(): void } | null = null,
  ) {}

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
    if (this.opts.ipv4) queries.push(dns.resolve4(host, { ttl: true }).catch(() => []));
    if (this.opts.ipv6) queries.push(dns.resolve6(host, { ttl: true }).catch(() => []));
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
