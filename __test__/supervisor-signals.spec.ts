// The supervisor with a tiny real worker script: real processes, real signals, real sockets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WORKER_MALLOC_TUNABLES } from '../src/supervisor/allocator';

const root = resolve(__dirname, '..');
let dir: string;

// The worker: an HTTP server that says who answered, with a Stats and a stand-in helper pool.
const SCRIPT = `
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSupervisor } from ${JSON.stringify(join(root, 'src/supervisor/index.ts'))};
import { Stats } from ${JSON.stringify(join(root, 'src/monitor/stats.ts'))};
import { RecentLines } from ${JSON.stringify(join(root, 'src/monitor/recent.ts'))};

const role = require('node:cluster').isPrimary ? 'primary' : 'worker';
const recent = new RecentLines();
const line = (level: string) => (msg: string) => {
  const text = role + ' ' + process.pid + ' ' + level + ' ' + msg;
  recent.push(text);
  process.stdout.write(text + '\\n');
};
const log = { info: line('INFO'), warn: line('WARN'), error: line('ERROR'), debug: line('DEBUG') };
const port = Number(process.env.PROXY_PORT);

async function startWorker() {
  const stats = new Stats();
  // Stands for a helper process started with the data path; it ends when its worker is gone.
  const helper = require('node:child_process').spawn('sh', ['-c', 'while kill -0 $PPID 2>/dev/null; do sleep 0.2; done'], { stdio: 'ignore' });
  let debug = false;
  const limits = { minimum: 2, maximum: 5 };
  const server = createServer((req, res) => {
    stats.clientOpened(req.socket.remoteAddress ?? '?');
    stats.requestStarted(1);
    const answer = () => {
      const body = JSON.stringify({ pid: process.pid, debug, limits, generation: process.env.EXAPROXY_WORKER_GENERATION, uid: process.getuid!(), helper: helper.pid, tunables: process.env.GLIBC_TUNABLES ?? null }) + '\\n';
      stats.responseSent(200);
      stats.bytesToClient(body.length);
      res.setHeader('connection', 'close');
      res.end(body);
      stats.clientClosed(req.socket.remoteAddress ?? '?');
    };
    // /?hold=NAME answers once the test creates the file NAME: a request kept in progress for as long as the test needs.
    const hold = /hold=(\\w+)/.exec(req.url ?? '');
    if (hold) {
      const timer = setInterval(() => {
        if (!existsSync(join(process.env.HOLD_DIR!, hold[1]))) return;
        clearInterval(timer);
        answer();
      }, 20);
      req.socket.on('close', () => clearInterval(timer));
    } else answer();
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen();
  return {
    stats,
    recent,
    pool: {
      stats: () => ({ size: limits.minimum, busy: 0, queue: 0, timeouts: 0, crashes: 0, requests: 0, cacheHits: 0, cacheMisses: 0, ...limits }),
      resize: (minimum: number, maximum: number) => { limits.minimum = minimum; limits.maximum = maximum; },
    },
    listen: async (on: boolean) => {
      if (on && !server.listening) await listen();
      if (!on && server.listening) server.close();
    },
    debug: (on: boolean) => { debug = on; log.info('debug ' + on); },
    stop: (graceful: boolean) => new Promise<void>((resolve) => {
      server.close(() => resolve());
      if (!graceful) server.closeAllConnections();
    }),
  };
}

runSupervisor({
  workers: 2,
  startWorker,
  log,
  recent,
  reportMs: 100,
  pidfile: process.env.PIDFILE || undefined,
  user: process.env.RUN_AS || undefined,
  connections: 100,
  drainTimeoutMs: 20000,
  reload: () => { JSON.parse(readFileSync(process.env.CONFIG!, 'utf8')); },
  monitor: process.env.MONITOR_PORT ? { host: '127.0.0.1', port: Number(process.env.MONITOR_PORT), configJson: () => JSON.parse(readFileSync(process.env.CONFIG!, 'utf8')) } : undefined,
}).then((r) => {
  if (r.role === 'primary') r.supervisor.done.then((code) => process.exit(code));
}, (err) => { log.error(err.message); process.exit(1); });
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'exaproxy-supervisor-'));
  writeFileSync(join(dir, 'proxy.ts'), SCRIPT);
  writeFileSync(join(dir, 'config.json'), '{"ok": true}');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  port: number;
  monitorPort: number;
  exited: Promise<number | null>;
}

async function start(env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const monitorPort = await freePort();
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'proxy.ts')], {
    cwd: root,
    env: { ...process.env, PROXY_PORT: String(port), MONITOR_PORT: String(monitorPort), CONFIG: join(dir, 'config.json'), HOLD_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const running = { child, output: () => out, port, monitorPort, exited };
  await until(() => out.includes('running with 2 worker(s)') || child.exitCode !== null, 'startup', running);
  assert.equal(child.exitCode, null, out);
  return running;
}

async function until(check: () => boolean | Promise<boolean>, what: string, r?: { output: () => string }): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.fail(`timed out waiting for ${what}\n${r?.output() ?? ''}`);
}

interface Answer {
  pid: number;
  debug: boolean;
  limits: { minimum: number; maximum: number };
  generation: string;
  uid: number;
  helper: number;
  /** GLIBC_TUNABLES as the worker got it */
  tunables: string | null;
}

function ask(port: number, path = '/'): Promise<Answer> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolvePromise(JSON.parse(body) as Answer));
    });
    req.on('error', reject);
    // A connection the primary accepted just as the workers stopped listening can wait in its
    // queue for a worker that never comes (node:cluster): give up on it.
    if (!path.includes('hold=')) req.setTimeout(2000, () => req.destroy(new Error('no answer within 2 s')));
    req.end();
  });
}

async function pids(port: number, n = 12): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add((await ask(port)).pid);
  return seen;
}

async function refused(port: number): Promise<boolean> {
  try {
    await ask(port);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

let holds = 0;

/** A request that stays in progress until release() is called. */
function held(port: number): { answer: Promise<Answer | Error>; release: () => void } {
  const name = `hold${++holds}`;
  return {
    answer: ask(port, `/?hold=${name}`).catch((err: Error) => err),
    release: () => writeFileSync(join(dir, name), ''),
  };
}

/** Resolves once the request has reached a worker (the monitor counts it). */
async function started(r: Running, count: number): Promise<void> {
  await until(async () => ((await monitorJson(r, '/json/running'))['clients.speaking'] as number) >= count, 'request in progress', r);
}

async function stopped(r: Running): Promise<void> {
  if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await r.exited;
}

async function monitorJson(r: Running, path: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`http://127.0.0.1:${r.monitorPort}${path}`)).json()) as Record<string, unknown>;
}

