/**
 * Responses the proxy writes itself: error pages, helper pages, redirects.
 *
 * Pages come from ExaProxy-style templates in `web.html` (`%(host)s` placeholders) when
 * the folder has them, else from the built-in ones below. Every local response carries
 * Date, Server, Content-Type, Content-Length and `Cache-Control: no-store`, is written in
 * the client's HTTP version, and says `Connection: close` only when it must.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';

export interface PageVars {
  url?: string;
  host?: string;
  client_ip?: string;
  protocol?: string;
  comment?: string;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

/** The built-in pages: title and what the user (or operator) can do about it. */
const BUILT_IN: Record<string, [string, string]> = {
  'deny.html': ['Access restricted', 'Access to %(host)s has been restricted by the filtering policy.'],
  'dns.html': ['Website not found', 'The name %(host)s could not be resolved. Check the spelling of the address.'],
  'internal_error.html': [
    'Problem filtering the connection',
    'The request for %(url)s could not be checked by the filter. Try again in a moment; if it persists, tell the administrator.',
  ],
  'noconnect.html': ['Cannot contact website', 'The proxy could not connect to %(host)s. The site may be down, or not reachable from here.'],
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fill(template: string, vars: PageVars, escape: boolean): string {
  return template
    .replace(/%\((\w+)\)s/g, (_, key: string) => {
      const v = (vars as Record<string, string | undefined>)[key] ?? '';
      return escape ? escapeHtml(v) : v;
    })
    .replace(/%%/g, '%');
}

export class Pages {
  private readonly cache = new Map<string, string | null>();

  constructor(
    private readonly folder: string,
    private readonly server: string,
  ) {}

  /** The HTML page `name` (e.g. `deny.html`) filled with `vars`, or undefined when it does not exist. */
  page(name: string, vars: PageVars): string | undefined {
    const template = this.template(name);
    if (template !== null) return fill(template, vars, true);
    const builtIn = BUILT_IN[name];
    if (!builtIn) return undefined;
    return html(builtIn[0], fill(builtIn[1], vars, true));
  }

  /** An error page for a status the proxy produced itself. */
  error(status: number, message: string): string {
    return html(`${status} ${reasonPhrase(status)}`, escapeHtml(message));
  }

  private template(name: string): string | null {
    let t = this.cache.get(name);
    if (t === undefined) {
      t = null;
      if (this.folder) {
        // The helper names the page: it must stay inside the folder, and so must the file a
        // symbolic link in the folder points to (a link to /etc/shadow is not a template).
        const path = resolve(this.folder, name);
        if (inside(this.folder, path) && existsSync(path)) {
          try {
            if (inside(realpathSync(this.folder), realpathSync(path))) t = readFileSync(path, 'latin1');
          } catch {
            // unreadable: the built-in page is used
          }
        }
      }
      this.cache.set(name, t);
    }
    return t;
  }

  /** Date header value, cached per second. */
  date(): string {
    const now = Math.floor(Date.now() / 1000);
    if (now !== cachedSecond) {
      cachedSecond = now;
      cachedDate = new Date(now * 1000).toUTCString();
    }
    return cachedDate;
  }

  /** A complete local response. */
  response(
    status: number,
    body: string,
    opts: { minor: number; close: boolean; type?: string; headers?: string; head?: boolean },
  ): Buffer {
    const payload = Buffer.from(body, 'utf8');
    const head =
      `HTTP/1.${opts.minor} ${status} ${reasonPhrase(status)}\r\n` +
      `Date: ${this.date()}\r\nServer: ${this.server}\r\n` +
      `Content-Type: ${opts.type ?? 'text/html; charset=utf-8'}\r\nContent-Length: ${payload.length}\r\n` +
      'Cache-Control: no-store\r\n' +
      (opts.headers ?? '') +
      (opts.close ? 'Connection: close\r\n' : opts.minor === 0 ? 'Connection: keep-alive\r\n' : '') +
      '\r\n';
    return opts.head ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), payload]);
  }
}

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

let cachedSecond = 0;
let cachedDate = '';

function html(title: string, text: string): string {
  return (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>' +
    title +
    '</title><style>body{font-family:sans-serif;margin:3em auto;max-width:40em;color:#222}h1{font-size:1.4em}</style>' +
    '</head><body><h1>' +
    title +
    '</h1><p>' +
    text +
    '</p><hr><p><small>exaproxy</small></p></body></html>\n'
  );
}

/** The template folder shipped with the package. */
export const SHIPPED_HTML = join(__dirname, '..', '..', 'etc', 'exaproxy', 'html');
