/**
 * Logins already checked, so a browser's every request does not cost a helper round trip
 * (Squid's credentialsttl). Keyed by a SHA-256 of user and password: the plain password is
 * never kept. A refused login is remembered for the (short) negative TTL.
 */
import { createHash } from 'node:crypto';
import type { Credentials } from './credentials';

export type Login =
  | { kind: 'ok'; user: string }
  | { kind: 'refused'; message: string }
  /** No helper could answer (all failed or timed out): not remembered. */
  | { kind: 'unavailable'; reason: string };

interface Entry<V> {
  login: V;
  expires: number;
}

/** Enough for every user of a large site; the oldest entry goes first beyond it. */
const MAX_ENTRIES = 50_000;

export function loginKey(c: Credentials): string {
  return createHash('sha256').update(c.user).update('\0').update(c.password).digest('base64');
}

/**
 * Also the external ACL's cache (src/external-acl), whose verdicts have the same three kinds:
 * `ok` kept for the TTL, `refused` for the negative TTL, anything else not at all.
 */
export class LoginCache<V extends { kind: string } = Login> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly ttlMs: number, private readonly negativeTtlMs: number) {}

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > now) return entry.login;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, login: V, now: number): void {
    const ttl = login.kind === 'ok' ? this.ttlMs : login.kind === 'refused' ? this.negativeTtlMs : 0;
    if (ttl <= 0) return;
    this.entries.delete(key); // re-inserted last: Map order is age order
    this.entries.set(key, { login, expires: now + ttl });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}
