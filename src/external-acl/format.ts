/**
 * The line an external ACL helper is sent: the acl.format fields of one request, each
 * URL-escaped as Squid escapes helper values (so none can cut the line or add a field), a
 * value exaproxy does not know written `-`, as Squid does.
 */
import type { AclField } from '../config/acl-format';
import { rfc1738Escape } from '../auth/escape';
import { squidUrl } from '../redirector/squid-dialect';
import type { RedirectorRequest } from '../redirector/types';

/** What the line is made of: the request as the helpers see it, and the client's port. */
export interface AclQuestion extends RedirectorRequest {
  clientPort: number;
}

function escaped(value: string): string {
  return value === '' ? '-' : rfc1738Escape(Buffer.from(value, 'latin1'));
}

function value(field: AclField, q: AclQuestion, data: string): string {
  switch (field) {
    case 'client':
      return escaped(q.clientIp);
    case 'clientPort':
      return String(q.clientPort);
    case 'user':
      return q.user || '-'; // escaped already by the authenticate phase
    case 'host':
      return escaped(q.host);
    case 'port':
      return String(q.port);
    case 'method':
      return escaped(q.method);
    case 'uri':
      return escaped(squidUrl(q));
    case 'path':
      return q.method === 'CONNECT' ? '-' : escaped(q.path);
    case 'scheme':
      return q.scheme;
    case 'myIp':
      return escaped(q.myIp);
    case 'myPort':
      return String(q.myPort);
    case 'data':
      return data;
  }
}

/** Squid's %DATA: each acl.data argument URL-escaped, `-` without any. */
export function aclData(text: string): string {
  const words = text.split(' ').filter((w) => w !== '');
  return words.length === 0 ? '-' : words.map(escaped).join(' ');
}

/** The helper's request line (without channel-ID), ending in LF. */
export function aclLine(fields: readonly AclField[], q: AclQuestion, data: string): string {
  let line = '';
  for (const field of fields) line += (line === '' ? '' : ' ') + value(field, q, data);
  return `${line}\n`;
}
