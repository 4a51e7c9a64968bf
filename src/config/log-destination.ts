/**
 * The value type of log.destination and usage.destination: where log lines go.
 */
import { join, resolve } from 'node:path';
import { InvalidValue } from './errors';
import { ipv6Bytes } from './ip';
import type { Option, OptionMeta } from './types';

/** Where log lines go. */
export type LogDestination =
  | { readonly kind: 'stdout' }
  | { readonly kind: 'stderr' }
  | { readonly kind: 'syslog' }
  | { readonly kind: 'remote'; readonly host: string; readonly port: number }
  | { readonly kind: 'file'; readonly path: string };

function parseRemote(rest: string): { host: string; port: number } | undefined {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracket) return ipv6Bytes(bracket[1]!) ? { host: bracket[1]!, port: Number(bracket[2] ?? 514) } : undefined;
  if (ipv6Bytes(rest)) return { host: rest, port: 514 };
  const plain = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(rest);
  if (!plain) return undefined;
  const p = Number(plain[2] ?? 514);
  return p >= 1 && p <= 65535 ? { host: plain[1]!, port: p } : undefined;
}

/**
 * `stdout`, `stderr`, `syslog` (or '' as in ExaProxy: the local syslog), `host:ADDR[:PORT]`
 * (remote syslog over UDP, port 514 by default; IPv6 in brackets when a port follows),
 * or else a file path (relative to the working directory).
 */
export function logDestination(
  meta: OptionMeta & { readonly unimplemented: readonly LogDestination['kind'][] },
): Option<LogDestination> {
  return {
    ...meta,
    type: 'stdout|stderr|syslog|host:ADDR[:PORT]|file path',
    parse(value, context) {
      if (value === 'stdout' || value === 'stderr' || value === 'syslog') return { kind: value };
      if (value === '') return { kind: 'syslog' };
      if (value.startsWith('host:')) {
        const remote = parseRemote(value.slice(5));
        if (!remote) throw new InvalidValue('expected host:ADDR or host:ADDR:PORT for remote syslog, e.g. host:192.0.2.1:514 or host:[2001:db8::1]:514');
        return { kind: 'remote', ...remote };
      }
      return { kind: 'file', path: value.startsWith('~/') ? join(context.home, value.slice(2)) : resolve(context.cwd, value) };
    },
    format(value) {
      switch (value.kind) {
        case 'remote':
          return `host:${value.host.includes(':') ? `[${value.host}]` : value.host}:${value.port}`;
        case 'file':
          return value.path;
        default:
          return value.kind;
      }
    },
    unimplemented: (value) =>
      meta.unimplemented.includes(value.kind)
        ? `${value.kind === 'syslog' ? 'local syslog' : 'remote syslog'} is not implemented yet for this log: it goes to stderr instead`
        : undefined,
  };
}