test('workers share the port; a killed worker is replaced; totals survive it', async () => {
  const r = await start();
  try {
    const first = await pids(r.port);
    assert.equal(first.size, 2, 'requests spread over the two workers');
    const victim = [...first][0];
    // Let the reports carry the 12 requests before the worker dies.
    await until(async () => ((await monitorJson(r, '/json/running'))['clients.requests'] as number) >= 12, 'report');
    process.kill(victim, 'SIGKILL');
    await until(() => r.output().includes(`worker ${victim} died`), 'crash log', r);
    await until(async () => {
      const now = await pids(r.port, 6);
      return now.size === 2 && !now.has(victim);
    }, 'replacement', r);
    await until(async () => ((await monitorJson(r, '/json/stats')).stats as { gauges: { processes: number } }).gauges.processes === 3, 'three processes reporting', r);
    const metrics = await (await fetch(`http://127.0.0.1:${r.monitorPort}/metrics`)).text();
    const requests = Number(/^exaproxy_requests_total\{method="GET"\} (\d+)/m.exec(metrics)?.[1]);
    assert.ok(requests >= 18, `requests of the dead worker are still counted (${requests})`);
  } finally {
    await stopped(r);
  }
});

test('workers start with a small young generation (--max-semi-space-size=2), unless NODE_OPTIONS sets one', async () => {
  const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const r = await start();
  try {
    for (const pid of await pids(r.port)) {
      assert.ok(cmdline(pid).includes('--max-semi-space-size=2'), `worker ${pid}: ${cmdline(pid).join(' ')}`);
      // The primary's own command line is left as it was.
      assert.ok(!cmdline(r.child.pid!).includes('--max-semi-space-size=2'));
    }
  } finally {
    await stopped(r);
  }
  const own = await start({ NODE_OPTIONS: '--max-semi-space-size=8' });
  try {
    for (const pid of await pids(own.port)) {
      assert.ok(!cmdline(pid).some((arg) => arg.startsWith('--max-semi-space-size')), `worker ${pid}: ${cmdline(pid).join(' ')}`);
    }
  } finally {
    await stopped(own);
  }
});

