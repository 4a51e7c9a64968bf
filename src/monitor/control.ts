// Who may use the control actions. They change the running proxy, so every one must hold:
// POST; from a loopback address; not relayed by a proxy (ours or another: Via, Forwarded,
// X-Forwarded-For); Host naming the monitor itself and Origin absent or the same (a web page
// on this machine, or one rebinding its DNS name to 127.0.0.1, cannot send them); and
// web.token, unless the operator opted in to tokenless control (web.open-control).
// Nothing here evaluates code (ExaProxy's web.debug eval is gone).
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';

export interface Refusal {
  status: 403 | 405;
  message: string;
}

export interface ControlPolicy {
  /** web.token ('' or undefined: none) */
  token?: string;
  /** web.open-control: accept control actions without a token */
  open?: boolean;
  /** web.host, the address the monitor listens on */
  host: string;
  /** the monitor's port */
  port: number;
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

/** Headers a proxy adds: a request carrying one was relayed (exaproxy adds Via and X-Forwarded-For). */
const RELAYED = ['via', 'forwarded', 'x-forwarded-for'] as const;

function bare(address: string): string {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** Splits a Host header into name and port ("[::1]:8080", "localhost", "127.0.0.1:80"). */
function splitHost(value: string): { name: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  return { name: bare(m[1]), port: m[2] === undefined ? 80 : Number(m[2]) };
}

/** The names the monitor answers to: its own address, the address the request reached, localhost, this host's name. */
function ownNames(req: IncomingMessage, policy: ControlPolicy): Set<string> {
  const names = new Set(['localhost', hostname().toLowerCase(), bare(policy.host)]);
  if (req.socket.localAddress !== undefined) names.add(bare(req.socket.localAddress));
  return names;
}

export function refuseControl(req: IncomingMessage, params: URLSearchParams, policy: ControlPolicy): Refusal | undefined {
  if (req.method !== 'POST') {
    return { status: 405, message: `control actions change the running proxy, so they need POST (got ${req.method})` };
  }
  if (!isLoopback(req.socket.remoteAddress)) {
    return { status: 403, message: `control actions are accepted only from a loopback address (not ${req.socket.remoteAddress}); run the request on the proxy host` };
  }
  const relayed = RELAYED.find((h) => req.headers[h] !== undefined);
  if (relayed !== undefined) {
    return { status: 403, message: `control actions are not accepted through a proxy (the request has a ${relayed} header); send it to the monitor directly` };
  }
  const host = splitHost(req.headers.host ?? '');
  if (host === undefined || host.port !== policy.port || !ownNames(req, policy).has(host.name)) {
    return { status: 403, message: `control actions need a Host header naming the monitor itself (e.g. ${policy.host.includes(':') ? `[${policy.host}]` : policy.host}:${policy.port}), not ${JSON.stringify(req.headers.host ?? '')}` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${(req.headers.host ?? '').toLowerCase()}`) {
    return { status: 403, message: `control actions are refused from web pages of another origin (${origin})` };
  }
  if (policy.token !== undefined && policy.token !== '') {
    const given = presentedToken(req, params);
    if (given === undefined || !sameSecret(given, policy.token)) {
      return { status: 403, message: 'control actions need the web.token of the configuration: send it as "Authorization: Bearer <token>"' };
    }
  } else if (policy.open !== true) {
    return {
      status: 403,
      message: 'control actions are disabled: set web.token (then send "Authorization: Bearer <token>"), or web.open-control=true to let any local user use them',
    };
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
