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

interface Entry {
  login: Login;
  expires: number;
}

/** Enough for every user of a large site; the oldest entry goes first beyond it. */
const MAX_ENTRIES = 50_000;

export function loginKey(c: Credentials): string {
  return createHash('sha256').update(c.user).update('\0').update(c.password).digest('base64');
}

export class LoginCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly ttlMs: number, private readonly negativeTtlMs: number) {}

  get(key: string, now: number): Login | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > now) return entry.login;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, login: Login, now: number): void {
    const ttl = login.kind === 'ok' ? this.ttlMs : login.kind === 'refused' ? this.negativeTtlMs : 0;
    if (ttl <= 0) return;
    this.entries.delete(key); // re-inserted last: Map order is age order
    this.entries.set(key, { login, expires: now + ttl });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}
