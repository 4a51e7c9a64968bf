// The syslog destination: RFC 3164 over real UDP, and the local datagram socket through logger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseSyslogDestination, createSyslogDestination, isSyslogDestination } from '../src/log/syslog';
import { formatAccess } from '../src/log/access';
import { Outcome } from '../src/log/outcome';

// RFC 3164 §4.1: <PRI>TIMESTAMP HOSTNAME TAG[pid]: CONTENT, TIMESTAMP = "Mmm dd hh:mm:ss" (day space-padded).
const RFC3164 = /^<(\d{1,3})>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ 1-3]\d) (\d\d:\d\d:\d\d) (\S+) ([\w.-]{1,32})\[(\d+)\]: (.*)$/;

test('destinations: host:ADDR[:PORT] (ExaProxy bug fixed), IPv6, local socket, errors', () => {
  assert.deepEqual(parseSyslogDestination('host:127.0.0.1'), { kind: 'udp', host: '127.0.0.1', port: 514 });
  assert.deepEqual(parseSyslogDestination('host:127.0.0.1:5514'), { kind: 'udp', host: '127.0.0.1', port: 5514 });
  assert.deepEqual(parseSyslogDestination('HOST:logs.example:601'), { kind: 'udp', host: 'logs.example', port: 601 });
  assert.deepEqual(parseSyslogDestination('host:[::1]:5514'), { kind: 'udp', host: '::1', port: 5514 });
  assert.deepEqual(parseSyslogDestination('host:2001:db8::1'), { kind: 'udp', host: '2001:db8::1', port: 514 });
  assert.deepEqual(parseSyslogDestination('syslog', '/nonexistent/log'), { kind: 'udp', host: '127.0.0.1', port: 514 }, 'no /dev/log: UDP localhost like ExaProxy');
  assert.deepEqual(parseSyslogDestination('', '/dev/null'), { kind: 'local', path: '/dev/null' });
  for (const bad of ['host:', 'host:a:b:c', 'host:x:99999', 'host:x:0', 'host:x:port', 'stdout']) {
    assert.throws(() => parseSyslogDestination(bad), /is not a syslog destination; use 'syslog' \(local \/dev\/log\), 'host:ADDR', 'host:ADDR:PORT'/, bad);
  }
  assert.ok(isSyslogDestination('host:1.2.3.4'));
  assert.ok(isSyslogDestination('syslog'));
  assert.ok(!isSyslogDestination('/var/log/exaproxy.log'));
  assert.throws(() => createSyslogDestination({ kind: 'udp', host: '127.0.0.1', port: 514 }, { facility: 'nope' }), /facility 'nope' is unknown; use one of kern user/);
});

test('pino and access lines reach a UDP syslog server as RFC 3164 messages with the right priority', async () => {
  const server = createSocket('udp4');
  const received: string[] = [];
  server.on('message', (m) => received.push(m.toString()));
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const { port } = server.address();
  const dest = createSyslogDestination(parseSyslogDestination(`host:127.0.0.1:${port}`), { tag: 'ExaProxy', facility: 'local3' });
  const log = pino({ base: undefined }, dest);
  log.warn('careful');
  log.error('broken');
  dest.write(`${formatAccess('squid', { time: Date.now(), clientIp: '127.0.0.1', clientPort: 1, acceptPort: 3128, method: 'GET', url: 'http://a/', status: 200, bytes: 5, durationMs: 1, outcome: Outcome.Permit, detail: 'a', upstream: '-' }, 'ExaProxy')}\n`);
  for (let i = 0; i < 100 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
  await dest.end();
  server.close();
  assert.equal(received.length, 3);
  const parsed = received.map((line) => RFC3164.exec(line));
  parsed.forEach((m, i) => assert.ok(m, received[i]));
  const [warn, error, access] = parsed as RegExpExecArray[];
  assert.equal(Number(warn[1]), 19 * 8 + 4, 'local3.warning');
  assert.equal(Number(error[1]), 19 * 8 + 3, 'local3.err');
  assert.equal(Number(access[1]), 19 * 8 + 6, 'local3.info for plain lines');
  assert.equal(warn[6], 'ExaProxy');
  assert.equal(Number(warn[7]), process.pid);
  assert.equal(JSON.parse(warn[8]).msg, 'careful');
  assert.match(access[8], /^\d+\.\d{3} +1 127\.0\.0\.1 TCP_MISS\/200 5 GET http:\/\/a\/ /);
});

test('the local syslog socket (a Unix datagram socket like /dev/log) receives each line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'exaproxy-syslog-'));
  const path = join(dir, 'log');
  // A tiny syslog daemon: Node cannot bind Unix datagram sockets, Python can.
  const daemon = spawn('python3', ['-u', '-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
for _ in range(2):
    print(s.recv(65536).decode(), flush=True)
`, path]);
  let out = '';
  daemon.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(existsSync(path), 'socket bound');
  const dest = createSyslogDestination(parseSyslogDestination('syslog', path), { tag: 'exaproxy-test', facility: 'daemon' });
  const log = pino({ base: undefined }, dest);
  log.info('hello local syslog');
  log.error('second line');
  await new Promise<void>((r) => daemon.on('exit', () => r()));
  await dest.end();
  rmSync(dir, { recursive: true, force: true });
  const lines = out.split('\n').filter((l) => l.startsWith('<'));
  assert.equal(lines.length, 2, out);
  // logger's local format: <PRI>TIMESTAMP TAG[pid]: MESSAGE (the hostname is left to the daemon).
  assert.match(lines[0], new RegExp(`^<30>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d (\\S+ )?exaproxy-test\\[${process.pid}\\]: \\{"level":30,.*"msg":"hello local syslog"\\}$`));
  assert.match(lines[1], /^<27>.*"msg":"second line"/);
});

test('SyslogStream (used by the main logger) sends pino lines with level labels at their severity', async () => {
  const { SyslogStream } = await import('../src/log/syslog.js');
  const server = createSocket('udp4');
  const received: string[] = [];
  server.on('message', (m) => received.push(m.toString()));
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const stream = new SyslogStream('127.0.0.1', server.address().port, 'ExaProxy');
  stream.write('{"level":"warn","msg":"labelled"}\n');
  stream.write('{"level":50,"msg":"numbered"}\n');
  for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  await stream.end();
  server.close();
  const pris = received.map((l) => Number(RFC3164.exec(l)?.[1])).sort();
  assert.deepEqual(pris, [3 * 8 + 3, 3 * 8 + 4], 'daemon.err and daemon.warning');
});
