/**
 * daemon.workers=1 without daemon.supervise (the default) is one process: the primary's work
 * (signals, monitor, pidfile, reload) and the data path share it. Started as root it binds
 * below 1024, then runs (and starts its helpers) as nobody; SIGHUP starts a new data path that
 * takes over the same listening socket, so a client loop sees no refused connection; and
 * daemon.supervise=true keeps a primary that replaces a killed worker.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startExaproxy, testArgs } from '../helpers/exaproxy';
import { curl, freePort, startOrigin, until, type Origin } from '../helpers/net';
import { runCli } from '../helpers/run-cli';

const root = process.getuid?.() === 0;
const NOBODY = Number(/^nobody:[^:]*:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1] ?? 65534);
const work = mkdtempSync(join(tmpdir(), 'exaproxy-single-'));
chmodSync(work, 0o755);

let origin: Origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

/** The exaproxy processes among `pid`'s children (helpers are python3, not node). */
function exaproxyChildren(pid: number): number[] {
  return childrenOf(pid).filter((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('exaproxy') && !readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('python'));
}

/** One GET through the proxy on a new connection; resolves with the status (0: refused or failed) and the body. */
function get(port: number, path: string): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: `http://127.0.0.1:${origin.port}${path}`, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
    req.end();
  });
}

