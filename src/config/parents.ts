/**
 * The `parent.proxies` option: the upstream proxies requests go through (Squid's
 * `cache_peer HOST parent PORT 0 login=USER:PASSWORD weight=N`), comma separated, each
 * `[user:password@]host:port [weight=N] [tag=T]`. User and password may hold %XX escapes (as
 * Squid's login= does), so any byte can be written. `tag=T` keeps a parent for the requests the
 * external ACL helper tagged T (Squid: `acl t tag T` + `cache_peer_access NAME allow t`).
 */
import { InvalidValue } from './errors';
import type { Option, OptionMeta } from './types';

export interface ParentProxy {
  host: string;
  port: number;
  /** Basic credentials for the parent, or null. */
  login: { user: string; password: string } | null;
  weight: number;
  /** The external ACL tag of the requests this parent takes; '' for the untagged ones. */
  tag: string;
}

const ACCEPTED = "comma-separated '[user:password@]host:port [weight=N] [tag=T]' entries (user and password may use %XX escapes)";
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$/;

/** An error line never shows the credentials. */
function hidden(text: string): string {
  return text.replace(/[^\s,]*@/g, 'USER:PASSWORD@');
}

function decoded(text: string, what: string, shown: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidValue(`expected ${ACCEPTED}; the ${what} of ${shown} has a bad %XX escape`);
  }
}

function parseEntry(entry: string): ParentProxy {
  const [address = '', ...options] = entry.split(/\s+/);
  const shown = JSON.stringify(hidden(entry));
  const bad = (why: string): never => {
    throw new InvalidValue(`expected ${ACCEPTED}; ${shown} ${why}`);
  };
  const at = address.lastIndexOf('@');
  let login: ParentProxy['login'] = null;
  if (at !== -1) {
    const credentials = address.slice(0, at);
    const colon = credentials.indexOf(':');
    if (colon <= 0) bad('has no user:password before @');
    login = { user: decoded(credentials.slice(0, colon), 'user', shown), password: decoded(credentials.slice(colon + 1), 'password', shown) };
  }
  const hostPort = address.slice(at + 1);
  const colon = hostPort.lastIndexOf(':');
  const host = colon === -1 ? '' : hostPort.slice(0, colon);
  const port = Number(hostPort.slice(colon + 1));
  if (!HOST.test(host)) bad('has no host:port');
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !/^\d+$/.test(hostPort.slice(colon + 1))) bad('has no port from 1 to 65535');
  let weight = 1;
  let tag = '';
  for (const option of options) {
    const m = /^(?:weight=(\d{1,4})|tag=([!-~]+))$/.exec(option);
    if (m === null || (m[1] !== undefined && Number(m[1]) < 1)) bad(`has ${JSON.stringify(option)}: only weight=N (1 to 9999) and tag=T may follow the address`);
    if (m![1] !== undefined) weight = Number(m![1]);
    else tag = m![2]!;
  }
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port, login, weight, tag };
}

function formatEntry(p: ParentProxy): string {
  const login = p.login === null ? '' : `${encodeURIComponent(p.login.user)}:${encodeURIComponent(p.login.password)}@`;
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  return `${login}${host}:${p.port}${p.weight === 1 ? '' : ` weight=${p.weight}`}${p.tag === '' ? '' : ` tag=${p.tag}`}`;
}

export function parentProxies(meta: OptionMeta): Option<readonly ParentProxy[]> {
  return {
    ...meta,
    type: 'parent proxy list',
    shown: hidden,
    parse: (value) => value.split(',').map((e) => e.trim()).filter((e) => e !== '').map(parseEntry),
    format: (list) => list.map(formatEntry).join(', '),
  };
}