test('SIGTTOU/SIGTTIN stop and restart listening; SIGUSR1/2 change the pool; SIGTRAP toggles debug', async () => {
  const r = await start();
  try {
    r.child.kill('SIGTTOU');
    await until(() => refused(r.port), 'listener closed', r);
    r.child.kill('SIGTTIN');
    await until(async () => !(await refused(r.port)), 'listener back', r);

    r.child.kill('SIGUSR2');
    await until(async () => [...(await pids(r.port, 1))].length > 0 && (await ask(r.port)).limits.minimum === 3, 'minimum +1', r);
    assert.deepEqual((await ask(r.port)).limits, { minimum: 3, maximum: 5 });
    r.child.kill('SIGUSR1');
    await until(async () => (await ask(r.port)).limits.maximum === 4, 'maximum -1', r);
    // One at a time: signals of one kind that arrive together are merged by the kernel.
    r.child.kill('SIGUSR1');
    await until(async () => (await ask(r.port)).limits.maximum === 3 && (await ask(r.port)).limits.maximum === 3, 'maximum down to 3', r);
    r.child.kill('SIGUSR1');
    await until(async () => (await ask(r.port)).limits.maximum === 2 && (await ask(r.port)).limits.maximum === 2, 'maximum down to 2', r);
    assert.deepEqual((await ask(r.port)).limits, { minimum: 2, maximum: 2 }, 'the minimum follows the maximum down');
    await until(async () => {
      const running = await monitorJson(r, '/json/running');
      return running['processes.min'] === 2 && running['processes.max'] === 2;
    }, 'the monitor shows the new limits', r);

    r.child.kill('SIGTRAP');
    await until(async () => {
      const answers = await Promise.all([ask(r.port), ask(r.port), ask(r.port), ask(r.port)]);
      return answers.every((a) => a.debug);
    }, 'debug on in every worker', r);
    r.child.kill('SIGTRAP');
    await until(async () => !(await ask(r.port)).debug && !(await ask(r.port)).debug, 'debug off', r);
  } finally {
    await stopped(r);
  }
});

test('SIGHUP replaces every worker without dropping a request in progress; a bad configuration is refused', async () => {
  const r = await start();
  try {
    const before = await pids(r.port);
    const request = held(r.port);
    await started(r, 1);
    r.child.kill('SIGHUP');
    await until(() => r.output().includes('reload done'), 'reload', r);
    const after = await pids(r.port);
    request.release();
    const answer = (await request.answer) as Answer;
    assert.ok(before.has(answer.pid), 'the old worker finished the request it had');
    assert.equal(after.size, 2);
    for (const pid of after) assert.ok(!before.has(pid), 'all workers are new');
    await until(() => [...before].every((pid) => r.output().includes(`worker ${pid} exited`)), 'old workers exit', r);

    writeFileSync(join(dir, 'config.json'), '{not json');
    r.child.kill('SIGHUP');
    await until(() => r.output().includes('reload refused'), 'refusal', r);
    assert.deepEqual(await pids(r.port), after, 'the running workers are kept');
  } finally {
    writeFileSync(join(dir, 'config.json'), '{"ok": true}');
    await stopped(r);
  }
});

