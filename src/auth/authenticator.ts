/**
 * Who may use the proxy without a login, and what a login is worth: the login cache first,
 * then a Squid basic auth helper of the pool (one question per login at a time, however
 * many requests carry it).
 */
import type { DecideResult, PoolStats, RedirectorPool } from '../redirector';
import type { RangeList } from '../proxy/acl';
import { DomainList } from '../proxy/domain-list';
import type { Credentials } from './credentials';
import { rfc1738Escape } from './escape';
import { LoginCache, loginKey, type Login } from './login-cache';
import { loginRequest, replyUser } from './login-dialect';

export interface AuthSettings {
  realm: string;
  ttlMs: number;
  negativeTtlMs: number;
  exemptClients: RangeList;
  /** Host names exempt as they are, and `.domain` suffixes (the domain and its subdomains). */
  exemptHosts: readonly string[];
}

export type LoginPool = Pick<RedirectorPool, 'decide' | 'close' | 'stats'>;

export class Authenticator {
  readonly realm: string;
  private readonly cache: LoginCache;
  private readonly asking = new Map<string, Promise<Login>>();
  private readonly exemptHosts: DomainList;

  constructor(private readonly settings: AuthSettings, private readonly pool: LoginPool) {
    this.realm = settings.realm;
    this.cache = new LoginCache(settings.ttlMs, settings.negativeTtlMs);
    this.exemptHosts = new DomainList(settings.exemptHosts);
  }

  /** Whether this client, or this destination, needs no login. */
  exempt(clientIp: string, host: string): boolean {
    if (!this.settings.exemptClients.empty && this.settings.exemptClients.has(clientIp)) return true;
    return this.exemptHosts.has(host);
  }

  /** The login's verdict: at once when remembered, else once a helper has answered. */
  check(c: Credentials): Login | Promise<Login> {
    const key = loginKey(c);
    const now = Date.now();
    const known = this.cache.get(key, now);
    if (known !== undefined) return known;
    const pending = this.asking.get(key);
    if (pending !== undefined) return pending;
    const user = rfc1738Escape(c.user);
    const asked = this.pool
      .decide(loginRequest(`${user} ${rfc1738Escape(c.password)}\n`))
      .then((result) => loginOf(result, user), (error: unknown) => ({ kind: 'unavailable', reason: String(error) }) as const)
      .then((login) => {
        this.asking.delete(key);
        this.cache.set(key, login, Date.now());
        return login;
      });
    this.asking.set(key, asked);
    return asked;
  }

  /** The helper pool's figures, for the monitor. */
  stats(): PoolStats {
    return this.pool.stats();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function loginOf(result: DecideResult, user: string): Login {
  if (result.failure !== undefined) return { kind: 'unavailable', reason: result.failure };
  const d = result.decision;
  if (d.kind === 'permit') {
    const named = replyUser(result.verdict); // the helper may name the user otherwise (OK user=…)
    return { kind: 'ok', user: named === undefined || named === '' ? user : rfc1738Escape(Buffer.from(named, 'utf8')) };
  }
  if (d.kind === 'deny') return { kind: 'refused', message: d.reason };
  return { kind: 'unavailable', reason: d.kind === 'error' ? d.reason : `unexpected decision ${d.kind}` };
}
