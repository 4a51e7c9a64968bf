/**
 * Squid's basic authentication helper protocol (auth_param basic program), as a dialect of
 * the redirector's helper pool, which already runs long-lived helpers with children,
 * concurrency, timeouts and restarts:
 *   -> `[channel-ID ]user password`   (each RFC 1738-escaped, see escape.ts)
 *   <- `[channel-ID ]OK [user=…]`, `ERR [message=…]` or `BH [message=…]`
 * BH ("broken helper") is asked again on another helper, as Squid does. External ACL helpers
 * (src/external-acl) answer in the same words to a different line, so they use it too.
 */
import type { Dialect, Outcome, RawReply, ReplyReader } from '../redirector/dialect';
import { note, parseSquidReply } from '../redirector/squid-reply';
import { SquidDialect } from '../redirector/squid-dialect';
import type { RedirectorRequest } from '../redirector/types';

/** A pool request carrying a login: `line` is what the helper is sent (without channel-ID). */
export interface LoginRequest extends RedirectorRequest {
  line: string;
}

/** The request fields the pool never reads for a login (its log lines name none of them). */
const NO_TARGET = { method: 'LOGIN', scheme: 'http', host: '', port: 0, path: '', clientIp: '-', myIp: '-', myPort: 0, rawHead: Buffer.alloc(0), transport: 'http' } as const;

export function loginRequest(line: string): LoginRequest {
  return { ...NO_TARGET, line };
}

export class LoginDialect implements Dialect {
  readonly slotsPerHelper: number;
  readonly channels: boolean;
  readonly stderrIsFailure = false;
  /** Channel-IDs are read exactly as for url_rewrite helpers. */
  private readonly squid: SquidDialect;

  /** `words`: how the helper and a refusal are called in reasons (the auth helper's by default). */
  constructor(concurrency: number, private readonly words = { helper: 'auth helper', refused: 'login refused' }) {
    this.squid = new SquidDialect(concurrency, 1);
    this.channels = this.squid.channels;
    this.slotsPerHelper = this.squid.slotsPerHelper;
  }

  encode(req: RedirectorRequest): string {
    return (req as LoginRequest).line;
  }

  newReader(maxReplyBytes: number): ReplyReader {
    return this.squid.newReader(maxReplyBytes);
  }

  /** The pool's cache stays off for logins (its key would be the password): nothing is cacheable here. */
  interpret(reply: RawReply): Outcome {
    const parsed = parseSquidReply(reply.verdict);
    const message = note(parsed, 'message');
    switch (parsed.result) {
      case 'OK':
        return { kind: 'decision', decision: { kind: 'permit' }, cacheable: false };
      case 'ERR':
        return { kind: 'decision', decision: { kind: 'deny', reason: message ?? this.words.refused }, cacheable: false };
      case 'BH':
        return { kind: 'retry', reason: message === undefined ? `${this.words.helper} answered BH` : `${this.words.helper} answered BH: ${message}` };
      default:
        return { kind: 'decision', decision: { kind: 'error', reason: `the ${this.words.helper} answered neither OK, ERR nor BH` }, cacheable: false };
    }
  }
}

/** The user name an OK reply gives (`user=`), if any. */
export function replyUser(verdict: string): string | undefined {
  return note(parseSquidReply(verdict), 'user');
}
