// The primary process: forks the workers, restarts crashed ones, turns signals into messages,
// replaces every worker on SIGHUP without dropping connections, aggregates the workers'
// figures and serves the monitor. It shares nothing with the workers but the listening sockets
// (node:cluster binds them here and hands connections out).
import cluster from 'node:cluster';
import { chownSync } from 'node:fs';
import { Stats, retired, emptySnapshot, withoutProcess, type Snapshot } from '../monitor/stats';
import { mergeHelperPools, mergePoolStats, type HelperPools, type PoolStats } from '../monitor/pool';
import { RecentLines } from '../monitor/recent';
import { startMonitor, type Monitor } from '../monitor/server';
import { ForkedWorker, waitReady, type Member } from './member';
import { InProcessMember } from './in-process';
import type { MonitorSettings, PrimaryOptions, Supervisor } from './types';
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage } from './messages';
import { writePidfile, removePidfile } from './pidfile';
import { dropPrivileges, lookupUser } from './privileges';
import { allocatorEnv, workerExecArgv } from './allocator';
import { checkFileLimit, WORKERS_ENV } from './limits';
import { nextPoolLimits, sameMonitor, workerCount } from './settings';
import { StartError } from './start-errors';

export type { MonitorSettings, PrimaryOptions, ReloadResult, Supervisor } from './types';

const HANDLED = ['SIGHUP', 'SIGQUIT', 'SIGTERM', 'SIGINT', 'SIGTTOU', 'SIGTTIN', 'SIGUSR1', 'SIGUSR2', 'SIGTRAP'] as const;

