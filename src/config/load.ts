/**
 * Loading the configuration from its sources, lowest priority first: built-in defaults, one
 * INI file, `exaproxy.*` environment variables, then command-line flags. Every value is checked
 * against the schema; the first bad one stops loading with a one-line ConfigError.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../version';
import { parseArgs } from './args';
import { ConfigError, InvalidValue } from './errors';
import { parseIni, unquote } from './ini';
import { ALIASES, camelCase, OPTION_BY_KEY, OPTIONS, SCHEMA, valueOf, type Config, type OptionEntry } from './schema';
import { closest } from './suggest';
import { commandRunnable, programCandidates, usesIcapService, type ResolveContext } from './types';

export interface LoadOptions {
  /** Command-line arguments, without the node and script paths. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** The package root ExaProxy-style relative paths are looked up in (default: this package). */
  readonly root?: string;
  /** Where `~` points (default: the user's home). */
  readonly home?: string;
}

export interface Loaded {
  readonly config: Config;
  /** The configuration file read (absolute path), or "defaults" when there was none. */
  readonly source: string;
  /** Lines to print on stderr: ignored flags, unknown `exaproxy.*` environment variables. */
  readonly warnings: string[];
  /** The built-in defaults, resolved the same way (for -di/-de and the not-implemented warnings). */
  readonly defaults: Config;
}

/** A value given for an option, and where it came from for error messages. */
interface Given {
  readonly raw: string;
  readonly where: string;
}

/** ExaProxy's search path for exaproxy.conf when -c is not given. */
export function configSearchPath(root: string, cwd: string): string[] {
  const relative = join('etc', 'exaproxy', 'exaproxy.conf');
  return [join(root, relative), resolve(cwd, relative), join('/', relative), join('/usr', relative)];
}

const sources = new WeakMap<Config, ReadonlyMap<string, string>>();

/** Where the value of `key` ("http.connections") came from, or undefined for a default. */
export function sourceOf(config: Config, key: string): string | undefined {
  return sources.get(config)?.get(key);
}

function readFailure(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'cannot read the configuration file: it does not exist (check the path)';
    case 'EACCES':
    case 'EPERM':
      return "cannot read the configuration file: permission denied (check the file's owner and mode)";
    case 'EISDIR':
      return 'cannot read the configuration file: it is a folder (give the path of the file inside it)';
    default:
      return `cannot read the configuration file: ${(error as Error).message}`;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Finds and reads the INI file: `-c FILE` (must be readable), else the first file of the search path. */
function readConfigFile(configFile: string | undefined, root: string, cwd: string): { path: string; where: string; text: string } | undefined {
  if (configFile !== undefined) {
    const path = resolve(cwd, configFile);
    try {
      return { path, where: configFile, text: readFileSync(path, 'utf8') };
    } catch (error) {
      throw new ConfigError(`-c ${configFile}`, readFailure(error));
    }
  }
  const path = configSearchPath(root, cwd).find(isFile);
  if (path === undefined) return undefined;
  try {
    return { path, where: path, text: readFileSync(path, 'utf8') };
  } catch (error) {
    throw new ConfigError(path, readFailure(error));
  }
}

const SECTIONS = Object.keys(SCHEMA);

function unknownOption(where: string, key: string, raw: string, suggestion: string | undefined): ConfigError {
  const hint = suggestion ? `; did you mean ${suggestion}?` : '';
  return new ConfigError(where, `unknown option ${key} = ${JSON.stringify(raw)}${hint} (exaproxy -h lists every option)`);
}

/** Values from the file. `[section]` wins over `[exaproxy.section]`, as in ExaProxy; within one, the last line wins. */
function fileValues(text: string, where: string): Map<string, Given> {
  const plain = new Map<string, Given>();
  const prefixed = new Map<string, Given>();
  for (const entry of parseIni(text, where)) {
    const prefixedSection = entry.section.startsWith('exaproxy.');
    const section = prefixedSection ? entry.section.slice('exaproxy.'.length) : entry.section;
    const at = `${where}:${entry.line}`;
    if (!SECTIONS.includes(section)) {
      const suggestion = closest(section, SECTIONS);
      const hint = suggestion ? `; did you mean [${suggestion}]?` : '';
      throw new ConfigError(at, `unknown section [${entry.section}] (for ${entry.option} = ${JSON.stringify(entry.value)})${hint} (exaproxy -h lists every option)`);
    }
    const written = `${section}.${entry.option}`;
    const key = ALIASES[written] ?? written;
    if (!OPTION_BY_KEY.has(key)) {
      throw unknownOption(at, written, entry.value, closest(written, [...OPTION_BY_KEY.keys()]));
    }
    (prefixedSection ? prefixed : plain).set(key, { raw: entry.value, where: at });
  }
  return new Map([...prefixed, ...plain]);
}

/**
 * Values from `exaproxy.section.option` and `exaproxy_section_option` variables (the dotted
 * form wins). In the underscore form an underscore in the option name stands for a hyphen,
 * because shells cannot export names with hyphens. Unknown names are warnings: the environment
 * is shared with other programs and must not stop the proxy.
 */
function environmentValues(env: LoadOptions['env'], warnings: string[]): Map<string, Given> {
  const dotted = new Map<string, Given>();
  const underscored = new Map<string, Given>();
  // Sorted, so that warnings come out in the same order whatever the environment's order.
  const names = Object.keys(env).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    const isDotted = name.startsWith('exaproxy.');
    if (!isDotted && !name.startsWith('exaproxy_')) continue;
    const rest = name.slice('exaproxy.'.length);
    const separator = isDotted ? '.' : '_';
    const cut = rest.indexOf(separator);
    const section = cut < 0 ? rest : rest.slice(0, cut);
    const option = cut < 0 ? '' : rest.slice(cut + 1).replaceAll(isDotted ? /_/g : /[_.]/g, '-');
    const written = `${section}.${option}`;
    const key = ALIASES[written] ?? written;
    if (!OPTION_BY_KEY.has(key)) {
      const suggestion = closest(written, [...OPTION_BY_KEY.keys()]);
      const spelled = suggestion && (isDotted ? `exaproxy.${suggestion}` : `exaproxy_${suggestion.replace('.', '_')}`);
      const hint = spelled ? `did you mean ${spelled}? ` : '';
      warnings.push(`exaproxy: warning: environment ${name} is not an option; ${hint}it is ignored (exaproxy -h lists every option)`);
      continue;
    }
    (isDotted ? dotted : underscored).set(key, { raw: unquote(value), where: `environment ${name}` });
  }
  return new Map([...underscored, ...dotted]);
}

