// Syslog as a pino destination (an object with write(line)), for log.destination and
// usage.destination:
//   'syslog' or ''        → the local syslog socket /dev/log (UDP localhost:514 if it is missing),
//   'host:ADDR[:PORT]'    → RFC 3164 lines over UDP (port 514 by default; IPv6 as host:[::1]:514).
// ExaProxy's BUG (host:addr:port parsed wrongly) is fixed here. openLineDestination() also
// opens stdout, stderr and files, so both logs share one way to name where lines go.
//
// Node cannot send to a Unix datagram socket, so the local socket is written by util-linux's
// `logger`, a long-lived child that reads one message per line with its priority as a <PRI>
// prefix. UDP is sent directly: it never blocks and never keeps the process alive; a lost
// datagram is a lost log line, as with ExaProxy's SysLogHandler.
import { createSocket } from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname as osHostname } from 'node:os';
import { isIP } from 'node:net';
import pino from 'pino';

/** Where lines are written; `end()` resolves once everything written has been handed on. */
export interface LineDestination {
  write(line: string): boolean;
  reopen(): void;
  end(): Promise<void>;
}

export type SyslogTarget = { kind: 'local'; path: string } | { kind: 'udp'; host: string; port: number };

export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

const MAX_MESSAGE = 8192;

export interface SyslogOptions {
  /** the syslog TAG (program name), e.g. daemon.identifier */
  tag?: string;
  /** a name of FACILITIES, default daemon */
  facility?: string;
  /** severity of lines that carry no pino level, default 6 (informational) */
  severity?: number;
  /** where delivery problems are reported, default one line on stderr */
  onError?: (message: string) => void;
}

export function isSyslogDestination(value: string): boolean {
  return value === '' || value === 'syslog' || value.toLowerCase().startsWith('host:');
}

export function parseSyslogDestination(value: string, localPath = '/dev/log'): SyslogTarget {
  if (value === '' || value === 'syslog') {
    return existsSync(localPath) ? { kind: 'local', path: localPath } : { kind: 'udp', host: '127.0.0.1', port: 514 };
  }
  if (!value.toLowerCase().startsWith('host:')) throw syntaxError(value);
  const rest = value.slice(5).trim();
  let host: string;
  let port = '514';
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2] ?? port;
  } else if (isIP(rest) === 6) {
    host = rest;
  } else {
    const parts = rest.split(':');
    if (parts.length > 2) throw syntaxError(value);
    host = parts[0]!;
    port = parts[1] ?? port;
  }
  const n = Number(port);
  if (host === '' || !/^\d{1,5}$/.test(port) || n < 1 || n > 65535) throw syntaxError(value);
  return { kind: 'udp', host, port: n };
}

function syntaxError(value: string): Error {
  return new Error(
    `log destination '${value}' is not a syslog destination; use 'syslog' (local /dev/log), 'host:ADDR', 'host:ADDR:PORT' or 'host:[IPv6]:PORT'`,
  );
}

/** pino's numeric level → syslog severity. */
export function severityOf(pinoLevel: number): number {
  if (pinoLevel >= 60) return 2;
  if (pinoLevel >= 50) return 3;
  if (pinoLevel >= 40) return 4;
  if (pinoLevel >= 30) return 6;
  return 7;
}

export function createSyslogDestination(target: SyslogTarget, options: SyslogOptions = {}): LineDestination {
  const tag = (options.tag ?? 'exaproxy').replace(/[^\w.-]/g, '_').slice(0, 32) || 'exaproxy';
  const facilityName = options.facility ?? 'daemon';
  const facility = FACILITIES[facilityName];
  if (facility === undefined) {
    throw new Error(`syslog facility '${facilityName}' is unknown; use one of ${Object.keys(FACILITIES).join(' ')}`);
  }
  const fallbackSeverity = options.severity ?? 6;
  const report = options.onError ?? ((m: string) => void process.stderr.write(`exaproxy: ${m}\n`));
  const priority = (line: string): number => facility * 8 + severityOfLine(line, fallbackSeverity);
  return target.kind === 'local' ? localSyslog(target.path, tag, priority, report) : udpSyslog(target, tag, priority, report);
}

const SEVERITY_BY_LABEL: Readonly<Record<string, number>> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

/** The severity of a pino line, whether its level is a number or a label. */
function severityOfLine(line: string, fallback: number): number {
  const m = /"level":(?:(\d+)|"(\w+)")/.exec(line.slice(0, 200));
  if (m === null) return fallback;
  return m[1] !== undefined ? severityOf(Number(m[1])) : (SEVERITY_BY_LABEL[m[2]!] ?? fallback);
}

