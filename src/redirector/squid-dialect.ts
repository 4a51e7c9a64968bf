/**
 * Squid's url_rewrite_program protocol (Squid 3.4+ default extras, examples/redirectors/README.md):
 *   -> `[channel-ID ]URL client-ip/- user METHOD myip=IP myport=PORT`   (user: %un, `-` without a login)
 *   <- `[channel-ID ]OK|ERR|BH [kv-pairs]`, or a legacy `NNN:URL` / bare URL reply.
 * With concurrency 0 no channel-ID is sent (squidGuard and other old helpers need that).
 * The TLS SNI listener's connections are asked about as Squid asks about HTTPS: `<sni>:443`
 * with method CONNECT (what squidGuard's rules for HTTPS expect); the passthrough listener's
 * the same way, as `<original address>:<port>`.
 */
import type { Dialect, Outcome, RawReply, ReplyReader } from './dialect';
import { LineReader } from './line-reader';
import { REDIRECT_STATUSES, atoi, legacyNotes, note, parseSquidReply } from './squid-reply';
import type { RedirectorRequest } from './types';
import { hasControl, urlHost, wireSafe } from './wire';
import { rfc1738Escape } from '../auth/escape';

const PERMIT: Outcome = { kind: 'decision', decision: { kind: 'permit' }, cacheable: true };

function permitWith(why: string): Outcome {
  return { kind: 'decision', decision: { kind: 'permit' }, cacheable: true, note: why };
}

function unusable(why: string): Outcome {
  return { kind: 'decision', decision: { kind: 'error', reason: why }, cacheable: false };
}

/** A tunnel (CONNECT, the TLS and passthrough listeners): Squid names it host:port. */
function tunnelled(req: RedirectorRequest): boolean {
  return req.method === 'CONNECT' || req.transport !== 'http';
}

/** The URL as Squid writes it: absolute form, the port only when not the scheme's default. */
export function squidUrl(req: RedirectorRequest): string {
  const host = wireSafe(urlHost(req.host));
  if (tunnelled(req)) return `${host}:${req.port}`;
  const port = req.port === (req.scheme === 'https' ? 443 : 80) ? '' : `:${req.port}`;
  return `${req.scheme}://${host}${port}${wireSafe(req.path)}`;
}

/** Whether Squid's URI parser would accept a rewrite target for this request. */
function parsesAsTarget(url: string, req: RedirectorRequest): boolean {
  if (tunnelled(req)) return /^(\[[0-9A-Fa-f:.]+\]|[^\s/:[\]]+):[0-9]{1,5}$/.test(url);
  return /^https?:\/\/[^\s/?#]+([/?#]\S*)?$/i.test(url);
}

/** Squid's `strtol` on the channel-ID, then the whitespace after it. */
const CHANNEL = /^[\t\n\v\f\r ]*([+-]?[0-9]+)[\t\n\v\f\r ]*/;

export class SquidDialect implements Dialect {
  readonly slotsPerHelper: number;
  readonly channels: boolean;
  readonly stderrIsFailure = false;

  /** With channel-IDs, `concurrency` requests per helper; without, `pipeline` answered in order. */
  constructor(concurrency: number, pipeline: number) {
    this.channels = concurrency > 0;
    this.slotsPerHelper = concurrency > 0 ? concurrency : pipeline;
  }

  /**
   * A tag from the external ACL helper is added as `tag=` (what `url_rewrite_extras … tag=%et`
   * makes Squid send; not in its default line): helpers reading the fixed fields ignore it.
   */
  encode(req: RedirectorRequest): string {
    const tag = req.tag ? ` tag=${rfc1738Escape(Buffer.from(req.tag, 'latin1'))}` : '';
    return `${squidUrl(req)} ${req.clientIp}/- ${req.user || '-'} ${req.transport === 'http' ? req.method : 'CONNECT'} myip=${req.myIp} myport=${req.myPort}${tag}\n`;
  }

  newReader(maxReplyBytes: number): ReplyReader {
    const lines = new LineReader(maxReplyBytes);
    const channels = this.channels;
    return {
      push(chunk: Buffer, out: RawReply[]): void {
        lines.push(chunk, (line) => {
          if (!channels) {
            out.push({ channel: null, verdict: line });
            return;
          }
          const id = CHANNEL.exec(line);
          // A reply without an ID cannot be matched: Squid logs it and drops it (channel -1 here).
          if (id === null) out.push({ channel: -1, verdict: line });
          else out.push({ channel: Number(id[1]), verdict: line.slice(id[0].length) });
        });
      },
    };
  }

  interpret(reply: RawReply, req: RedirectorRequest): Outcome {
    const parsed = parseSquidReply(reply.verdict);
    if (parsed.result === 'ERR') return PERMIT;
    if (parsed.result === 'BH') {
      const message = note(parsed, 'message');
      return { kind: 'retry', reason: message === undefined ? 'helper answered BH' : `helper answered BH: ${message}` };
    }
    const notes = parsed.result === 'OK' ? parsed : { ...parsed, notes: legacyNotes(parsed.other) };
    const url = note(notes, 'url');
    const status = note(notes, 'status');
    if (url !== undefined) {
      const code = status === undefined ? 302 : atoi(status);
      if (!REDIRECT_STATUSES.has(code)) {
        return permitWith(`status=${status} is not a redirect status (301, 302, 303, 307 or 308): request left unchanged, as Squid does`);
      }
      if (url === '') return unusable('squid helper sent url= with an empty URL');
      if (hasControl(url)) return unusable('squid helper sent a url= holding control characters');
      return { kind: 'decision', decision: { kind: 'redirect', url, status: code }, cacheable: true };
    }
    const rewrite = note(notes, 'rewrite-url');
    if (rewrite !== undefined) {
      if (rewrite === squidUrl(req)) return PERMIT;
      if (hasControl(rewrite)) return unusable('squid helper sent a rewrite-url= holding control characters');
      if (!parsesAsTarget(rewrite, req)) {
        return permitWith(`rewrite-url ${JSON.stringify(rewrite)} is not a valid ${tunnelled(req) ? 'host:port' : 'http(s) URL'}: request left unchanged, as Squid does`);
      }
      return { kind: 'decision', decision: { kind: 'rewrite', url: rewrite }, cacheable: true };
    }
    if (status !== undefined) return permitWith(`status=${status} without url= is ignored: request left unchanged`);
    return PERMIT;
  }
}