test('SIGQUIT drains then exits and removes the pidfile; SIGTERM stops at once', async () => {
  const pidfile = join(dir, 'exaproxy.pid');
  const r = await start({ PIDFILE: pidfile });
  assert.equal(readFileSync(pidfile, 'utf8'), `${r.child.pid}\n`);
  const request = held(r.port);
  await started(r, 1);
  r.child.kill('SIGQUIT');
  await until(() => refused(r.port), 'no longer listening', r);
  assert.equal(r.child.exitCode, null, 'still running while a request is in progress');
  request.release();
  const answer = (await request.answer) as Answer;
  assert.ok(answer.pid > 0, 'the request in progress completed');
  assert.equal(await r.exited, 0);
  assert.ok(!existsSync(pidfile), 'pidfile removed');

  const t = await start({ PIDFILE: pidfile });
  const pending = held(t.port);
  await started(t, 1);
  t.child.kill('SIGTERM');
  assert.equal(await t.exited, 0);
  assert.ok((await pending.answer) instanceof Error, 'SIGTERM does not wait for requests');
  assert.ok(!existsSync(pidfile));
});

test('a second instance refuses a pidfile held by a live process', async () => {
  const pidfile = join(dir, 'held.pid');
  const r = await start({ PIDFILE: pidfile });
  try {
    const port = await freePort();
    const second = spawn(process.execPath, ['--import', 'tsx', join(dir, 'proxy.ts')], {
      cwd: root,
      env: { ...process.env, PROXY_PORT: String(port), CONFIG: join(dir, 'config.json'), PIDFILE: pidfile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    second.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => second.on('exit', res));
    assert.equal(code, 1);
    assert.match(out, new RegExp(`daemon\\.pidfile: .*held\\.pid belongs to process ${r.child.pid}, which is running`));
    assert.equal(readFileSync(pidfile, 'utf8'), `${r.child.pid}\n`, 'the pidfile is untouched');
  } finally {
    await stopped(r);
  }
});

test('started as root, workers and primary drop to daemon.user after binding', async () => {
  assert.equal(process.getuid?.(), 0, 'this test starts the proxy as root (as CI does)');
  const r = await start({ RUN_AS: 'nobody' });
  try {
    const nobody = Number(/^nobody:[^:]*:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1]);
    const answer = await ask(r.port);
    assert.equal(answer.uid, nobody, 'the worker runs as nobody');
    const helper = readFileSync(`/proc/${answer.helper}/status`, 'utf8');
    assert.match(helper, new RegExp(`^Uid:\\s+${nobody}\\s`, 'm'), 'processes the worker starts run as nobody');
    const status = readFileSync(`/proc/${r.child.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${nobody}\\s+${nobody}\\s+${nobody}\\s+${nobody}$`, 'm'), 'the primary runs as nobody');
    const gid = /^Gid:\s+(\d+)/m.exec(status)?.[1];
    assert.notEqual(gid, '0', 'the group was dropped too');
    assert.match(status, /^Groups:\s*(?!.*\b0\b).*$/m, 'no root supplementary group');
  } finally {
    await stopped(r);
  }
});

test('workers start with glibc keeping freed heap (no page faults per relayed MiB); an operator\'s GLIBC_TUNABLES is kept', async () => {
  const defaults = await start();
  try {
    assert.equal((await ask(defaults.port)).tunables, WORKER_MALLOC_TUNABLES);
  } finally {
    await stopped(defaults);
  }
  const own = await start({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' });
  try {
    assert.equal((await ask(own.port)).tunables, 'glibc.malloc.arena_max=2');
  } finally {
    await stopped(own);
  }
});

test('a second SIGQUIT stops at once; SIGINT stops like SIGTERM', async () => {
  const r = await start();
  const pending = held(r.port);
  await started(r, 1);
  r.child.kill('SIGQUIT');
  await until(() => refused(r.port), 'soft stop', r);
  assert.equal(r.child.exitCode, null, 'waiting for the request in progress');
  r.child.kill('SIGQUIT');
  assert.equal(await r.exited, 0);
  assert.ok((await pending.answer) instanceof Error, 'the second SIGQUIT did not wait');

  const i = await start();
  const kept = held(i.port);
  await started(i, 1);
  i.child.kill('SIGINT');
  assert.equal(await i.exited, 0);
  assert.ok((await kept.answer) instanceof Error);
});
