/**
 * The main logger built from log.enable, log.level and log.destination.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config';
import { createLogger } from '../src/log/logger';

const dir = mkdtempSync(join(tmpdir(), 'exaproxy-log-'));

function logTo(name: string, ...flags: string[]) {
  const path = join(dir, name);
  const { config } = loadConfig({ argv: ['-c', '/dev/null', `--log.destination=${path}`, ...flags], env: {}, cwd: dir });
  return { path, log: createLogger(config) };
}

function records(path: string): { level: string; msg: string; name: string; pid: number }[] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { level: string; msg: string; name: string; pid: number });
}

test('ExaProxy level names select what is written (WARNING keeps warn and above)', () => {
  const { path, log } = logTo('warning.log', '--log.level=WARNING', '--daemon.identifier=edge-1');
  log.debug('debug line');
  log.info('info line');
  log.warn('warn line');
  log.error('error line');
  log.fatal('fatal line');
  const lines = records(path);
  assert.deepEqual(lines.map((r) => [r.level, r.msg]), [['warn', 'warn line'], ['error', 'error line'], ['fatal', 'fatal line']]);
  assert.equal(lines[0]!.name, 'edge-1');
  assert.equal(lines[0]!.pid, process.pid);
});

test('CRITICAL keeps only fatal; DEBUG keeps debug', () => {
  const critical = logTo('critical.log', '--log.level=CRITICAL');
  critical.log.error('not this');
  critical.log.fatal('this');
  assert.deepEqual(records(critical.path).map((r) => r.msg), ['this']);
  const debug = logTo('debug.log', '-d');
  debug.log.debug('now visible');
  assert.deepEqual(records(debug.path).map((r) => r.msg), ['now visible']);
});

test('log.enable=false writes nothing', () => {
  const { path, log } = logTo('disabled.log', '--log.enable=false', '--log.level=DEBUG');
  log.fatal('nothing');
  assert.equal(readFileSync(path, 'utf8'), '');
});

test('a log file that cannot be created is a one-line configuration error', () => {
  // A regular file where a folder is needed: neither the folder nor the log can be created.
  const blocker = join(dir, 'not-a-folder');
  writeFileSync(blocker, '');
  const target = join(blocker, 'x.log');
  const { config } = loadConfig({ argv: ['-c', '/dev/null', `--log.destination=${target}`], env: {}, cwd: dir });
  assert.throws(
    () => createLogger(config),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message.startsWith(`exaproxy: --log.destination: log.destination = "${target}": cannot open the file for writing (`) &&
      error.message.endsWith('); give a writable path, or stdout or stderr') &&
      !error.message.includes('\n'),
  );
});

test('host:ADDR:PORT sends each line to a syslog server over UDP, facility daemon, severity from the level', async () => {
  const server = createSocket('udp4');
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = server.address().port;
    const { config } = loadConfig({ argv: ['-c', '/dev/null', `--log.destination=host:127.0.0.1:${port}`, '--daemon.identifier=edge-2'], env: {}, cwd: dir });
    const received = once(server, 'message');
    createLogger(config).error('upstream is down');
    const [datagram] = (await received) as [Buffer];
    // daemon (3) * 8 + error (3) = 27
    assert.match(datagram.toString(), new RegExp(`^<27>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ edge-2\\[${process.pid}\\]: \\{"level":"error",.*"msg":"upstream is down"\\}$`));
  } finally {
    server.close();
  }
});
