/**
 * The value types of configuration options. Each builder returns an Option<T>: how to parse
 * the text of a value (from the file, the environment or a flag) into T, how to print T back
 * so that loading the printed text gives the same T, and the words used by `exaproxy -h` and
 * by error messages. Parsers throw InvalidValue with what would have been accepted.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { InvalidValue } from './errors';
import { canonicalCidr, ipv4Bytes, ipv6Bytes } from './ip';
import { quoteCommand, splitCommand } from './shell';
import { ICAP_SERVICE_FORM, ICAP_SERVICE_SCHEME, parseIcapServiceUri } from '../redirector/icap-uri';

/** Where relative paths are looked for (ExaProxy's search, see resolvePath). */
export interface ResolveContext {
  /** The package root, ExaProxy's `<root>`. */
  readonly root: string;
  readonly cwd: string;
  readonly home: string;
  /** The PATH environment variable, for commands given by name only. */
  readonly path: string;
}

/** What every option declares in the schema. */
export interface OptionMeta {
  /** The default, as text, exactly as it would be written in the INI file. */
  readonly default: string;
  /** One line saying what the option does. */
  readonly help: string;
  /**
   * False while this release accepts the option (so ExaProxy files load) but does not act on
   * it yet; exaproxy warns at start when such an option is set to anything but its default.
   */
  readonly implemented?: boolean;
}

export interface Option<T> extends OptionMeta {
  /** Short name of the type for `exaproxy -h`, e.g. "integer 1..1000000". */
  readonly type: string;
  parse(text: string, context: ResolveContext): T;
  format(value: T): string;
  /** The value as an error line may show it (credentials hidden); the value itself without it. */
  shown?(text: string): string;
  /** A reason when this particular value is accepted but not acted on yet. */
  unimplemented?(value: T): string | undefined;
}

const TRUE_WORDS = ['1', 'yes', 'on', 'enable', 'true'];
const FALSE_WORDS = ['0', 'no', 'off', 'disable', 'false'];

/** ExaProxy's booleans, but anything outside the two word lists is an error, not false. */
export function bool(meta: OptionMeta): Option<boolean> {
  return {
    ...meta,
    type: 'boolean',
    parse(text) {
      const word = text.toLowerCase();
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      throw new InvalidValue(`expected a boolean: ${TRUE_WORDS.join(' ')} for true, ${FALSE_WORDS.join(' ')} for false`);
    },
    format: (value) => (value ? 'true' : 'false'),
  };
}

interface Range {
  readonly min: number;
  readonly max: number;
  /** What 0 means, when 0 is allowed and special (e.g. "unlimited"). */
  readonly zero?: string;
}

function rangeWords({ min, max, zero }: Range, unit: string): string {
  const special = zero && min === 0 ? ` (0: ${zero})` : '';
  return `from ${min} to ${max}${unit}${special}`;
}

/** A whole number within [min, max]. */
export function int(meta: OptionMeta & Range): Option<number> {
  const expected = `expected an integer ${rangeWords(meta, '')}`;
  return {
    ...meta,
    type: `integer ${meta.min}..${meta.max}${meta.zero && meta.min === 0 ? ` (0: ${meta.zero})` : ''}`,
    parse(text) {
      if (!/^\+?\d+$/.test(text)) throw new InvalidValue(expected);
      const value = Number(text);
      if (value < meta.min || value > meta.max) throw new InvalidValue(expected);
      return value;
    },
    format: (value) => String(value),
  };
}

/** A duration in seconds, with up to three decimals (milliseconds), within [min, max]. */
export function seconds(meta: OptionMeta & Range): Option<number> {
  const expected = `expected a number of seconds ${rangeWords(meta, '')}, at most 3 decimals`;
  return {
    ...meta,
    type: `seconds ${meta.min}..${meta.max}${meta.zero && meta.min === 0 ? ` (0: ${meta.zero})` : ''}`,
    parse(text) {
      if (!/^\+?\d+(\.\d{1,3})?$/.test(text)) throw new InvalidValue(expected);
      const value = Number(text);
      if (value < meta.min || value > meta.max) throw new InvalidValue(expected);
      return value;
    },
    format: (value) => String(value),
  };
}

/** A TCP port. `zero` says what 0 means where it is allowed (e.g. "any free port" for listeners). */
export function port(meta: OptionMeta & { readonly zero?: string }): Option<number> {
  return int({ ...meta, min: meta.zero ? 0 : 1, max: 65535 });
}

/** Free text, optionally constrained by a pattern (then `accepted` says what it must look like). */
export function text(meta: OptionMeta & { readonly pattern?: RegExp; readonly accepted?: string }): Option<string> {
  return {
    ...meta,
    type: 'string',
    parse(value) {
      if (meta.pattern && !meta.pattern.test(value)) throw new InvalidValue(`expected ${meta.accepted ?? meta.pattern.source}`);
      return value;
    },
    format: (value) => value,
  };
}