export async function runPrimary(options: PrimaryOptions): Promise<Supervisor> {
  const { log } = options;
  const members = new Map<number, Member>();
  let nextId = 0;
  // daemon.workers=1 without daemon.supervise: the data path runs in this process.
  const single = options.inProcess;
  const recent = options.recent ?? new RecentLines();
  const own = new Stats();
  // What exited workers counted, so totals never go backwards.
  let gone = emptySnapshot();
  let generation = 0;
  let wanted = workerCount(options.workers);
  let monitorSettings = options.monitor;
  let monitor: Monitor | undefined;
  let currentMonitor: MonitorSettings | undefined;
  let pidSaved = false;
  let stopping: 'soft' | 'hard' | undefined;
  let reloading: Promise<boolean> | undefined;
  let crashes = 0;
  let exitCode = 0;
  // Replacements waiting for their back-off delay (cancelled by a stop).
  const replacing = new Set<NodeJS.Timeout>();
  // The first workers are starting: their failures are reported by the start itself.
  let starting = true;
  // The state new workers must be told about, so a restarted worker behaves like the others.
  const state = { listening: true, debug: false, pool: undefined as { minimum: number; maximum: number } | undefined };
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  if (options.connections !== undefined) {
    // Each worker serves its share of http.connections: a worker without one could serve nobody.
    if (wanted > options.connections) {
      const line = `exaproxy: daemon.workers=${wanted} is more than http.connections=${options.connections}: starting ${options.connections} worker(s)`;
      process.stderr.write(`${line}\n`);
      log.warn(line);
      wanted = options.connections;
    }
    const check = checkFileLimit(options.connections, wanted, options.backlog ?? 0);
    if (check.raisedFrom !== undefined) log.info(`open-file limit raised from ${check.raisedFrom} to ${check.limit?.soft}`);
    if (check.message !== undefined) {
      // Shown at the default log level: the limit the workers apply instead of http.connections.
      process.stderr.write(`${check.message}\n`);
      log.warn(check.message);
    }
  }
  if (options.pidfile) {
    writePidfile(options.pidfile);
    pidSaved = true;
    // The primary removes it at exit as daemon.user: in a sticky folder (/tmp) only its owner may.
    const account = options.user === undefined ? undefined : lookupUser(options.user);
    if (account !== undefined) chownSync(options.pidfile, account.uid, account.gid);
  }

  if (single === undefined) cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });

  const live = (): Member[] => [...members.values()];
  const broadcast = (m: PrimaryMessage, to: Member[] = live().filter((x) => !x.leaving)): void => {
    for (const member of to) if (member.worker.isConnected()) member.worker.send(m);
  };

  function fork(gen: number): Member {
    const worker =
      single !== undefined
        ? new InProcessMember(single, log, `data path (generation ${gen})`, options.reportMs ?? 1000)
        : new ForkedWorker(cluster.fork({ ...allocatorEnv(process.env), ...options.env, ...options.forkEnv?.(), EXAPROXY_WORKER_GENERATION: String(gen), [WORKERS_ENV]: String(wanted) }));
    const member: Member = { worker, generation: gen, ready: false, leaving: false, startedAt: Date.now() };
    const id = nextId++;
    members.set(id, member);
    worker.on('message', (m: unknown) => {
      if (isWorkerMessage(m)) onMessage(member, m);
    });
    worker.on('exit', (code: number | null, signal: string | null) => onExit(id, member, code, signal));
    worker.on('error', (err: Error) => log.warn(`${worker.name}: IPC error: ${err.message}`));
    return member;
  }

  function onMessage(member: Member, m: WorkerMessage): void {
    switch (m.exaproxy) {
      case 'ready':
        member.ready = true;
        member.addresses = m.addresses;
        // The data path in this process names its generation already.
        log.info(single !== undefined ? `${member.worker.name} ready` : `${member.worker.name} ready (generation ${member.generation})`);
        // Bring it in line with what the signals and control actions changed since start.
        if (!state.listening) member.worker.send({ exaproxy: 'listen', on: false } satisfies PrimaryMessage);
        if (state.debug) member.worker.send({ exaproxy: 'debug', on: true } satisfies PrimaryMessage);
        if (state.pool) member.worker.send({ exaproxy: 'resize', ...state.pool } satisfies PrimaryMessage);
        member.worker.emit('exaproxy:ready');
        break;
      case 'report':
        member.last = single !== undefined ? withoutProcess(m.stats) : m.stats;
        member.pool = m.pool ?? undefined;
        member.helpers = m.helpers;
        for (const line of m.logs) recent.push(line);
        break;
      case 'stopping':
        member.leaving = true;
        break;
      case 'failed':
        member.failure = m.reason;
        break;
    }
  }

  function onExit(id: number, member: Member, code: number | null, signal: string | null): void {
    clearTimeout(member.killTimer);
    members.delete(id);
    if (member.last !== undefined) gone = Stats.merge([gone, retired(member.last)]);
    const name = member.worker.name;
    if (member.leaving || stopping !== undefined) {
      log.info(`${name} exited (${signal ?? `code ${code}`})`);
    } else if (!member.ready) {
      // Died while starting: the next one would too, so never start it again in a loop. The
      // first start and a reload report it themselves (waitReady); a replacement stops us.
      member.failure ??= `exaproxy: a worker exited (${signal ?? `code ${code}`}) before it listened; see its errors above`;
      if (!starting && member.generation === generation && reloading === undefined) {
        // The command's own line (not a log line): the process stops because of it.
        process.stderr.write(`${member.failure}\n`);
        exitCode = 1;
        void stop(false);
      }
    } else {
      crashes++;
      const quick = Date.now() - member.startedAt < 5000;
      const delay = quick ? Math.min(30_000, 100 * 2 ** Math.min(crashes, 9)) : 100;
      log.error(`${name} died (${signal ?? `code ${code}`}); starting a replacement in ${delay} ms`);
      if (!quick) crashes = 0;
      // Not unref'd: with no monitor, this timer is all that keeps the primary alive until the
      // replacement is forked (it exited with 0 when its only worker died).
      const timer = setTimeout(() => {
        replacing.delete(timer);
        if (stopping === undefined && live().filter((x) => !x.leaving && x.generation === generation).length < wanted) fork(generation);
      }, delay);
      replacing.add(timer);
    }
    if (stopping !== undefined && members.size === 0) void finish();
  }

  function retire(member: Member, graceful: boolean, timeoutMs: number): void {
    member.leaving = true;
    if (member.worker.isConnected()) member.worker.send({ exaproxy: 'stop', graceful, timeoutMs } satisfies PrimaryMessage);
    // The worker enforces its own drain limit; this is the backstop for a stuck one.
    if (timeoutMs > 0) {
      member.killTimer = setTimeout(() => {
        log.warn(`${member.worker.name} did not stop within ${timeoutMs} ms; killing it`);
        member.worker.kill();
      }, timeoutMs + 2000);
      member.killTimer.unref();
    }
  }

  async function reload(): Promise<boolean> {
    if (stopping !== undefined) return false;
    if (reloading !== undefined) {
      log.warn('reload already in progress; this one is ignored');
      return reloading;
    }
    reloading = (async () => {
      try {
        const result = (await options.reload?.()) ?? undefined;
        if (result?.workers !== undefined) wanted = Math.min(workerCount(result.workers), options.connections ?? Infinity);
        if (result?.monitor !== undefined) monitorSettings = result.monitor;
      } catch (err) {
        log.error(`reload refused, the running workers are kept: ${(err as Error).message}`);
        return false;
      }
      const old = live().filter((m) => !m.leaving);
      const gen = ++generation;
      log.info(`reload: starting ${wanted} new worker(s) (generation ${gen})`);
      const fresh = Array.from({ length: wanted }, () => fork(gen));
      const ok = await Promise.all(fresh.map((m) => waitReady(m, options.startTimeoutMs ?? 30_000)));
      if (ok.includes(false)) {
        const why = fresh.find((m) => m.failure !== undefined)?.failure ?? 'a new worker did not start';
        log.error(`reload failed: ${why}; the running workers are kept`);
        generation--;
        for (const m of fresh) {
          m.leaving = true;
          m.worker.kill();
        }
        return false;
      }
      for (const m of old) retire(m, true, options.drainTimeoutMs ?? 30_000);
      await restartMonitor();
      log.info(`reload done: ${old.length} old worker(s) draining`);
      return true;
    })();
    try {
      return await reloading;
    } finally {
      reloading = undefined;
    }
  }

  async function stop(graceful: boolean): Promise<number> {
    if (stopping === 'hard' || (stopping === 'soft' && graceful)) return done;
    stopping = graceful ? 'soft' : 'hard';
    for (const timer of replacing) clearTimeout(timer);
    replacing.clear();
    log.info(graceful ? 'soft stop: no new connections, exiting once the current ones are done' : 'stopping');
    for (const m of live()) {
      clearTimeout(m.killTimer);
      retire(m, graceful, graceful ? (options.softStopTimeoutMs ?? 0) : (options.stopTimeoutMs ?? 5000));
    }
    if (members.size === 0) void finish();
    return done;
  }

  let finished = false;
  async function finish(): Promise<void> {
    if (finished) return;
    finished = true;
    for (const signal of HANDLED) process.off(signal, handlers[signal]);
    await monitor?.close();
    if (options.pidfile && pidSaved && !removePidfile(options.pidfile)) {
      // An error, so that it shows at the default log level.
      log.error(`daemon.pidfile: could not remove ${options.pidfile}; remove it by hand`);
    }
    log.info('stopped');
    resolveDone(exitCode);
  }

  function aggregate(): Snapshot {
    // A data path in this process reports at once: the figures are current, not a second old.
    for (const m of members.values()) m.worker.poll?.();
    const all = [gone, own.snapshot()];
    for (const m of members.values()) if (m.last !== undefined) all.push(m.last);
    return Stats.merge(all);
  }

  function pool(): PoolStats | undefined {
    const pools = live()
      .filter((m) => !m.leaving && m.pool !== undefined)
      .map((m) => m.pool as PoolStats);
    return pools.length > 0 ? mergePoolStats(pools) : undefined;
  }

  function helperPools(): HelperPools {
    return mergeHelperPools(live().filter((m) => !m.leaving && m.helpers !== undefined).map((m) => m.helpers as HelperPools));
  }

  const control = {
    resize(minimum: number, maximum: number): void {
      state.pool = { minimum, maximum };
      broadcast({ exaproxy: 'resize', minimum, maximum });
    },
    listen(on: boolean): void {
      state.listening = on;
      log.info(on ? 'listening again on the proxy ports' : 'no longer listening on the proxy ports');
      broadcast({ exaproxy: 'listen', on });
    },
    debug(on: boolean): void {
      state.debug = on;
      options.debug?.(on);
      broadcast({ exaproxy: 'debug', on });
    },
    reopen(): void {
      options.reopen?.();
      broadcast({ exaproxy: 'reopen' });
    },
  };

  // SIGUSR1 / SIGUSR2 (see nextPoolLimits).
  function changePool(increase: boolean): void {
    const current = state.pool ?? pool();
    if (current === undefined) {
      log.warn(`${increase ? 'SIGUSR2' : 'SIGUSR1'}: there is no helper pool (redirector.enable is false)`);
      return;
    }
    const { minimum, maximum } = nextPoolLimits(current, increase);
    log.info(`helper pool limits: minimum=${minimum} maximum=${maximum}`);
    control.resize(minimum, maximum);
  }

  async function restartMonitor(): Promise<void> {
    const settings = monitorSettings;
    const same = monitor !== undefined && settings !== undefined && sameMonitor(settings, currentMonitor);
    if (same) return;
    await monitor?.close();
    monitor = undefined;
    currentMonitor = settings;
    if (settings === undefined) return;
    monitor = await startMonitor({
      host: settings.host,
      port: settings.port,
      token: settings.token,
      // Read on each request, so a reload that changes them applies without a monitor restart.
      openControl: () => (monitorSettings ?? settings).openControl === true,
      poolMaximum: () => (monitorSettings ?? settings).poolMaximum ?? Infinity,
      proxyPids: () => live().map((m) => m.worker.pid),
      connections: settings.connections,
      identifier: settings.identifier,
      stats: aggregate,
      pool: { stats: pool },
      helperPools,
      configJson: () => (monitorSettings ?? settings).configJson(),
      control,
      logFiles: () => (monitorSettings ?? settings).logFiles === true,
      recentLogs: () => recent.all(),
      log,
      pidSaved: () => pidSaved,
    });
  }
  const handlers: Record<(typeof HANDLED)[number], () => void> = {
    SIGHUP: () => void reload(),
    SIGQUIT: () => void stop(stopping !== 'soft'),
    SIGTERM: () => void stop(false),
    SIGINT: () => void stop(false),
    SIGTTOU: () => control.listen(false),
    SIGTTIN: () => control.listen(true),
    SIGUSR1: () => changePool(false),
    SIGUSR2: () => changePool(true),
    SIGTRAP: () => {
      control.debug(!state.debug);
      log.info(`debug logging ${state.debug ? 'on' : 'off'}`);
    },
  };
  for (const signal of HANDLED) process.on(signal, handlers[signal]);

  if (single !== undefined) {
    // Before the data path starts and drops privileges: the monitor may listen below 1024.
    try {
      await restartMonitor();
    } catch (err) {
      await stop(false);
      throw startError(err);
    }
  }
  generation = 1;
  const first = Array.from({ length: wanted }, () => fork(generation));
  const started = await Promise.all(first.map((m) => waitReady(m, options.startTimeoutMs ?? 30_000)));
  starting = false;
  if (started.includes(false)) {
    // Every worker fails the same way: the first one's own line says it all.
    const why = first.find((m) => m.failure !== undefined)?.failure ?? `exaproxy: a worker did not start within ${options.startTimeoutMs ?? 30_000} ms`;
    await stop(false);
    throw new StartError(why);
  }
  try {
    await restartMonitor();
    dropPrivileges(options.user);
  } catch (err) {
    await stop(false);
    throw startError(err);
  }
  log.info(single !== undefined ? 'running in one process (daemon.supervise=false)' : `running with ${wanted} worker(s)`);

  return {
    done,
    addresses: () => first.find((m) => m.addresses !== undefined)?.addresses ?? [],
    workers: () => live().map((m) => m.worker.pid),
    stats: aggregate,
    pool,
    reload,
    stop,
  };
}

function startError(err: unknown): StartError {
  const message = (err as Error).message;
  return new StartError(message.startsWith('exaproxy: ') ? message : `exaproxy: ${message}`);
}