/** A port below 1024 nothing listens on now (a test may pick it up front). */
async function freeLowPort(from = 950): Promise<number> {
  for (let port = from; port < 1024; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port between ${from} and 1023`);
}

/** A url-protocol helper (ExaProxy's) that allows everything and writes down who it runs as. */
function allowHelper(): { program: string; uids: string } {
  const program = join(work, 'allow.py');
  const uids = join(work, 'helper-uids.txt');
  writeFileSync(uids, '');
  chmodSync(uids, 0o666);
  writeFileSync(
    program,
    `#!/usr/bin/env python3
import os, sys
with open(${JSON.stringify(uids)}, 'a') as f:
    f.write('%d\\n' % os.getuid())
for line in sys.stdin:
    sys.stdout.write('\\n'); sys.stdout.flush()
`,
  );
  chmodSync(program, 0o755);
  return { program, uids };
}

test('daemon.workers=1 is one process: no worker is forked, and it serves', async () => {
  const proxy = await startExaproxy(testArgs([`--tcp4.port=${await freePort()}`, `--security.local=127.0.0.1:${origin.port}`]));
  try {
    assert.deepEqual(childrenOf(proxy.child.pid!), [], 'no child process');
    // Listening nowhere, without a monitor and before any request (no upstream connection
    // open either), the process must still wait for SIGTTIN.
    proxy.child.kill('SIGTTOU');
    await until(async () => (await get(proxy.port, '/ttou')).status === 0, 'no longer listening');
    proxy.child.kill('SIGTTIN');
    await until(async () => (await get(proxy.port, '/ttin')).status === 200, 'listening again', () => `exit ${proxy.child.exitCode}`);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('started as root: it listens below 1024, then runs as nobody, and so does its helper', { skip: !root }, async () => {
  const low = await freeLowPort();
  const helper = allowHelper();
  const conf = join(work, 'low.conf');
  writeFileSync(conf, `[tcp4]\nport = ${low}\n`, { mode: 0o644 });
  const proxy = await startExaproxy([
    '-c', conf, '--tcp4.host=127.0.0.1', '--web.enable=false', '--daemon.workers=1', '--http.connections=1000', '--log.level=WARNING',
    '--redirector.enable=true', `--redirector.program=${helper.program}`, '--redirector.minimum=1', '--redirector.maximum=1',
    `--security.local=127.0.0.1:${origin.port}`,
  ]);
  try {
    assert.equal(proxy.port, low);
    const r = await get(low, '/low');
    assert.equal(r.status, 200, r.error);
    assert.equal(uidOf(proxy.child.pid!), NOBODY, 'the process runs as nobody');
    assert.deepEqual(exaproxyChildren(proxy.child.pid!), [], 'no worker process');
    const helpers = childrenOf(proxy.child.pid!);
    assert.ok(helpers.length >= 1, 'the helper runs');
    for (const h of helpers) assert.equal(uidOf(h), NOBODY, 'the helper runs as nobody');
    assert.deepEqual(readFileSync(helper.uids, 'utf8').trim().split('\n').map(Number), helpers.map(() => NOBODY), 'each helper was nobody from its start');

    // A reload to another port below 1024 cannot bind it as nobody: refused in one line, the old port serves on.
    const other = await freeLowPort(low + 1);
    writeFileSync(conf, `[tcp4]\nport = ${other}\n`);
    proxy.child.kill('SIGHUP');
    await until(() => proxy.stdout().includes('reload failed'), 'the failed reload', () => proxy.stdout() + proxy.stderr());
    assert.match(proxy.stdout(), new RegExp(`reload failed: exaproxy: tcp4\\.port ${other}: ports below 1024 need root or CAP_NET_BIND_SERVICE`));
    assert.equal((await get(low, '/low-again')).status, 200);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('a start that fails after its sockets were bound ahead ends the process with its one line', { timeout: 30_000 }, async () => {
  // The TLS port is taken: the proxy's socket was bound ahead and taken over, the ICAP one
  // bound ahead for a listener that never comes; neither may keep the process alive.
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const busy = (taken.address() as { port: number }).port;
  try {
    const r = await runCli([
      '-c', '/dev/null', '--tcp4.host=127.0.0.1', `--tcp4.port=${await freePort()}`, '--web.enable=false', '--daemon.workers=1', '--http.connections=1000',
      '--tls.enable=true', '--tls.host=127.0.0.1', `--tls.port=${busy}`, '--icap.enable=true', '--icap.host=127.0.0.1', `--icap.port=${await freePort()}`,
      ...(root ? ['--daemon.user=root'] : []),
    ]);
    assert.equal(r.stderr, `exaproxy: tls.port ${busy}: 127.0.0.1:${busy} is already in use by another program; stop it or choose another tls.port\n`);
    assert.equal(r.status, 1);
  } finally {
    taken.close();
  }
});

test('SIGHUP applies a changed option with no refused connection; a bad configuration or a failed start keeps the old one', { timeout: 90_000 }, async () => {
  const conf = join(work, 'reload.conf');
  writeFileSync(conf, '[daemon]\nidentifier = Before\n');
  const proxy = await startExaproxy(['-c', conf, ...testArgs(['--log.level=INFO', `--security.local=127.0.0.1:${origin.port}`])]);
  try {
    const via = async (): Promise<string> => JSON.parse((await get(proxy.port, '/via')).body).headers.via as string;
    assert.match(await via(), /Before/);

    // Requests one after another, each on a new connection, all through the reload.
    let running = true;
    const results: { status: number; error?: string }[] = [];
    const load = (async () => {
      while (running) results.push(await get(proxy.port, `/load/${results.length}`));
    })();
    await until(() => results.length >= 20, 'requests before the reload');
    writeFileSync(conf, '[daemon]\nidentifier = After\n');
    proxy.child.kill('SIGHUP');
    await until(() => proxy.stdout().includes('reload done'), 'the reload', () => proxy.stdout() + proxy.stderr());
    const atReload = results.length;
    await until(() => results.length >= atReload + 20, 'requests after the reload');
    running = false;
    await load;
    const failed = results.filter((r) => r.status !== 200);
    assert.deepEqual(failed, [], `every request of ${results.length} answered 200`);
    assert.match(await via(), /After/, 'the new identifier is in the Via header');
    assert.deepEqual(childrenOf(proxy.child.pid!), [], 'still one process');
    // The log names each data path by its generation: there is no worker process to name.
    assert.match(proxy.stdout(), /data path \(generation 2\) ready/);
    await until(() => proxy.stdout().includes('data path (generation 1) exited'), 'the old data path gone', () => proxy.stdout());
    assert.doesNotMatch(proxy.stdout(), /worker \d+/, 'no line names a worker');

    // A value the option refuses: the reload is refused, the running data path serves on.
    writeFileSync(conf, '[daemon]\nidentifier = Two Words\n');
    proxy.child.kill('SIGHUP');
    await until(() => proxy.stdout().includes('reload refused'), 'the refused reload', () => proxy.stdout());
    assert.equal((await get(proxy.port, '/after-refused')).status, 200);
    assert.match(await via(), /After/);

    // A new data path that cannot start (its ICAP port is taken) after taking over the proxy's
    // socket: the socket goes back to the running one, which serves on.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as { port: number }).port;
    try {
      writeFileSync(conf, `[daemon]\nidentifier = Failed\n[icap]\nenable = true\nhost = 127.0.0.1\nport = ${takenPort}\n`);
      proxy.child.kill('SIGHUP');
      await until(() => proxy.stdout().includes('reload failed'), 'the failed reload', () => proxy.stdout());
      for (let i = 0; i < 5; i++) assert.equal((await get(proxy.port, `/after-failed/${i}`)).status, 200);
      assert.match(await via(), /After/);
    } finally {
      taken.close();
    }
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test('the monitor reads the data path of its own process; SIGTERM stops cleanly and removes the pidfile', async () => {
  const web = await freePort();
  const pidfile = join(work, 'single.pid');
  const helper = allowHelper();
  // A port of its own: listening again (as a replaced worker) binds the configured port, and 0 would be another one.
  const proxy = await startExaproxy(
    testArgs([
      `--tcp4.port=${await freePort()}`,
      '--web.enable=true', `--web.port=${web}`, '--web.token=secret', `--daemon.pidfile=${pidfile}`,
      '--redirector.enable=true', `--redirector.program=${helper.program}`, '--redirector.minimum=1', '--redirector.maximum=3',
      `--security.local=127.0.0.1:${origin.port}`,
    ]),
  );
  const monitor = `http://127.0.0.1:${web}`;
  const json = async (path: string): Promise<Record<string, unknown>> => JSON.parse((await curl(['-s', `${monitor}${path}`])).stdout);
  try {
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(proxy.child.pid));
    for (let i = 0; i < 3; i++) assert.equal((await get(proxy.port, `/counted/${i}`)).status, 200);
    // Read at once, not a second later: the figures are this process's own.
    const stats = (await json('/json/stats')) as { stats: { counters: { requests: number }; gauges: { processes: number; rss: number } } };
    assert.equal(stats.stats.counters.requests, 3);
    assert.equal(stats.stats.gauges.processes, 1, 'one process, counted once');
    assert.ok(stats.stats.gauges.rss > 0);
    const post = (path: string): Promise<{ stdout: string }> => curl(['-s', '-X', 'POST', '-H', 'Authorization: Bearer secret', `${monitor}${path}`]);
    assert.deepEqual(JSON.parse((await post('/control/pool?minimum=2&maximum=3')).stdout), { ok: true, minimum: 2, maximum: 3 });
    await until(async () => (await json('/json/running'))['processes.forked'] === 2, 'the pool at its new minimum');
    assert.equal(JSON.parse((await post('/control/listen?on=false')).stdout).ok, true);
    assert.equal((await get(proxy.port, '/not-listening')).status, 0, 'refused while not listening');
    assert.equal(JSON.parse((await post('/control/listen?on=true')).stdout).ok, true);
    await until(async () => (await get(proxy.port, '/listening-again')).status === 200, 'listening again');
  } finally {
    assert.equal(await proxy.stop('SIGTERM'), 0);
  }
  assert.equal(existsSync(pidfile), false, 'the pidfile is removed');
});

