/**
 * The `exaproxy` command: flags, configuration, logging, then the proxy until SIGINT/SIGTERM.
 * Bad input ends the command with exactly one line on stderr and exit status 1.
 */
import { parseArgs } from './config/args';
import { ConfigError } from './config/errors';
import { loadConfig, notImplementedWarnings } from './config/load';
import { envText, helpText, iniText } from './config/print';
import { createLogger } from './log/logger';
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

/** What the command needs of the started proxy (src/proxy/server.ts `startProxy`). */
interface Running {
  readonly address: string;
  readonly port: number;
  /** Every listening address, when the proxy listens on several (tcp4 and tcp6). */
  readonly addresses?: readonly { readonly host: string; readonly port: number }[];
  close(): Promise<void>;
}

/** "127.0.0.1:3128", "[::1]:3128". */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
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
  for (const line of warnings) process.stderr.write(`${line}\n`);

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

  for (const line of notImplementedWarnings(config, defaults)) process.stderr.write(`${line}\n`);
  let log: ReturnType<typeof createLogger>;
  try {
    log = createLogger(config);
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }

  // Signals are handled from before the start, so one arriving while the proxy starts (or
  // just as it prints its address) stops it cleanly instead of killing it mid-way.
  let server: Running | undefined;
  let stopping = false;
  const shutdown = (running: Running): void => {
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.stderr.write(`exaproxy: error while stopping: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal means "now": do not wait for connections that will not close.
      process.stderr.write(`exaproxy: ${signal} again: exiting before every connection is closed\n`);
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    if (server) shutdown(server);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // Loaded only to run: -h, -v and the printing flags must not depend on the data path (or the addon).
    const { startProxy } = await import('./proxy/server.js');
    server = await startProxy(config, log);
  } catch (error) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log.fatal({ err: error }, 'cannot start');
    return fail(`exaproxy: cannot start: ${(error as Error).message}`);
  }
  if (stopping) return shutdown(server);

  // The proxy may listen on several addresses (tcp4 and tcp6); it reports them when it can.
  const reported = server.addresses;
  const addresses = reported?.length ? reported.map((a) => hostPort(a.host, a.port)) : [hostPort(server.address, server.port)];
  process.stdout.write(`exaproxy ${VERSION} listening on ${addresses.join(', ')} (configuration: ${source})\n`);
  log.info({ addresses, configuration: source }, 'listening');
}