function parseOne(entry: OptionEntry, given: Given | undefined, context: ResolveContext): unknown {
  const raw = given?.raw ?? entry.option.default;
  try {
    return entry.option.parse(raw, context);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    if (!given) throw new Error(`the built-in default of ${entry.key} (${JSON.stringify(raw)}) is invalid: ${error.expected}`);
    throw new ConfigError(given.where, `${entry.key} = ${JSON.stringify(entry.option.shown?.(raw) ?? raw)}: ${error.expected}`);
  }
}

function build(values: ReadonlyMap<string, Given>, context: ResolveContext): Config {
  const sections: Record<string, Record<string, unknown>> = {};
  for (const entry of OPTIONS) {
    (sections[entry.section] ??= {})[camelCase(entry.name)] = parseOne(entry, values.get(entry.key), context);
  }
  for (const section of Object.values(sections)) Object.freeze(section);
  const config = Object.freeze(sections) as unknown as Config;
  sources.set(config, new Map([...values].map(([key, given]) => [key, given.where])));
  return config;
}

/** Rules that involve more than one option. */
function crossCheck(config: Config, values: ReadonlyMap<string, Given>, context: ResolveContext): void {
  const at = (key: string): string => values.get(key)?.where ?? 'default';
  const { redirector, tcp4, tcp6 } = config;
  if (redirector.minimum > redirector.maximum) {
    const key = values.has('redirector.minimum') ? 'redirector.minimum' : 'redirector.maximum';
    throw new ConfigError(
      at(key),
      `redirector.minimum = ${redirector.minimum} is above redirector.maximum = ${redirector.maximum}: expected minimum <= maximum`,
    );
  }
  if (redirector.enable && !usesIcapService(redirector.protocol) && !commandRunnable(redirector.program)) {
    const key = values.has('redirector.program') ? 'redirector.program' : 'redirector.enable';
    const raw = values.get('redirector.program')?.raw ?? SCHEMA.redirector.program.default;
    const looked = programCandidates(redirector.program.program, context).join(', ');
    const program = redirector.program.program;
    const problem = isFile(program)
      ? `${program} is not executable (chmod +x it)`
      : `no executable file ${program.startsWith('/') ? `at ${program}` : `found (looked at ${looked})`}`;
    throw new ConfigError(at(key), `redirector.program = ${JSON.stringify(raw)}: ${problem}; redirector.enable is true, so give the path of an executable helper`);
  }
  if (redirector.respmod && !(redirector.enable && usesIcapService(redirector.protocol))) {
    throw new ConfigError(at('redirector.respmod'),
      'redirector.respmod = true needs an ICAP service to send responses to: set redirector.enable = true and redirector.protocol = icap-service://HOST[:PORT]/SERVICE, or redirector.respmod = false');
  }
  const { auth } = config;
  if (auth.enable && !commandRunnable(auth.program)) {
    throw new ConfigError(at(values.has('auth.program') ? 'auth.program' : 'auth.enable'),
      `auth.program = ${JSON.stringify(auth.program.program)}: no executable file there; auth.enable is true, so give the path of a Squid basic auth helper (such as /usr/lib/squid/basic_ncsa_auth FILE)`);
  }
  if (auth.minimum > auth.maximum) {
    throw new ConfigError(at('auth.minimum'), `auth.minimum = ${auth.minimum} is above auth.maximum = ${auth.maximum}: expected minimum <= maximum`);
  }
  const { acl } = config;
  if (acl.enable && !commandRunnable(acl.program)) {
    throw new ConfigError(at(values.has('acl.program') ? 'acl.program' : 'acl.enable'),
      `acl.program = ${JSON.stringify(acl.program.program)}: no executable file there; acl.enable is true, so give the path of a Squid external ACL helper (such as /usr/lib/squid/ext_file_userip_acl -f FILE)`);
  }
  if (acl.minimum > acl.maximum) {
    throw new ConfigError(at('acl.minimum'), `acl.minimum = ${acl.minimum} is above acl.maximum = ${acl.maximum}: expected minimum <= maximum`);
  }
  for (const [family, listener] of [['tcp4', tcp4], ['tcp6', tcp6]] as const) {
    if (!config.web.enable || !listener.listen || listener.port === 0 || listener.port !== config.web.port) continue;
    if (!sameAddress(listener.host, config.web.host)) continue;
    const key = values.has('web.port') ? 'web.port' : `${family}.port`;
    throw new ConfigError(
      at(key),
      `web.port = ${config.web.port} is also ${family}.port: the monitor (web.host ${config.web.host}) and the proxy (${family}.host ${listener.host}) cannot listen on the same port; choose another web.port, or web.enable=false`,
    );
  }
  if (!tcp4.listen && !tcp6.listen) {
    const key = values.has('tcp4.listen') ? 'tcp4.listen' : 'tcp6.listen';
    throw new ConfigError(at(key), 'tcp4.listen and tcp6.listen are both false: the proxy would listen nowhere; set one of them to true');
  }
}