test('signals act on the data path of the one process: SIGTTOU/SIGTTIN, SIGUSR2/SIGUSR1, SIGTRAP, SIGQUIT drains', { timeout: 60_000 }, async () => {
  // An origin that holds /hold until the test lets it go: a request in progress at SIGQUIT.
  const held: (() => void)[] = [];
  const slow = await startOrigin((req, res) => {
    if (req.url !== '/hold') return false;
    held.push(() => res.end('held'));
    return true;
  });
  const web = await freePort();
  const helper = allowHelper();
  const proxy = await startExaproxy(
    testArgs([
      // WARNING, as testArgs: at INFO the monitor's own "listening on" line would come first.
      `--tcp4.port=${await freePort()}`, '--web.enable=true', `--web.port=${web}`,
      '--redirector.enable=true', `--redirector.program=${helper.program}`, '--redirector.minimum=1', '--redirector.maximum=3',
      `--security.local=127.0.0.1:${origin.port} 127.0.0.1:${slow.port}`,
    ]),
  );
  const running = async (): Promise<Record<string, number>> => JSON.parse((await curl(['-s', `http://127.0.0.1:${web}/json/running`])).stdout);
  try {
    const pid = proxy.child.pid!;
    process.kill(pid, 'SIGTTOU');
    await until(async () => (await get(proxy.port, '/ttou')).status === 0, 'no longer listening');
    process.kill(pid, 'SIGTTIN');
    await until(async () => (await get(proxy.port, '/ttin')).status === 200, 'listening again');
    process.kill(pid, 'SIGUSR2');
    await until(async () => (await running())['processes.min'] === 2, 'SIGUSR2: minimum + 1', () => proxy.stdout());
    process.kill(pid, 'SIGUSR1');
    await until(async () => (await running())['processes.max'] === 2, 'SIGUSR1: maximum - 1', () => proxy.stdout());
    process.kill(pid, 'SIGTRAP');
    await until(() => proxy.stdout().includes('debug logging on'), 'SIGTRAP: debug on', () => proxy.stdout());

    const inProgress = new Promise<{ status: number; body: string }>((resolve) => {
      const req = request({ host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${slow.port}/hold` }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', () => resolve({ status: 0, body: '' }));
      req.end();
    });
    await until(() => held.length === 1, 'the held request at the origin');
    process.kill(pid, 'SIGQUIT');
    await until(async () => (await get(proxy.port, '/after-quit')).status === 0, 'no new connection after SIGQUIT');
    assert.equal(proxy.child.exitCode, null, 'still running: a request is in progress');
    held[0]!();
    assert.deepEqual(await inProgress, { status: 200, body: 'held' });
    await until(() => proxy.child.exitCode !== null, 'the exit once drained');
    assert.equal(proxy.child.exitCode, 0);
  } finally {
    await proxy.stop();
    await slow.close();
  }
});

test('daemon.supervise=true keeps a primary and one worker; a killed worker is replaced', { timeout: 60_000 }, async () => {
  // A port of its own: a replacement worker listens on the configured port, and 0 would be another one.
  const proxy = await startExaproxy(testArgs([`--tcp4.port=${await freePort()}`, '--daemon.supervise=true', '--log.level=INFO', `--security.local=127.0.0.1:${origin.port}`]));
  try {
    const [worker, ...others] = childrenOf(proxy.child.pid!);
    assert.ok(worker, 'a worker process');
    assert.deepEqual(others, []);
    process.kill(worker, 'SIGKILL');
    await until(() => (proxy.stdout().match(/ready \(generation 1\)/g) ?? []).length === 2, 'a replacement worker', () => proxy.stdout());
    assert.equal(childrenOf(proxy.child.pid!).filter((c) => c !== worker).length, 1, 'one new worker');
    let last: Awaited<ReturnType<typeof get>> | undefined;
    await until(async () => (last = await get(proxy.port, '/replaced')).status === 200, 'the replacement to serve', () => JSON.stringify(last) + proxy.stdout());
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
