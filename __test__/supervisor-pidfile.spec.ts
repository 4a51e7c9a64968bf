// daemon.pidfile and the open-file limit, on the real filesystem and real processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writePidfile, removePidfile, PidfileError } from '../src/supervisor/pidfile';
import { checkFileLimit, connectionBudget, readFileLimit } from '../src/supervisor/limits';
import { lookupUser } from '../src/supervisor/privileges';

const root = resolve(__dirname, '..');

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'exaproxy-pid-'));
}

test('a missing pidfile is created, and removed at the end', () => {
  const dir = scratch();
  const path = join(dir, 'exaproxy.pid');
  writePidfile(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
  assert.equal(removePidfile(path), true);
  assert.ok(!existsSync(path));
  rmSync(dir, { recursive: true });
});

test('a stale pidfile (dead process, or garbage) is replaced', async () => {
  const dir = scratch();
  const path = join(dir, 'exaproxy.pid');
  const child = spawn(process.execPath, ['-e', '']);
  const dead = child.pid as number;
  await new Promise((r) => child.on('exit', r));
  writeFileSync(path, `${dead}\n`);
  writePidfile(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
  writeFileSync(path, 'not a pid');
  writePidfile(path);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
  rmSync(dir, { recursive: true });
});

test('a pidfile held by a live process is refused and left alone', () => {
  const dir = scratch();
  const path = join(dir, 'exaproxy.pid');
  writeFileSync(path, '1\n');
  assert.throws(() => writePidfile(path), (err: Error) => err instanceof PidfileError && /belongs to process 1, which is running; stop it first/.test(err.message));
  assert.equal(readFileSync(path, 'utf8'), '1\n');
  assert.equal(removePidfile(path), false, 'not ours: not removed');
  assert.ok(existsSync(path));
  rmSync(dir, { recursive: true });
});

test('an impossible pidfile path names the option and what to do', () => {
  assert.throws(() => writePidfile('/nonexistent-dir-exaproxy/x.pid'), /daemon\.pidfile: cannot create \/nonexistent-dir-exaproxy\/x\.pid \(ENOENT\); check that its folder exists/);
});

test('the open-file limit is read from /proc and compared with each worker\'s share of http.connections', () => {
  const limit = readFileLimit();
  assert.ok(limit && limit.soft > 0 && limit.hard >= limit.soft);
  // Two descriptors per served client, one per waiting one (the backlog) and per refused one
  // reading its 503 (as many), 64 for the process.
  assert.deepEqual(connectionBudget(100, 1, 200, Infinity), { perWorker: 100, queue: 200, needed: 664, fileLimited: false });
  assert.deepEqual(connectionBudget(500, 2, 200, Infinity), { perWorker: 250, queue: 200, needed: 964, fileLimited: false });
  assert.deepEqual(connectionBudget(32768, 1, 200, 1024), { perWorker: 288, queue: 192, needed: 66000, fileLimited: true });
  assert.equal(checkFileLimit(10, 1, 200).budget.fileLimited, false);
  const huge = checkFileLimit(1e9, 1, 200);
  assert.equal(huge.budget.fileLimited, true);
  assert.match(huge.message ?? '', /^exaproxy: http\.connections=1000000000 needs 2000000464 open files per worker but the limit \(RLIMIT_NOFILE\) is \d+, so it serves at most \d+ connections at once; raise it \(ulimit -n 2000000464/);
});

test('a process whose limit is too low for http.connections is told how many it serves and what to do', () => {
  const script = `const { checkFileLimit } = require(${JSON.stringify(join(root, 'src/supervisor/limits.ts'))}); console.log(JSON.stringify(checkFileLimit(3000, Number(process.argv[1] ?? 1), 200)));`;
  const r = spawnSync('prlimit', ['--nofile=256:4096', process.execPath, '--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const check = JSON.parse(r.stdout);
  assert.equal(check.budget.fileLimited, true);
  assert.equal(check.budget.perWorker, 1816);
  // Node raises the soft limit to the hard one at startup, so 4096 is what counts.
  assert.match(check.message, /^exaproxy: http\.connections=3000 needs 6464 open files per worker but the limit \(RLIMIT_NOFILE\) is 4096, so it serves at most 1816 connections at once; raise it \(ulimit -n 6464, or LimitNOFILE=6464 in the systemd unit\) or lower http\.connections$/);
  // Two workers have half the share each, and each its own limit.
  const two = spawnSync('prlimit', ['--nofile=256:4096', process.execPath, '--import', 'tsx', '-e', script, '2'], { cwd: root, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(two.stdout).budget, { perWorker: 1500, queue: 200, needed: 3464, fileLimited: false });
  const fits = spawnSync('prlimit', ['--nofile=256:4096', process.execPath, '--import', 'tsx', '-e', script.replace('3000', '1800')], { cwd: root, encoding: 'utf8' });
  assert.equal(JSON.parse(fits.stdout).budget.fileLimited, false);
});

test('users are looked up in passwd', () => {
  const nobody = lookupUser('nobody');
  assert.ok(nobody && nobody.uid > 0 && nobody.gid > 0);
  assert.equal(lookupUser('no-such-user-exaproxy'), undefined);
});
