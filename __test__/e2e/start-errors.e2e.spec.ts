/**
 * Every mistake a user can make on the command line or around it (a bad value for each option
 * of -h, a busy port, a privileged port, a missing or not executable helper) ends the real
 * command with one line on stderr, no stack, nothing listening, and status 1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OPTIONS, type OptionEntry } from '../../src/config/schema';
import { cliCommand, cliSpawnOptions, type CliOptions, type CliResult } from '../helpers/run-cli';

const dir = mkdtempSync(join(tmpdir(), 'exaproxy-start-errors-'));
chmodSync(dir, 0o755);

/** Runs the command; one that is still running after 20 s (it started) is stopped and reported. */
function run(args: string[], options: CliOptions = {}): Promise<CliResult & { started: boolean }> {
  const [command, argv] = cliCommand(args);
  const child = spawn(command, argv, cliSpawnOptions({ cwd: dir, ...options }));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let started = false;
  const timer = setTimeout(() => {
    started = true;
    child.kill('SIGKILL');
  }, 20_000);
  return new Promise((resolve) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, started });
    });
  });
}

/** Flags of a proxy that would start at once: any free port, no monitor, one worker. */
// http.connections within the machine's open-file limit, so that no warning about it is printed.
const BASE = ['-c', '/dev/null', '--tcp4.port=0', '--web.enable=false', '--daemon.workers=1', '--log.level=WARNING', '--http.connections=1000'];

