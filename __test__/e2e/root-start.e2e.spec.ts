/**
 * exaproxy started as root, as `sudo exaproxy …` does: it switches to daemon.user (nobody by
 * default), so every file the configuration names is checked as nobody before anything
 * listens. A file nobody cannot use is one line and status 1; a worker that cannot start is
 * never started again in a loop.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startExaproxy } from '../helpers/exaproxy';
import { curl, startOrigin, until, type Origin } from '../helpers/net';
import { cliCommand, cliSpawnOptions, runCli, type CliResult } from '../helpers/run-cli';

const root = process.getuid?.() === 0;
const NOBODY = Number(/^nobody:[^:]*:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1] ?? 65534);
// A folder nobody may enter (files in it are then what their own mode says).
const dir = mkdtempSync(join(tmpdir(), 'exaproxy-root-start-'));
chmodSync(dir, 0o755);
// Flags of a proxy that would start: any free port, no monitor, one worker, daemon.user left
// at its default (nobody), http.connections within any open-file limit.
const BASE = ['-c', '/dev/null', '--tcp4.port=0', '--web.enable=false', '--daemon.workers=1', '--http.connections=1000'];

let origin: Origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

function path(...parts: string[]): string {
  return join(dir, ...parts);
}

/** The command refused to start: exactly `line` on stderr, nothing on stdout, status 1. */
function assertRefused(r: CliResult, line: string | RegExp): void {
  assert.equal(r.stdout, '', 'nothing listens, no log line');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  if (typeof line === 'string') assert.equal(lines[0], line);
  else assert.match(lines[0]!, line);
  assert.equal(r.status, 1);
}

test('a root-owned usage.destination is refused in one line naming the user, before anything listens', { skip: !root }, async () => {
  const log = path('root-only.log');
  writeFileSync(log, '', { mode: 0o600 });
  const r = await runCli([...BASE, '--usage.enable=true', `--usage.destination=${log}`]);
  assertRefused(r, `exaproxy: usage.destination ${log}: not writable by user nobody (daemon.user); create it owned by nobody or choose another path`);
});

test('a usage.destination in a folder nobody may not write is refused too; so is log.destination', { skip: !root }, async () => {
  mkdirSync(path('root-folder'), { mode: 0o755 });
  const inFolder = path('root-folder', 'access.log');
  assertRefused(
    await runCli([...BASE, '--usage.enable=true', `--usage.destination=${inFolder}`]),
    `exaproxy: usage.destination ${inFolder}: not writable by user nobody (daemon.user): nobody cannot create files in ${path('root-folder')}; create it owned by nobody or choose another path`,
  );
  const main = path('main.log');
  writeFileSync(main, '', { mode: 0o644 });
  assertRefused(
    await runCli([...BASE, `--log.destination=${main}`]),
    `exaproxy: log.destination ${main}: not writable by user nobody (daemon.user); create it owned by nobody or choose another path`,
  );
});

test('log files that do not exist are created owned by daemon.user; "listening on" comes once every worker listens', { skip: !root }, async () => {
  const folder = path('logs');
  mkdirSync(folder, { mode: 0o777 });
  chmodSync(folder, 0o777);
  const access = join(folder, 'new', 'access.log');
  const p = await startExaproxy([...BASE, '--daemon.workers=2', '--usage.enable=true', `--usage.destination=${access}`, `--security.local=127.0.0.1:${origin.port}`]);
  try {
    assert.equal(statSync(access).uid, NOBODY, 'the access log belongs to nobody');
    assert.equal(statSync(join(folder, 'new')).uid, NOBODY, 'so does the folder made for it');
    const r = await curl(['-x', p.url, `http://127.0.0.1:${origin.port}/logged`]);
    assert.equal(r.code, 0, r.stderr);
    await until(() => readFileSync(access, 'utf8').includes('/logged'), 'the access line');
    assert.equal(p.stdout().match(/listening on/g)?.length, 1, p.stdout());
  } finally {
    assert.equal(await p.stop(), 0);
  }
  assert.equal(p.stderr(), '');
});

