/**
 * What the proxy answers itself instead of forwarding: a refusal, an error, a helper's
 * page or redirect. Phases return one; the connection renders and writes it.
 */
import { Outcome } from '../../log/outcome';
import { Method } from '../../native/abi.generated';
import type { ProxyContext } from '../context';
import type { Exchange } from '../exchange';

export interface LocalAnswer {
  status: number;
  outcome: Outcome;
  /** ExaProxy's text after the slash in the access log. */
  detail?: string;
  /** Close the connection after it, whatever the request asked. */
  close?: boolean;
  /** A page of `web.html` (dns.html, …), filled with the request's variables. */
  page?: string;
  /** A helper named the page: its absence is an error (501), not a fallback to the built-in page. */
  pageRequired?: boolean;
  /** The host the page speaks of (default: the request's). */
  pageHost?: string;
  /** A sentence for the built-in error page. */
  message?: string;
  /** A ready body, with its type. */
  body?: string;
  type?: string;
  /** Extra header lines, each ending in CRLF. */
  headers?: string;
}

/** An error page with `message`: a 403 is a refusal, anything else an error. */
export function refusal(status: number, message: string, detail?: string, close?: boolean): LocalAnswer {
  return { status, outcome: status === 403 ? Outcome.Deny : Outcome.Error, message, detail, close };
}

/**
 * The bytes of a local answer to `ex`, in the client's HTTP version; sets the
 * exchange's status. Clients take any 2xx to CONNECT as an open tunnel, so a page
 * instead of a tunnel is a 403.
 */
export function renderAnswer(ctx: ProxyContext, ex: Exchange, a: LocalAnswer, clientIp: string, host: string): Buffer {
  let status = a.status;
  let body: string;
  let type = a.type ?? 'text/html; charset=utf-8';
  if (a.page !== undefined) {
    const about = a.pageHost ?? host;
    const vars = { url: ex.url || about, host: about, client_ip: clientIp, protocol: 'http' };
    const page = ctx.pages.page(a.page, vars);
    if (page === undefined && a.pageRequired) {
      status = 501;
      body = ctx.pages.error(status, `could not serve missing file ${a.page}`);
    } else {
      body = page ?? ctx.pages.error(status, a.page);
    }
    type = 'text/html; charset=utf-8';
  } else if (a.message !== undefined) {
    body = ctx.pages.error(status, a.message);
  } else {
    body = a.body ?? '';
  }
  if (status < 300 && ex.methodId === Method.CONNECT) status = 403;
  ex.status = status;
  return ctx.pages.response(status, body, {
    minor: ex.minor,
    close: ex.closeAfter || !ex.keepAlive,
    type,
    headers: a.headers ?? '',
    head: ex.methodId === Method.HEAD,
  });
}
