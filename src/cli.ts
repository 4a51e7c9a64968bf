/**
 * The `exaproxy` command: flags, configuration, logging, then the proxy until SIGINT/SIGTERM.
 * Bad input ends the command with exactly one line on stderr and exit status 1.
 */
import cluster from 'node:cluster';
import { parseArgs } from './config/args';
import { ConfigError } from './config/errors';
import { loadConfig, notImplementedWarnings } from './config/load';
import { envText, helpText, iniText } from './config/print';
import { createLogger } from './log/logger';
import { RecentLines } from './monitor/recent';
import { VERSION } from './version';

/** Flags that print something and exit; honoured even when the rest of the command line is wrong. */
function earlyAction(argv: readonly string[]): 'help' | 'version' | undefined {
  const end = argv.indexOf('--');
  for (const arg of end < 0 ? argv : argv.slice(0, end)) {
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '-v' || arg === '--version') return 'version';
  }
  return undefined;
}

function fail(line: string): void {
  process.stderr.write(`${line}\n`);
  process.exitCode = 1;
}

/** Runs the command with `argv` (the arguments after the script name). */
export async function main(argv: string[]): Promise<void> {
  const early = earlyAction(argv);
  if (early === 'help') {
    process.stdout.write(helpText(VERSION));
    return;
  }
  if (early === 'version') {
    process.stdout.write(`exaproxy ${VERSION}\n`);
    return;
  }

  let loaded: ReturnType<typeof loadConfig>;
  let action: ReturnType<typeof parseArgs>['action'];
  try {
    action = parseArgs(argv).action;
    loaded = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
  const { config, defaults, source, warnings } = loaded;
  // Workers (node:cluster) run this command again: the primary has said it all already.
  const primary = cluster.isPrimary;
  if (primary) for (const line of warnings) process.stderr.write(`${line}\n`);

  switch (action) {
    case 'ini':
    case 'diff-ini':
      process.stdout.write(iniText(config, defaults, action === 'diff-ini'));
      return;
    case 'env':
    case 'diff-env':
      process.stdout.write(envText(config, defaults, action === 'diff-env'));
      return;
    default:
      break;
  }

  if (primary) for (const line of notImplementedWarnings(config, defaults)) process.stderr.write(`${line}\n`);
  // The last log lines, for the monitor's dashboard.
  const recent = new RecentLines();
  let log: ReturnType<typeof createLogger>;
  try {
    log = createLogger(config, (destination) => recent.tee(destination));
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }

  // The primary supervises the workers (and the monitor); each worker runs the data path.
  // Loaded only to run: -h, -v and the printing flags must not depend on the data path (or the addon).
  const { run } = await import('./run.js');
  try {
    process.exitCode = await run(config, log, recent, source, argv);
  } catch (error) {
    // A worker that could not start said why on stderr, in one line; so did the supervisor
    // for its own failures (pidfile, limits): nothing more to add but the status.
    log.fatal({ err: error }, 'cannot start');
    process.exitCode = 1;
  }
}
