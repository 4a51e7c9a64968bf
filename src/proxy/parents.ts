/**
 * Parent proxies (parent.*, Squid's `cache_peer … parent` with `never_direct`): which
 * destinations go through a parent, which parent takes the next request, and which are down.
 * A parent that cannot be connected to is left alone for parent.retry seconds; requests go to
 * the next one meanwhile, and when none is up they get 503 at once.
 */
import type { Config } from '../config';
import type { ParentProxy } from '../config/parents';
import type { Log } from '../log/log';
import { DomainList } from './domain-list';

export interface Parent {
  /** host:port, for logs and the connection pool's key. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `Proxy-Authorization: Basic …` and the blank line that ends a head, or null without credentials. */
  readonly authorization: Buffer | null;
  readonly weight: number;
  /** The external ACL tag of the requests it takes ('' for the untagged ones). */
  readonly tag: string;
  /** Squid's hierarchy code for the access log (FIRSTUP_PARENT, ROUNDROBIN_PARENT). */
  readonly hierarchy: string;
  /** Left alone until then (ms since the epoch); 0 while up. */
  downUntil: number;
  /** Smooth weighted round-robin's running score. */
  score: number;
}

export interface ParentSettings {
  proxies: readonly ParentProxy[];
  domains: DomainList;
  direct: DomainList;
  select: 'first' | 'round-robin';
  retryMs: number;
  /** A connection to a parent not made within this is given up (the next parent is tried). */
  connectTimeoutMs: number;
}

export class Parents {
  readonly list: readonly Parent[];
  private readonly tags: ReadonlySet<string>;
  readonly connectTimeoutMs: number;

  constructor(private readonly settings: ParentSettings, private readonly log: Log) {
    this.connectTimeoutMs = settings.connectTimeoutMs;
    const hierarchy = settings.select === 'first' ? 'FIRSTUP_PARENT' : 'ROUNDROBIN_PARENT';
    this.list = settings.proxies.map((p) => {
      const host = p.host.includes(':') ? `[${p.host}]` : p.host;
      const basic = p.login === null ? null : Buffer.from(`${p.login.user}:${p.login.password}`, 'utf8').toString('base64');
      const authorization = basic === null ? null : Buffer.from(`Proxy-Authorization: Basic ${basic}\r\n\r\n`, 'latin1');
      return { name: `${host}:${p.port}`, host: p.host, port: p.port, authorization, weight: p.weight, tag: p.tag, hierarchy, downUntil: 0, score: 0 };
    });
    this.tags = new Set(this.list.map((p) => p.tag).filter((t) => t !== ''));
  }

  /** Whether a request to `host` goes through a parent (parent.domains, less parent.direct). */
  covers(host: string): boolean {
    if (this.settings.direct.has(host)) return false;
    return this.settings.domains.empty || this.settings.domains.has(host);
  }

  /**
   * The parent for the next request, among those up for its external ACL tag: the parents
   * with that tag= when there are some, else the untagged ones. Null when all are down.
   */
  pick(now: number, tag = ''): Parent | null {
    const group = tag !== '' && this.tags.has(tag) ? tag : '';
    let best: Parent | null = null;
    let total = 0;
    for (const p of this.list) {
      if (p.downUntil > now || p.tag !== group) continue;
      if (this.settings.select === 'first') return p;
      // nginx's smooth weighted round-robin: each gains its weight, the highest goes and pays the total.
      p.score += p.weight;
      total += p.weight;
      if (best === null || p.score > best.score) best = p;
    }
    if (best !== null) best.score -= total;
    return best;
  }

  /** The parent could not be connected to: left alone for parent.retry. */
  failed(p: Parent, now: number, reason: string): void {
    if (p.downUntil > now) return;
    p.downUntil = now + this.settings.retryMs;
    this.log.warn({ parent: p.name, reason }, `parent proxy ${p.name} could not be connected to (${reason}); requests go to the next parent, it is tried again in ${this.settings.retryMs / 1000} s (parent.retry)`);
  }

  /** A connection to the parent was made: it is up (again). */
  connected(p: Parent): void {
    if (p.downUntil === 0) return;
    p.downUntil = 0;
    this.log.warn({ parent: p.name }, `parent proxy ${p.name} is up again`);
  }
}

/** The parents the configuration names, or null when requests go directly. */
export function parentsFromConfig(config: Config, log: Log): Parents | null {
  const p = config.parent;
  if (p.proxies.length === 0) return null;
  return new Parents(
    { proxies: p.proxies, domains: DomainList.parse(p.domains), direct: DomainList.parse(p.direct), select: p.select, retryMs: p.retry * 1000, connectTimeoutMs: p.connectTimeout * 1000 },
    log,
  );
}
