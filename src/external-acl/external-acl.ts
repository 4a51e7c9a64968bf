/**
 * Squid's external ACL (external_acl_type): a helper is asked about a request by the line its
 * format makes, and answers OK (the request goes on) or ERR (refused), with `user=`, `tag=`
 * and `message=`. Verdicts are remembered per line (Squid's ttl and negative_ttl), and one
 * line is asked once at a time however many requests wait for it.
 */
import type { AclField } from '../config/acl-format';
import type { DecideResult, PoolStats } from '../redirector';
import type { LoginPool } from '../auth/authenticator';
import { rfc1738Escape } from '../auth/escape';
import { LoginCache } from '../auth/login-cache';
import { loginRequest } from '../auth/login-dialect';
import { note, parseSquidReply } from '../redirector/squid-reply';
import { aclData, aclLine, type AclQuestion } from './format';

/** What the helper's kv-pairs said, whatever the result. */
export interface AclNotes {
  /** `user=`, RFC 1738-escaped like a login's user. */
  user?: string;
  tag?: string;
  message?: string;
}

export type AclVerdict =
  | ({ kind: 'ok' } & AclNotes)
  | ({ kind: 'refused' } & AclNotes)
  /** No helper could answer (BH three times, failures, timeout): never remembered. */
  | { kind: 'unavailable'; reason: string };

export interface ExternalAclSettings {
  format: readonly AclField[];
  /** acl.data, as it is sent for %DATA. */
  data: string;
  ttlMs: number;
  negativeTtlMs: number;
  /** acl.failure: a request no helper could answer goes on (allow) or gets 503 (deny). */
  failure: 'deny' | 'allow';
}

export class ExternalAcl {
  private readonly cache: LoginCache<AclVerdict>;
  private readonly asking = new Map<string, Promise<AclVerdict>>();
  private readonly data: string;
  readonly failure: 'deny' | 'allow';

  constructor(private readonly settings: ExternalAclSettings, private readonly pool: LoginPool) {
    this.cache = new LoginCache(settings.ttlMs, settings.negativeTtlMs);
    this.data = aclData(settings.data);
    this.failure = settings.failure;
  }

  /** The verdict on this request: at once when remembered, else once a helper has answered. */
  check(q: AclQuestion): AclVerdict | Promise<AclVerdict> {
    const line = aclLine(this.settings.format, q, this.data);
    const known = this.cache.get(line, Date.now());
    if (known !== undefined) return known;
    const pending = this.asking.get(line);
    if (pending !== undefined) return pending;
    const asked = this.pool
      .decide(loginRequest(line))
      .then(verdictOf, (error: unknown): AclVerdict => ({ kind: 'unavailable', reason: String(error) }))
      .then((verdict) => {
        this.asking.delete(line);
        this.cache.set(line, verdict, Date.now());
        return verdict;
      });
    this.asking.set(line, asked);
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

function verdictOf(result: DecideResult): AclVerdict {
  if (result.failure !== undefined) return { kind: 'unavailable', reason: result.failure };
  const d = result.decision;
  if (d.kind === 'permit') return { kind: 'ok', ...notesOf(result.verdict) };
  if (d.kind === 'deny') return { kind: 'refused', ...notesOf(result.verdict) };
  return { kind: 'unavailable', reason: d.kind === 'error' ? d.reason : `unexpected decision ${d.kind}` };
}

function notesOf(verdict: string): AclNotes {
  const reply = parseSquidReply(verdict);
  const notes: AclNotes = {};
  const user = note(reply, 'user');
  if (user !== undefined && user !== '') notes.user = rfc1738Escape(Buffer.from(user, 'utf8'));
  const tag = note(reply, 'tag');
  if (tag !== undefined && tag !== '') notes.tag = tag;
  const message = note(reply, 'message');
  if (message !== undefined && message !== '') notes.message = message;
  return notes;
}