/** Whether two listening addresses collide on one port (the same, or either is a wildcard). */
function sameAddress(a: string, b: string): boolean {
  const wildcard = (h: string): boolean => h === '0.0.0.0' || h === '::';
  return a === b || wildcard(a) || wildcard(b);
}

export function resolveContext(options: Pick<LoadOptions, 'cwd' | 'root' | 'home' | 'env'>): ResolveContext {
  return {
    root: options.root ?? PACKAGE_ROOT,
    cwd: options.cwd,
    home: options.home ?? homedir(),
    path: options.env['PATH'] ?? '',
  };
}

/** The built-in defaults, with ExaProxy-style paths resolved against `options` (default: this process). */
export function defaultConfig(options: Partial<Pick<LoadOptions, 'cwd' | 'root' | 'home' | 'env'>> = {}): Config {
  return build(new Map(), resolveContext({ cwd: process.cwd(), env: process.env, ...options }));
}

/** Loads the configuration; throws ConfigError (message = the line to print) on bad input. */
export function loadConfig(options: LoadOptions): Loaded {
  const args = parseArgs(options.argv);
  const context = resolveContext(options);
  const warnings = [...args.warnings];
  const file = readConfigFile(args.configFile, context.root, context.cwd);
  const values = new Map<string, Given>(file ? fileValues(file.text, file.where) : []);
  for (const [key, given] of environmentValues(options.env, warnings)) values.set(key, given);
  for (const setting of args.settings) values.set(setting.key, { raw: setting.value, where: setting.flag });
  if (args.debug) {
    values.set('log.level', { raw: 'DEBUG', where: '-d' });
    values.set('log.enable', { raw: 'true', where: '-d' });
  }
  const config = build(values, context);
  crossCheck(config, values, context);
  return { config, source: file?.path ?? 'defaults', warnings, defaults: build(new Map(), context) };
}

/** Whether an option holds its default value (compared as printed, so lists and paths compare by content). */
export function isDefault(config: Config, defaults: Config, entry: OptionEntry): boolean {
  return entry.option.format(valueOf(config, entry)) === entry.option.format(valueOf(defaults, entry));
}

/**
 * Warning lines for options this release accepts but does not act on, when they are set to
 * something other than their default (or to a value of an implemented option that is not).
 */
export function notImplementedWarnings(config: Config, defaults: Config = defaultConfig()): string[] {
  const lines: string[] = [];
  for (const entry of OPTIONS) {
    const value = valueOf(config, entry);
    const shown = JSON.stringify(entry.option.format(value));
    const where = sourceOf(config, entry.key);
    const from = where ? ` (${where})` : '';
    if (entry.option.implemented === false && !isDefault(config, defaults, entry)) {
      lines.push(`exaproxy: warning: ${entry.key} = ${shown}${from} is not implemented in this release and is ignored`);
      continue;
    }
    const reason = entry.option.unimplemented?.(value);
    if (reason) lines.push(`exaproxy: warning: ${entry.key} = ${shown}${from}: ${reason}`);
  }
  return lines;
}
