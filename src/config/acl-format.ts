/**
 * The `acl.format` option: what an external ACL helper is sent, in Squid's spelling of
 * external_acl_type FORMAT — the old names (%SRC, %LOGIN…) and their logformat aliases
 * (%>a, %un…). Declared here, once; src/external-acl expands the fields per request.
 */
import { InvalidValue } from './errors';
import type { Option, OptionMeta } from './types';

export type AclField =
  | 'client' | 'clientPort' | 'user' | 'host' | 'port' | 'method' | 'uri' | 'path' | 'scheme' | 'myIp' | 'myPort' | 'data';

/** Each macro Squid accepts in an external_acl_type FORMAT that exaproxy knows the value of. */
export const ACL_MACROS: ReadonlyMap<string, AclField> = new Map<string, AclField>([
  ['%SRC', 'client'], ['%>a', 'client'],
  ['%SRCPORT', 'clientPort'], ['%>p', 'clientPort'],
  ['%LOGIN', 'user'], ['%ul', 'user'], ['%un', 'user'],
  ['%DST', 'host'], ['%>rd', 'host'],
  ['%PORT', 'port'], ['%>rp', 'port'],
  ['%METHOD', 'method'], ['%>rm', 'method'],
  ['%URI', 'uri'], ['%>ru', 'uri'],
  ['%PATH', 'path'], ['%>rP', 'path'],
  ['%PROTO', 'scheme'], ['%>rs', 'scheme'],
  ['%MYADDR', 'myIp'], ['%la', 'myIp'],
  ['%MYPORT', 'myPort'], ['%lp', 'myPort'],
  ['%DATA', 'data'],
]);

/**
 * Macros separated by spaces. As Squid does, `%DATA` (the acl.data arguments, `-` without any)
 * is appended when the format does not name it.
 */
export function aclFormat(meta: OptionMeta): Option<readonly AclField[]> {
  return {
    ...meta,
    type: 'format macros',
    parse(value) {
      const words = value.split(/\s+/).filter((w) => w !== '');
      if (words.length === 0) throw new InvalidValue(`expected Squid format macros separated by spaces (${[...ACL_MACROS.keys()].join(' ')})`);
      const fields = words.map((word) => {
        const field = ACL_MACROS.get(word);
        if (field === undefined) throw new InvalidValue(`expected Squid format macros separated by spaces (${[...ACL_MACROS.keys()].join(' ')}); ${word} is not one of them`);
        return field;
      });
      return fields.includes('data') ? fields : [...fields, 'data'];
    },
    // The written form without the implied %DATA, so printing and loading again give the same fields.
    format: (fields) => {
      const names = new Map([...ACL_MACROS].reverse().map(([name, field]) => [field, name]));
      const shown = fields.at(-1) === 'data' && fields.indexOf('data') === fields.length - 1 ? fields.slice(0, -1) : fields;
      return shown.map((f) => names.get(f)!).join(' ');
    },
  };
}