test('--daemon.user=nosuchuser: one line and the command ends (it used to stay alive as root, listening nowhere)', { skip: !root }, async () => {
  const r = await runCli([...BASE, '--daemon.user=nosuchuser']);
  assertRefused(r, /^exaproxy: daemon\.user nosuchuser: no such user on this system; create it /);
});

test('a helper daemon.user cannot reach (under a root-only folder) is refused at start, naming the folder', { skip: !root }, async () => {
  const secret = path('secret');
  mkdirSync(secret, { mode: 0o700 });
  const helper = join(secret, 'helper.sh');
  writeFileSync(helper, '#!/bin/sh\nwhile read l; do echo; done\n', { mode: 0o755 });
  assertRefused(
    await runCli([...BASE, '--redirector.enable', `--redirector.program=${helper}`]),
    `exaproxy: redirector.program ${helper}: not executable by user nobody (daemon.user): ${secret} is not searchable by nobody; install the helper where nobody can run it (mode and every folder above it), or choose another redirector.program`,
  );
});

test('web.html pages and the configuration file are checked as daemon.user', { skip: !root }, async () => {
  const html = path('html');
  mkdirSync(html, { mode: 0o755 });
  writeFileSync(join(html, 'deny.html'), '<p>no</p>', { mode: 0o600 });
  assertRefused(
    await runCli([...BASE, `--web.html=${html}`]),
    `exaproxy: web.html ${join(html, 'deny.html')}: not readable by user nobody (daemon.user); make it readable by nobody or choose another web.html`,
  );
  const conf = path('root-only.conf');
  writeFileSync(conf, '[web]\nenable = false\n', { mode: 0o600 });
  assertRefused(
    await runCli(['-c', conf, ...BASE.slice(2)]),
    `exaproxy: configuration file ${conf}: not readable by user nobody (daemon.user); it is read again on reload and when a worker restarts; make it readable by nobody or choose another daemon.user`,
  );
});

test('the pidfile is removed at a clean exit, even in a sticky folder; one in a folder nobody cannot write is refused', { skip: !root }, async () => {
  const sticky = path('run');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const pidfile = join(sticky, 'exaproxy.pid');
  const p = await startExaproxy([...BASE, `--daemon.pidfile=${pidfile}`]);
  assert.equal(readFileSync(pidfile, 'utf8'), `${p.child.pid}\n`);
  assert.equal(await p.stop(), 0);
  assert.equal(existsSync(pidfile), false, `the pidfile is left behind: ${p.stdout()}${p.stderr()}`);

  const closed = path('closed');
  mkdirSync(closed, { mode: 0o755 });
  assertRefused(
    await runCli([...BASE, `--daemon.pidfile=${join(closed, 'exaproxy.pid')}`]),
    `exaproxy: daemon.pidfile ${join(closed, 'exaproxy.pid')}: its folder ${closed} is not writable by user nobody (daemon.user), who removes the file at exit; use a folder owned by nobody (e.g. /run/exaproxy) or choose another path`,
  );
});

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('a replacement worker that cannot start stops the proxy with its own line, and is not started again', { skip: !root }, async () => {
  const conf = path('readable.conf');
  writeFileSync(conf, '[web]\nenable = false\n', { mode: 0o644 });
  // A primary that replaces its worker: daemon.supervise (one process has no replacement to start).
  const [command, argv] = cliCommand(['-c', conf, ...BASE.slice(2), '--daemon.supervise=true', '--log.level=WARNING']);
  const child = spawn(command, argv, cliSpawnOptions({}));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await until(() => stdout.includes('listening on'), 'the proxy to listen', () => stdout + stderr);
    // The primary now runs as nobody: the worker it starts next cannot read the file any more.
    chmodSync(conf, 0o600);
    const [worker] = childrenOf(child.pid!);
    assert.ok(worker, 'the worker process');
    process.kill(worker, 'SIGKILL');
    const code = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 20_000))]);
    assert.equal(code, 1, `the proxy stops with status 1:\n${stdout}\n${stderr}`);
    assert.equal(stderr, `exaproxy: -c ${conf}: cannot read the configuration file: permission denied (check the file's owner and mode)\n`);
    assert.equal(stdout.match(/starting a replacement/g)?.length, 1, `one replacement only (for the killed worker):\n${stdout}`);
  } finally {
    child.kill('SIGKILL');
  }
});