/** The command failed the way a user must see it: one line naming `subject`, status 1, nothing else. */
function assertOneLine(r: CliResult & { started: boolean }, subject: string | RegExp): string {
  assert.equal(r.started, false, `the command started (or hung) instead of refusing: ${r.stdout}${r.stderr}`);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '', 'nothing on stdout (no "listening on", no log line)');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one line on stderr:\n${r.stderr}`);
  const line = lines[0]!;
  assert.match(line, /^exaproxy: /);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:|\{"level"/, 'no stack, no JSON');
  if (typeof subject === 'string') assert.ok(line.includes(subject), `the line names ${subject}: ${line}`);
  else assert.match(line, subject);
  return line;
}

/** A wrong value for each option type (by -h's type name), and for the options checked when the proxy starts. */
function badValue(entry: OptionEntry): string | undefined {
  const byKey: Record<string, string | undefined> = {
    'daemon.identifier': 'two words',
    'daemon.pidfile': '/nonexistent-folder/exaproxy.pid',
    'daemon.user': process.getuid?.() === 0 ? 'nosuchuser' : undefined,
    'web.html': '/nonexistent-folder/html',
    'dns.resolver': '/nonexistent-folder/resolv.conf',
    'log.destination': 'host:',
    'usage.destination': 'host:',
    'redirector.program': '"unclosed quote',
    'auth.program': '"unclosed quote',
    'auth.realm': 'say "hi"',
    'auth.exempt-destinations': 'bad/host',
    'acl.program': '"unclosed quote',
    'acl.format': '%SRC %FOO',
    'parent.proxies': 'proxy.example',
    'parent.domains': 'bad/host',
    'parent.direct': 'bad/host',
  };
  if (entry.key in byKey) return byKey[entry.key];
  const type = entry.option.type;
  if (type === 'boolean') return 'maybe';
  if (type.startsWith('integer')) return 'lots';
  if (type.startsWith('seconds')) return 'soon';
  if (type.includes('|')) return 'neither';
  const byType: Record<string, string> = {
    'IPv4 address': '300.1.2.3',
    'IPv6 address': 'fe80::zz',
    'IP address': 'no.such.address',
    'CIDR list': '10.0.0.1/8',
    'method list': 'GET/1',
    'header name': 'bad:name',
    'header name list': 'bad:name',
    'port list': '443 https',
    'host:port list': 'example.com',
    'file path': '/nonexistent-folder/file',
  };
  return byType[type];
}

/** Options that take any text: no value of theirs is wrong (each says why). */
const ANY_VALUE: Record<string, string> = {
  'web.token': 'any text is a token',
  'profile.destination': 'not implemented: any text is accepted and ignored',
  'dns.definitions': 'not implemented: the path is never read',
  'acl.data': 'any words are external ACL arguments (each is URL-escaped for the helper)',
};

test('each option of -h given a bad value stops the command with one line naming it', async () => {
  const failures: string[] = [];
  const entries = OPTIONS.filter((e) => !(e.key in ANY_VALUE));
  // A few at a time: each run is a real command (and some start a worker before refusing).
  for (let i = 0; i < entries.length; i += 4) {
    await Promise.all(
      entries.slice(i, i + 4).map(async (entry) => {
        const value = badValue(entry);
        if (value === undefined) {
          if (entry.key === 'daemon.user') return; // a bad user is only an error when started as root
          failures.push(`${entry.key}: the test has no bad value for type ${entry.option.type}`);
          return;
        }
        const extra = entry.key === 'redirector.program' ? ['--redirector.enable=true'] : [];
        const r = await run([...BASE, ...extra, `--${entry.key}=${value}`]);
        try {
          assertOneLine(r, entry.key);
        } catch (error) {
          failures.push(`--${entry.key}=${value}: ${(error as Error).message}`);
        }
      }),
    );
  }
  assert.deepEqual(failures, []);
});

test('an unknown option says so without a stray separator', async () => {
  const line = assertOneLine(await run([...BASE, '--bogus']), '--bogus');
  assert.equal(line, 'exaproxy: --bogus: unknown option bogus (exaproxy -h lists every option)');
});

test('web.port equal to tcp4.port is refused when the configuration is loaded', async () => {
  const line = assertOneLine(await run(['-c', '/dev/null', '--tcp4.port=3999', '--web.port=3999', '--daemon.workers=1']), 'web.port');
  assert.match(line, /^exaproxy: --web\.port: web\.port = 3999 is also tcp4\.port: .*cannot listen on the same port; choose another web\.port/);
  // The same port on two different addresses is fine, and so is a port 0 (any free port) for both.
  const loaded = await run(['-c', '/dev/null', '--tcp4.port=0', '--web.port=0', '-i']);
  assert.equal(loaded.status, 0, loaded.stderr);
});

async function busyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

test('a busy tcp4.port: one line, no replacement workers, no "listening on", status 1', async () => {
  const { server, port } = await busyPort();
  try {
    const r = await run(['-c', '/dev/null', `--tcp4.port=${port}`, '--web.enable=false', '--daemon.workers=2', '--http.connections=1000']);
    const line = assertOneLine(r, `tcp4.port ${port}`);
    assert.equal(line, `exaproxy: tcp4.port ${port}: 127.0.0.1:${port} is already in use by another program; stop it or choose another tcp4.port`);
  } finally {
    server.close();
  }
});

test('a busy web.port: one line, no stack', async () => {
  const { server, port } = await busyPort();
  try {
    const r = await run(['-c', '/dev/null', '--tcp4.port=0', `--web.port=${port}`, '--daemon.workers=1', '--http.connections=1000']);
    assertOneLine(r, new RegExp(`^exaproxy: web\\.host/web\\.port: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\); `));
  } finally {
    server.close();
  }
});

test('a port below 1024 started as an ordinary user: one line saying what is needed', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to start the command as nobody');
  // As nobody (uid/gid 65534), in a folder nobody may read; HOME where it cannot write.
  const r = await run([...BASE, '--tcp4.port=1'], { uid: 65534, gid: 65534, env: { HOME: '/nonexistent' } });
  const line = assertOneLine(r, 'tcp4.port 1');
  assert.equal(
    line,
    'exaproxy: tcp4.port 1: ports below 1024 need root or CAP_NET_BIND_SERVICE; start exaproxy as root (it switches to daemon.user once bound) or choose a port above 1023',
  );
});

test('a missing helper program, and one that is not executable, are one line each', async () => {
  const missing = assertOneLine(await run([...BASE, '--redirector.enable', `--redirector.program=${join(dir, 'no-such-helper')}`]), 'redirector.program');
  assert.match(missing, /no executable file at .*no-such-helper; redirector\.enable is true/);
  const helper = join(dir, 'not-executable.sh');
  writeFileSync(helper, '#!/bin/sh\nwhile read l; do echo OK; done\n', { mode: 0o644 });
  const plain = assertOneLine(await run([...BASE, '--redirector.enable', `--redirector.program=${helper}`]), 'redirector.program');
  assert.ok(plain.includes(`${helper} is not executable (chmod +x it)`), plain);
});