/** One of a fixed list of words, matched without regard to case and stored as listed. */
export function oneOf<const W extends string>(words: readonly W[], meta: OptionMeta): Option<W> {
  return {
    ...meta,
    type: words.join('|'),
    parse(value) {
      const found = words.find((w) => w.toLowerCase() === value.toLowerCase());
      if (found === undefined) throw new InvalidValue(`expected one of ${words.join(' ')}`);
      return found;
    },
    format: (value) => value,
  };
}

/**
 * An IP address literal (IPv4, IPv6 or either), as used to listen or bind: host names are
 * refused because resolving them at start would make the listening address depend on DNS.
 * IPv6 may be written in brackets; it is stored without.
 */
export function address(meta: OptionMeta & { readonly family: 4 | 6 | 'any' }): Option<string> {
  const words = { 4: 'an IPv4 address such as 127.0.0.1', 6: 'an IPv6 address such as ::1', any: 'an IPv4 or IPv6 address' };
  return {
    ...meta,
    type: meta.family === 'any' ? 'IP address' : `IPv${meta.family} address`,
    parse(value) {
      const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
      const ok = (meta.family !== 6 && ipv4Bytes(bare)) || (meta.family !== 4 && ipv6Bytes(bare));
      if (!ok) throw new InvalidValue(`expected ${words[meta.family]}`);
      return bare;
    },
    format: (value) => value,
  };
}

/**
 * ExaProxy's search for a relative path: `<root>/<p>`, then `<p>` with `~` expanded (relative to
 * the working directory), then `/<p>`, then `/usr/<p>`. Absolute paths are taken as they are.
 */
export function pathCandidates(value: string, context: ResolveContext): string[] {
  if (value.startsWith('~/') || value === '~') return [join(context.home, value.slice(1))];
  if (isAbsolute(value)) return [normalize(value)];
  return [join(context.root, value), resolve(context.cwd, value), join('/', value), join('/usr', value)];
}

function exists(path: string, kind: 'file' | 'folder' | 'any'): boolean {
  try {
    const stat = statSync(path);
    return kind === 'any' || (kind === 'file' ? stat.isFile() : stat.isDirectory());
  } catch {
    return false;
  }
}

/**
 * A file or folder, resolved through pathCandidates to the first that exists, or else to the
 * first candidate (the package's own copy), so an option can name a path that is only needed
 * when a feature is turned on. '' means "none" and is kept as ''.
 */
export function path(meta: OptionMeta & { readonly kind: 'file' | 'folder' }): Option<string> {
  return {
    ...meta,
    type: meta.kind === 'file' ? 'file path' : 'folder path',
    parse(value, context) {
      if (value === '') return '';
      const candidates = pathCandidates(value, context);
      return candidates.find((c) => exists(c, meta.kind)) ?? candidates[0]!;
    },
    format: (value) => value,
  };
}

