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
import { preflight } from './supervisor/preflight';
import { StartError } from './supervisor/start-errors';
import { PidfileError } from './supervisor/pidfile';
import { PrivilegeError } from './supervisor/privileges';
import { workerFailed } from './supervisor/fail';
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
  // A worker (node:cluster) hands its line to the primary, which prints it and stops; staying
  // alive on the IPC channel would leave the primary waiting.
  if (cluster.isWorker) {
    void workerFailed(new StartError(line));
    return;
  }
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
  if (primary) {
    // Before the main log is opened (it may create the file) and before anything listens.
    try {
      preflight(config, source);
    } catch (error) {
      if (error instanceof StartError) return fail(error.message);
      throw error;
    }
  }
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
    // What a user can fix (a worker's start failure, the pidfile, the monitor port, the
    // switch to daemon.user) is one line; anything else is a bug and keeps its stack.
    const line = error instanceof StartError || error instanceof PidfileError || error instanceof PrivilegeError ? (error as Error).message : undefined;
    if (line !== undefined) process.stderr.write(`${line.startsWith('exaproxy: ') ? line : `exaproxy: ${line}`}\n`);
    else log.fatal({ err: error }, 'cannot start');
    process.exitCode = 1;
  }
}
