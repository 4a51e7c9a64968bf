/**
 * The `exaproxy` command line: ExaProxy's flags (-h -v -c -i -e -di -de -d, and -p -m accepted
 * and ignored) plus `--section.option=value` (or `--section.option value`) for any option.
 */
import { ConfigError } from './errors';
import { ALIASES, OPTION_BY_KEY } from './schema';
import { closest } from './suggest';

/** What the command was asked to do. */
export type Action = 'run' | 'help' | 'version' | 'ini' | 'env' | 'diff-ini' | 'diff-env';

/** One `--section.option=value` flag. */
export interface FlagSetting {
  /** Canonical "section.option" (aliases already mapped). */
  readonly key: string;
  readonly value: string;
  /** The flag as typed, for error messages: "--http.connections". */
  readonly flag: string;
}

export interface ParsedArgs {
  readonly action: Action;
  /** `-c FILE`, if given. */
  readonly configFile: string | undefined;
  /** Option flags in the order given (a later one wins). */
  readonly settings: readonly FlagSetting[];
  /** `-d`: log everything at DEBUG. */
  readonly debug: boolean;
  /** Lines to print on stderr about flags accepted but ignored. */
  readonly warnings: readonly string[];
}

/** Flags that only print something; the first one given wins. */
const ACTIONS: Readonly<Record<string, Action>> = {
  '-h': 'help',
  '--help': 'help',
  '-v': 'version',
  '--version': 'version',
  '-i': 'ini',
  '-fi': 'ini',
  '--ini': 'ini',
  '-e': 'env',
  '-fe': 'env',
  '--env': 'env',
  '-di': 'diff-ini',
  '--diff-ini': 'diff-ini',
  '-de': 'diff-env',
  '--diff-env': 'diff-env',
};

/** ExaProxy flags for the Python debugger and memory dump: meaningless here, accepted so scripts keep working. */
const IGNORED: Readonly<Record<string, string>> = {
  '-p': 'the Python debugger',
  '--pdb': 'the Python debugger',
  '-m': 'the Python memory dump',
  '--memory': 'the Python memory dump',
};

/** The flags -h lists, one per line. */
export const FLAG_HELP: readonly string[] = [
  '  -h, --help             this help',
  '  -v, --version          print the version and exit',
  '  -c, --conf-file FILE   configuration file (INI format)',
  '  -i, -fi, --ini         print the configuration in INI format and exit',
  '  -e, -fe, --env         print the configuration as environment variables and exit',
  ' -di, --diff-ini         print only the non-default values, INI format',
  ' -de, --diff-env         print only the non-default values, environment format',
  '  -d, --debug            log everything at DEBUG level (log.level=DEBUG)',
  '  --section.option=VALUE set any option below (also: --section.option VALUE)',
  '  --                     end of flags',
];

/** Maps a flag's option name (without "--", maybe "exaproxy."-prefixed) to its canonical key. */
function optionKey(name: string, flag: string): string {
  const key = name.toLowerCase().replace(/^exaproxy\./, '');
  const canonical = ALIASES[key] ?? key;
  if (OPTION_BY_KEY.has(canonical)) return canonical;
  const suggestion = closest(key, [...OPTION_BY_KEY.keys(), ...Object.keys(ALIASES)]);
  const hint = suggestion ? `; did you mean --${suggestion}?` : '';
  throw new ConfigError(flag, `unknown option ${key}${hint} (exaproxy -h lists every option)`);
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  let action: Action = 'run';
  let configFile: string | undefined;
  let debug = false;
  const settings: FlagSetting[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      const rest = argv[i + 1];
      if (rest !== undefined) throw new ConfigError(rest, 'unexpected argument: exaproxy takes no file names or operands, only flags (exaproxy -h lists them)');
      break;
    }
    const actionFlag = ACTIONS[arg];
    if (actionFlag) {
      if (action === 'run') action = actionFlag;
      continue;
    }
    if (arg === '-d' || arg === '--debug') {
      debug = true;
      continue;
    }
    if (IGNORED[arg]) {
      warnings.push(`exaproxy: warning: ${arg} (${IGNORED[arg]} in ExaProxy) does nothing in this program; it is ignored`);
      continue;
    }
    if (arg === '-c' || arg === '--conf-file' || arg.startsWith('--conf-file=')) {
      const value = arg.startsWith('--conf-file=') ? arg.slice('--conf-file='.length) : argv[++i];
      if (value === undefined || value === '') throw new ConfigError(arg, 'needs a file name, e.g. exaproxy -c /etc/exaproxy/exaproxy.conf');
      configFile = value;
      continue;
    }
    if (arg.startsWith('--') && arg.length > 2) {
      const equals = arg.indexOf('=');
      const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
      const flag = `--${name}`;
      const key = optionKey(name, flag);
      let value: string;
      if (equals >= 0) {
        value = arg.slice(equals + 1);
      } else {
        const next = argv[i + 1];
        const isBool = OPTION_BY_KEY.get(key)!.option.type === 'boolean';
        if (isBool && (next === undefined || next.startsWith('-'))) {
          value = 'true'; // `--http.transparent` alone turns a boolean on.
        } else if (next === undefined) {
          throw new ConfigError(flag, `needs a value: --${key}=VALUE (exaproxy -h shows what ${key} accepts)`);
        } else {
          value = next;
          i++;
        }
      }
      settings.push({ key, value, flag });
      continue;
    }
    if (arg.startsWith('-')) throw new ConfigError(arg, 'unknown flag (exaproxy -h lists the flags)');
    throw new ConfigError(arg, 'unexpected argument: exaproxy takes no file names or operands; use -c FILE for a configuration file');
  }
  return { action, configFile, settings, debug, warnings };
}
