/**
 * Remembers helper verdicts for `redirector.cache` seconds, keyed by exactly what the helper
 * was sent (minus the channel-ID). Every entry lives equally long, so insertion order is
 * expiry order: the oldest entries are always at the front of the Map.
 */
import type { Decision } from './types';

interface Entry {
  decision: Decision;
  verdict: string;
  expires: number;
}

export class VerdictCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly ttlMs: number, private readonly maxEntries: number) {}

  get(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > now) return entry;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, decision: Decision, verdict: string, now: number): void {
    this.entries.delete(key); // re-inserting moves the key to the back, keeping the order by expiry
    this.entries.set(key, { decision, verdict, expires: now + this.ttlMs });
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && entry.expires > now) break;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