test('a reload whose configuration names a file daemon.user cannot write is refused, and the proxy keeps serving', { skip: !root }, async () => {
  const conf = path('reloaded.conf');
  writeFileSync(conf, '[web]\nenable = false\n', { mode: 0o644 });
  const p = await startExaproxy(['-c', conf, ...BASE.slice(2), '--log.level=WARNING', `--security.local=127.0.0.1:${origin.port}`]);
  try {
    const log = path('reload-root-only.log');
    writeFileSync(log, '', { mode: 0o600 });
    writeFileSync(conf, `[web]\nenable = false\n[usage]\nenable = true\ndestination = ${log}\n`);
    p.child.kill('SIGHUP');
    await until(() => p.stdout().includes('reload refused'), 'the reload to be refused', () => p.stdout() + p.stderr());
    assert.ok(
      p.stdout().includes(`exaproxy: usage.destination ${log}: not writable by user nobody (daemon.user); create it owned by nobody or choose another path`),
      p.stdout(),
    );
    const r = await curl(['-x', p.url, `http://127.0.0.1:${origin.port}/still`]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    assert.equal(await p.stop(), 0);
  }
});

test('a pidfile that cannot be removed at exit is said at the default log level', { skip: !root }, async () => {
  const folder = path('run-closing');
  mkdirSync(folder);
  chmodSync(folder, 0o1777);
  const pidfile = join(folder, 'exaproxy.pid');
  // The default log.level (ERROR): what the operator sees without asking for more.
  const p = await startExaproxy(['-c', '/dev/null', '--tcp4.port=0', '--web.enable=false', '--daemon.workers=1', '--http.connections=1000', `--daemon.pidfile=${pidfile}`]);
  // The folder closes while it runs: nobody can no longer remove the file.
  chmodSync(folder, 0o755);
  assert.equal(await p.stop(), 0);
  assert.equal(existsSync(pidfile), true);
  assert.match(p.stdout(), new RegExp(`"level":"error".*daemon\\.pidfile: could not remove ${pidfile.replaceAll('.', '\\.')}; remove it by hand`));
});

test('an installed exaproxy only root can read (npx keeps it under /root) starts, and serves as nobody (one process, or a worker with daemon.supervise)', { skip: !root, timeout: 60_000 }, async () => {
  for (const supervise of [false, true]) await installedOnlyRootCanRead(supervise);
});

async function installedOnlyRootCanRead(supervise: boolean): Promise<void> {
  // The package as npm lays it out, in a folder nobody may not enter; its dependencies stay
  // where they are (a link), as only exaproxy's own files are the point.
  const pkg = mkdtempSync(join(tmpdir(), 'exaproxy-private-'));
  for (const name of ['bin', 'dist', 'etc', 'binding.js', 'package.json', ...readdirSync(ROOT).filter((n) => n.endsWith('.node'))]) {
    cpSync(join(ROOT, name), join(pkg, name), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  assert.equal(statSync(pkg).mode & 0o777, 0o700);
  const child = spawn(process.execPath, [join(pkg, 'bin', 'exaproxy.js'), ...BASE, `--daemon.supervise=${supervise}`, `--security.local=127.0.0.1:${origin.port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  try {
    await until(() => /listening on [^\n]*?:\d+/.test(out) || child.exitCode !== null, 'listening or an exit');
    const port = /listening on [^\n]*?:(\d+)/.exec(out)?.[1];
    assert.ok(port, `it did not start:\n${out}`);
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/private`]);
    assert.equal(r.code, 0, `${r.stderr}\n${out}`);
    const workers = childrenOf(child.pid!);
    assert.equal(workers.length, supervise ? 1 : 0, supervise ? 'a worker runs' : 'one process');
    for (const w of supervise ? workers : [child.pid!]) assert.match(readFileSync(`/proc/${w}/status`, 'utf8'), new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'), 'the data path runs as nobody');
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
    rmSync(pkg, { recursive: true, force: true });
  }
}