function clean(line: string): string {
  // One line is one message: embedded newlines would split it.
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  return (text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) : text).replaceAll('\n', ' ');
}

function localSyslog(path: string, tag: string, priority: (line: string) => number, report: (m: string) => void): LineDestination {
  let child: ChildProcess | undefined;
  let ended = false;
  const start = (): ChildProcess => {
    const c = spawn('logger', ['--socket', path, '--prio-prefix', '--tag', tag, `--id=${process.pid}`, '--socket-errors=on'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let errors = '';
    c.stderr?.on('data', (d: Buffer) => (errors += d.toString()));
    c.on('error', (err) => report(`syslog: cannot run logger to write to ${path}: ${err.message}; install util-linux or use another log destination`));
    c.on('exit', (code) => {
      if (child === c) child = undefined;
      if (!ended && code !== 0) report(`syslog: logger for ${path} stopped (${errors.trim() || `code ${code}`}); it is restarted on the next line`);
    });
    c.stdin?.on('error', () => {});
    return c;
  };
  return {
    write(line) {
      if (ended) return false;
      child ??= start();
      child.stdin?.write(`<${priority(line)}>${clean(line)}\n`);
      return true;
    },
    reopen() {},
    end() {
      ended = true;
      const c = child;
      if (c === undefined) return Promise.resolve();
      return new Promise((resolve) => {
        c.once('exit', () => resolve());
        c.stdin?.end();
      });
    },
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164 TIMESTAMP: `Mmm dd hh:mm:ss`, the day padded with a space, local time. */
export function rfc3164Time(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function udpSyslog(
  target: { host: string; port: number },
  tag: string,
  priority: (line: string) => number,
  report: (m: string) => void,
): LineDestination {
  const socket = createSocket(isIP(target.host) === 6 ? 'udp6' : 'udp4');
  socket.unref();
  // HOSTNAME may not contain spaces; the short name is what RFC 3164 asks for.
  const host = osHostname().split('.')[0] || '-';
  let warned = false;
  const failed = (err: Error): void => {
    if (!warned) report(`syslog: sending to ${target.host}:${target.port} failed: ${err.message}`);
    warned = true;
  };
  socket.on('error', failed);
  let ended = false;
  return {
    write(line) {
      if (ended) return false;
      const message = `<${priority(line)}>${rfc3164Time(new Date())} ${host} ${tag}[${process.pid}]: ${clean(line)}`;
      socket.send(message, target.port, target.host, (err) => err && failed(err));
      return true;
    },
    reopen() {},
    end: () =>
      new Promise<void>((resolve) => {
        ended = true;
        socket.close(() => resolve());
      }),
  };
}

/** Remote syslog as a pino destination stream, for the main logger (src/log/logger.ts). */
export class SyslogStream {
  private readonly inner: LineDestination;
  constructor(address: string, port: number, tag: string) {
    this.inner = createSyslogDestination({ kind: 'udp', host: address, port }, { tag });
  }
  write(line: string): boolean {
    return this.inner.write(line);
  }
  reopen(): void {}
  end(): Promise<void> {
    return this.inner.end();
  }
}

export function openLineDestination(value: string, options: SyslogOptions = {}): LineDestination {
  if (isSyslogDestination(value)) return createSyslogDestination(parseSyslogDestination(value), options);
  if (value === 'stdout' || value === 'stderr') {
    const stream = value === 'stdout' ? process.stdout : process.stderr;
    return { write: (line) => stream.write(line), reopen() {}, end: () => Promise.resolve() };
  }
  // Opened once synchronously first, so that a file this process may not write is an error
  // of the caller's (the worker's start), not an unhandled 'error' event later.
  try {
    mkdirSync(dirname(value), { recursive: true });
    closeSync(openSync(value, 'a'));
  } catch (error) {
    throw new Error(`cannot open ${value} for writing (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  // sonic-boom is pino's own file writer: buffered, async, with reopen().
  const file = pino.destination({ dest: value, sync: false, mkdir: true, append: true });
  // A reopen (after a rotation) that fails must not kill the process: say it once per failure.
  const report = options.onError ?? ((m: string) => void process.stderr.write(`exaproxy: ${m}\n`));
  file.on('error', (err: Error) => report(`${value}: ${err.message}`));
  return {
    write: (line) => file.write(line),
    reopen: () => file.reopen(),
    end: () =>
      new Promise<void>((resolve) => {
        file.once('close', () => resolve());
        file.once('error', () => resolve());
        file.end();
      }),
  };
}
