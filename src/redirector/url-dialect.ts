/**
 * ExaProxy's `url` helper protocol (examples/redirectors/README.md). One request at a time per helper:
 *   -> `<host><path> <client-ip> - <METHOD> -`   (no scheme, no port; CONNECT sends `host/`;
 *      the TLS SNI listener `<sni> <client-ip> - TLS -`: method TLS, an empty path; the
 *      passthrough listener `<address>:<port> <client-ip> - TCP -`: the original destination)
 *   <- an empty line, `file://NAME`, `redirect://URL`, `intercept://host[:port]` or `http://…`
 * `http://…` replies follow ExaProxy 1.1.2 (HEAD crashes on them): the same URL permits,
 * the same host with another path rewrites, another host redirects with 302.
 */
import type { Dialect, Outcome, RawReply, ReplyReader } from './dialect';
import { LineReader } from './line-reader';
import type { Decision, RedirectorRequest } from './types';
import { hasControl, parseHostPort, urlHost, wireSafe } from './wire';

const PERMIT: Outcome = { kind: 'decision', decision: { kind: 'permit' }, cacheable: true };

function decided(decision: Decision): Outcome {
  return { kind: 'decision', decision, cacheable: decision.kind !== 'error' };
}

function notUnderstood(reply: string, why: string): Outcome {
  return decided({ kind: 'error', reason: `url helper reply ${JSON.stringify(reply)} not understood: ${why}` });
}

/** Python's str.strip() on ASCII whitespace (ExaProxy strips each reply). */
function strip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function defaultPort(scheme: string): number {
  return scheme === 'https' ? 443 : 80;
}

/** `host<path>` exactly as the request line carries it (ExaProxy's url_noport). */
function urlNoPort(req: RedirectorRequest): string {
  // A passthrough stream has no name and no path: its port is all that tells what it is.
  if (req.transport === 'tcp') return `${wireSafe(urlHost(req.host))}:${req.port}`;
  return wireSafe(urlHost(req.host)) + (req.method === 'CONNECT' ? '/' : wireSafe(req.path));
}

export class UrlDialect implements Dialect {
  /** `pipeline`: requests written ahead to one helper, which answers them in order. */
  constructor(readonly slotsPerHelper: number) {}

  readonly channels = false;
  readonly stderrIsFailure = false;

  encode(req: RedirectorRequest): string {
    // The third field is the ident ExaProxy left as `-`: the login's user when src/auth checked one.
    return `${urlNoPort(req)} ${req.clientIp} ${req.user || '-'} ${req.method} -\n`;
  }

  newReader(maxReplyBytes: number): ReplyReader {
    const lines = new LineReader(maxReplyBytes);
    return {
      push(chunk: Buffer, out: RawReply[]): void {
        lines.push(chunk, (line) => out.push({ channel: null, verdict: line }));
      },
    };
  }

  interpret(reply: RawReply, req: RedirectorRequest): Outcome {
    const text = strip(reply.verdict);
    if (text === '') return PERMIT;
    if (hasControl(text)) return notUnderstood(text, 'it holds control characters');
    if (text.startsWith('http://')) return httpReply(text, req);
    if (text.startsWith('file://')) {
      const name = text.slice('file://'.length);
      return name === '' ? notUnderstood(text, 'file:// needs a page name') : decided({ kind: 'file', name });
    }
    if (text.startsWith('redirect://')) {
      const url = text.slice('redirect://'.length);
      return url === '' ? notUnderstood(text, 'redirect:// needs a URL') : decided({ kind: 'redirect', url, status: 302 });
    }
    if (text.startsWith('intercept://')) {
      const target = parseHostPort(text.slice('intercept://'.length), req.port);
      if (target === null) return notUnderstood(text, 'intercept:// needs host[:port] with a port from 1 to 65535');
      return decided({ kind: 'intercept', host: target.host, port: target.port });
    }
    return notUnderstood(text, 'expected an empty line, http://, file://, redirect:// or intercept://');
  }
}

/** ExaProxy 1.1.2: same URL → permit, same host → rewrite the path, other host → 302. */
function httpReply(text: string, req: RedirectorRequest): Outcome {
  const rest = text.slice('http://'.length);
  if (rest === urlNoPort(req)) return PERMIT;
  const host = urlHost(req.host);
  const slash = rest.indexOf('/');
  const replyHost = slash === -1 ? rest : rest.slice(0, slash);
  if (replyHost.toLowerCase() !== host.toLowerCase()) return decided({ kind: 'redirect', url: text, status: 302 });
  const path = slash === -1 ? '/' : rest.slice(slash);
  // A tunnel has no path to rewrite, and rewriting to the current path changes nothing.
  if (req.method === 'CONNECT' || path === req.path) return PERMIT;
  const port = req.port === defaultPort(req.scheme) ? '' : `:${req.port}`;
  return decided({ kind: 'rewrite', url: `${req.scheme}://${host}${port}${path}` });
}
