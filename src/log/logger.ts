/**
 * The main log: pino, configured from log.enable, log.level (ExaProxy's level names) and
 * log.destination. One JSON object per line, to stdout, stderr, a file, the local syslog
 * ('' or `syslog`: /dev/log, else UDP localhost:514) or a remote syslog (`host:ADDR[:PORT]`,
 * UDP), the syslog transport being src/log/syslog.ts.
 */
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { ConfigError } from '../config/errors';
import { sourceOf } from '../config/load';
import type { Config } from '../config/schema';
import type { LogDestination } from '../config/log-destination';
import { createSyslogDestination, parseSyslogDestination } from './syslog';

export type { Logger } from 'pino';

/** ExaProxy's (Python logging) level names → pino's. */
export const PINO_LEVEL: Readonly<Record<Config['log']['level'], Level>> = {
  CRITICAL: 'fatal',
  ERROR: 'error',
  WARNING: 'warn',
  INFO: 'info',
  DEBUG: 'debug',
};

/**
 * Opens a log destination. Writes are synchronous: the main log is quiet below DEBUG, and
 * synchronous writes keep it ordered with the command's own stdout/stderr lines and complete
 * when the process exits. `option` names the option for the error if a file cannot be opened.
 */
export function openDestination(destination: LogDestination, config: Config, option: string): DestinationStream {
  switch (destination.kind) {
    case 'stdout':
      return pino.destination({ dest: 1, sync: true });
    case 'file':
      try {
        return pino.destination({ dest: destination.path, sync: true, mkdir: true });
      } catch (error) {
        throw new ConfigError(
          sourceOf(config, option) ?? 'default',
          `${option} = ${JSON.stringify(destination.path)}: cannot open the file for writing (${(error as Error).message}); give a writable path, or stdout or stderr`,
        );
      }
    case 'remote':
      return createSyslogDestination({ kind: 'udp', host: destination.host, port: destination.port }, { tag: config.daemon.identifier });
    case 'syslog':
      // /dev/log when it exists, else UDP to localhost:514, as ExaProxy did.
      return createSyslogDestination(parseSyslogDestination('syslog'), { tag: config.daemon.identifier });
    default:
      return pino.destination({ dest: 2, sync: true });
  }
}

/**
 * The main logger; throws ConfigError when a log file cannot be opened. `tee`, when given,
 * also receives every line (the monitor keeps the recent ones for its dashboard).
 */
export function createLogger(config: Config, tee?: (destination: DestinationStream) => DestinationStream): Logger {
  const level = config.log.enable ? PINO_LEVEL[config.log.level] : 'silent';
  return pino(
    {
      name: config.daemon.identifier,
      level,
      base: { pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
    },
    tee ? tee(openDestination(config.log.destination, config, 'log.destination')) : openDestination(config.log.destination, config, 'log.destination'),
  );
}