/** A helper command: the program (resolved like a path, then on PATH for a bare name) and its arguments. */
export interface Command {
  /** The command as it would be written in the configuration, with the resolved program. */
  readonly line: string;
  readonly program: string;
  readonly args: readonly string[];
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Where a command's program may be found, in order (pathCandidates, then PATH for a bare name). */
export function programCandidates(program: string, context: ResolveContext): string[] {
  const candidates = pathCandidates(program, context);
  if (!program.includes('/')) {
    for (const folder of context.path.split(':')) if (folder) candidates.push(join(folder, program));
  }
  return candidates;
}

/**
 * A command line with shell-like quoting ('…', "…", backslash). The program is resolved but
 * not required to exist: the redirector checks it only when it is enabled (see load.ts).
 */
export function command(meta: OptionMeta): Option<Command> {
  return {
    ...meta,
    type: 'command line',
    parse(value, context) {
      let words: string[];
      try {
        words = splitCommand(value);
      } catch (error) {
        throw new InvalidValue(`expected a command line: ${(error as Error).message}`);
      }
      const [program, ...args] = words;
      if (program === undefined) throw new InvalidValue('expected a command line, the helper program and its arguments');
      const candidates = programCandidates(program, context);
      const found = candidates.find(isExecutable) ?? candidates[0]!;
      return { line: quoteCommand([found, ...args]), program: found, args };
    },
    format: (value) => value.line,
  };
}

/** Whether a command's program exists and may be run (checked only when the feature needs it). */
export function commandRunnable(value: Command): boolean {
  return isExecutable(value.program);
}

/** Items of a list value: separated by spaces and/or commas. */
function items(value: string): string[] {
  return value.split(/[\s,]+/).filter((item) => item !== '');
}

function list<T>(
  meta: OptionMeta,
  type: string,
  item: (word: string) => T,
  show: (item: T) => string = String,
): Option<readonly T[]> {
  return {
    ...meta,
    type: `${type} list`,
    parse: (value) => items(value).map(item),
    format: (value) => value.map(show).join(' '),
  };
}

/** TCP ports, e.g. "443 981 7000". */
export function ports(meta: OptionMeta): Option<readonly number[]> {
  return list(meta, 'port', (word) => {
    if (!/^\d+$/.test(word) || Number(word) < 1 || Number(word) > 65535) {
      throw new InvalidValue(`expected ports from 1 to 65535 separated by spaces ("${word}" is not one)`);
    }
    return Number(word);
  });
}

/** CIDR ranges in canonical text, e.g. ["127.0.0.0/8", "::1/128"]; a bare address is a single host. */
export function cidrs(meta: OptionMeta): Option<readonly string[]> {
  return list(meta, 'CIDR', (word) => {
    try {
      return canonicalCidr(word);
    } catch (error) {
      throw new InvalidValue(`expected CIDR ranges such as 10.0.0.0/8 fc00::/7 separated by spaces: ${(error as Error).message}`);
    }
  });
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** HTTP methods, upper-cased, e.g. ["PROPFIND", "MKCOL"]. */
export function methods(meta: OptionMeta): Option<readonly string[]> {
  return list(meta, 'method', (word) => {
    if (!TOKEN.test(word)) throw new InvalidValue(`expected HTTP method names separated by spaces ("${word}" is not one)`);
    return word.toUpperCase();
  });
}

/** HTTP header names, lower-cased. */
export function headers(meta: OptionMeta): Option<readonly string[]> {
  return list(meta, 'header name', (word) => {
    if (!TOKEN.test(word)) throw new InvalidValue(`expected header names separated by spaces ("${word}" is not one)`);
    return word.toLowerCase();
  });
}

/** One HTTP header name, lower-cased, or '' for none. */
export function header(meta: OptionMeta): Option<string> {
  return {
    ...meta,
    type: 'header name',
    parse(value) {
      if (value !== '' && !TOKEN.test(value)) throw new InvalidValue('expected a header name such as x-forwarded-for, or nothing');
      return value.toLowerCase();
    },
    format: (value) => value,
  };
}

/** A `security.local` entry: a local service the proxy may reach ('*' host / port 0 = any). */
export interface Service {
  readonly host: string;
  readonly port: number;
}

/** host:port pairs, `*` for any host or any port (ExaProxy documents `127.0.0.1:*` but could not parse it). */
export function services(meta: OptionMeta): Option<readonly Service[]> {
  const expected = 'expected host:port pairs such as 127.0.0.1:80 *:8080 [::1]:* separated by spaces';
  return list(
    meta,
    'host:port',
    (word) => {
      const match = /^(\[[^\]]+\]|[^:]+):(\d+|\*)$/.exec(word);
      if (!match) throw new InvalidValue(`${expected} ("${word}" is not one)`);
      const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
      if (host !== '*' && !ipv4Bytes(host) && !ipv6Bytes(host)) throw new InvalidValue(`${expected} ("${host}" is not an IP address)`);
      const portNumber = match[2] === '*' ? 0 : Number(match[2]);
      if (portNumber > 65535 || (match[2] !== '*' && portNumber === 0)) throw new InvalidValue(`${expected} ("${match[2]}" is not a port)`);
      return { host, port: portNumber };
    },
    ({ host, port: p }) => `${host.includes(':') ? `[${host}]` : host}:${p === 0 ? '*' : p}`,
  );
}

/** How requests are handed to helpers, or to an ICAP service over TCP. */
export type RedirectorProtocol = 'url' | 'squid' | `icap://${string}` | `icap-service://${string}`;

/** `redirector.protocol` names a network ICAP service: no helper program runs. */
export function usesIcapService(protocol: RedirectorProtocol): protocol is `icap-service://${string}` {
  return protocol.startsWith(ICAP_SERVICE_SCHEME);
}

export function redirectorProtocol(meta: OptionMeta): Option<RedirectorProtocol> {
  const expected = `expected url (ExaProxy line protocol), squid (Squid url_rewrite helper protocol), icap://NAME (ExaProxy ICAP-like protocol) or ${ICAP_SERVICE_FORM} (an ICAP server, RFC 3507)`;
  return {
    ...meta,
    type: `url|squid|icap://NAME|${ICAP_SERVICE_FORM}`,
    parse(value) {
      if (value === 'url' || value === 'squid') return value;
      if (/^icap:\/\/[^\s]*$/.test(value)) return value as `icap://${string}`;
      if (value.startsWith(ICAP_SERVICE_SCHEME)) {
        const service = parseIcapServiceUri(value);
        if (typeof service === 'string') throw new InvalidValue(service);
        return value as `icap-service://${string}`;
      }
      throw new InvalidValue(expected);
    },
    format: (value) => value,
  };
}
