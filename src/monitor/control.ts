// Who may use the control actions: POST only, from a loopback address, and with web.token
// when one is configured. Nothing here evaluates code (ExaProxy's web.debug eval is gone).
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface Refusal {
  status: 403 | 405;
  message: string;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** The token a client sent: `Authorization: Bearer <t>`, `X-Exaproxy-Token: <t>`, or a `token` parameter. */
export function presentedToken(req: IncomingMessage, params: URLSearchParams): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined && /^bearer /i.test(auth)) return auth.slice(7).trim();
  const header = req.headers['x-exaproxy-token'];
  if (typeof header === 'string') return header;
  return params.get('token') ?? undefined;
}

export function refuseControl(req: IncomingMessage, params: URLSearchParams, token: string | undefined): Refusal | undefined {
  if (req.method !== 'POST') {
    return { status: 405, message: `control actions change the running proxy, so they need POST (got ${req.method})` };
  }
  if (!isLoopback(req.socket.remoteAddress)) {
    return { status: 403, message: `control actions are accepted only from a loopback address (not ${req.socket.remoteAddress}); run the request on the proxy host` };
  }
  if (token !== undefined && token !== '') {
    const given = presentedToken(req, params);
    if (given === undefined || !sameSecret(given, token)) {
      return { status: 403, message: 'control actions need the web.token of the configuration: send it as "Authorization: Bearer <token>"' };
    }
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** on/off parameter: the boolean words ExaProxy's configuration accepts, and their opposites. */
export function parseSwitch(value: string | null): boolean | undefined {
  if (value === null) return undefined;
  const v = value.toLowerCase();
  if (['1', 'yes', 'on', 'enable', 'true'].includes(v)) return true;
  if (['0', 'no', 'off', 'disable', 'false'].includes(v)) return false;
  return undefined;
}
