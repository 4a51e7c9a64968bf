/**
 * Runs exaproxy once the configuration is loaded: a primary process supervises
 * `daemon.workers` workers (node:cluster) and serves the monitor; each worker runs the
 * whole data path on its own event loop. The same entry runs in both: node:cluster starts
 * the workers from the command line the primary was started with.
 */
import cluster from 'node:cluster';
import pino, { type Logger } from 'pino';
import { configToJson, loadConfig, type Config } from './config';
import { PINO_LEVEL } from './log/logger';
import type { RecentLines } from './monitor/recent';
import { dropPrivileges, runSupervisor, type WorkerHandle } from './supervisor';
import { SINGLE_PROCESS_FREED_HEAP, limitYoungGeneration } from './supervisor/allocator';
import { preflight, runAsUser } from './supervisor/preflight';
import { workerCount } from './supervisor/settings';
import { StartError, startFailureLine, type ListenSetting } from './supervisor/start-errors';
import { VERSION } from './version';

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function monitorSettings(config: Config): Parameters<typeof runSupervisor>[0]['monitor'] {
  const web = config.web;
  if (!web.enable) return undefined;
  return {
    host: web.host,
    port: web.port,
    token: web.token || undefined,
    connections: web.connections,
    identifier: config.daemon.identifier,
    configJson: () => configToJson(config),
    openControl: web.openControl,
    poolMaximum: config.redirector.maximum,
    // POST /control/reopen answers 409 when there is no file to reopen.
    logFiles: config.log.destination.kind === 'file' || (config.usage.enable && config.usage.destination.kind === 'file'),
  };
}

/** Reopens the main log when it is a file (sonic-boom refuses to reopen stdout/stderr). */
function mainLogReopener(log: Logger, config: Config): () => void {
  if (config.log.destination.kind !== 'file') return () => {};
  return () => (log as unknown as Record<symbol, { reopen?(): void } | undefined>)[pino.symbols.streamSym]?.reopen?.();
}

/** The proxy's listening addresses, to name the option in a listen error. */
function listenSettings(config: Config): ListenSetting[] {
  const out: ListenSetting[] = [];
  if (config.tcp4.listen) out.push({ family: 'tcp4', host: config.tcp4.host, port: config.tcp4.port });
  if (config.tcp6.listen) out.push({ family: 'tcp6', host: config.tcp6.host, port: config.tcp6.port });
  return out;
}

/** Switches a logger between DEBUG and its configured level. */
function debugSwitch(log: Logger, config: Config): (on: boolean) => void {
  const configured = config.log.enable ? PINO_LEVEL[config.log.level] : 'silent';
  return (on) => {
    log.level = on ? 'debug' : configured;
  };
}

/** The passthrough listener's transparent sockets, made by the primary (see openTransparentSockets). */
async function transparentSockets(config: Config): Promise<(() => NodeJS.ProcessEnv) | undefined> {
  const { openTransparentSockets, passthroughSettingsFromConfig } = await import('./proxy/passthrough-listener.js');
  return openTransparentSockets(passthroughSettingsFromConfig(config));
}

/** Where the data path's pieces come from: loaded only by the process that runs it. */
type DataPath = typeof import('./proxy/server.js');

/** The running data path of one configuration, as the supervisor drives it. */
async function startDataPath(dataPath: DataPath, config: Config, log: Logger, recent: RecentLines | undefined, reopenMain: () => void): Promise<WorkerHandle> {
  let proxy: Awaited<ReturnType<DataPath['startProxy']>>;
  try {
    proxy = await dataPath.startProxy(config, log);
  } catch (error) {
    // The worker hands this line to the primary, which prints it once and stops.
    throw new StartError(startFailureLine(error, listenSettings(config)));
  }
  return {
    addresses: proxy.addresses.map((a) => hostPort(a.host, a.port)),
    stats: proxy.stats,
    pool: proxy.pool ?? undefined,
    helperPools: proxy.helperPools,
    recent,
    // The TLS SNI and passthrough listeners stop, resume and drain with the proxy's.
    listen: async (on) => {
      await Promise.all(proxy.listeners.map((l) => l.setListening(on)));
    },
    reopen: () => {
      reopenMain();
      proxy.reopen();
    },
    debug: debugSwitch(log, config),
    stop: (graceful) =>
      graceful ? Promise.all(proxy.listeners.map((l) => l.drain(Number.MAX_SAFE_INTEGER))).then(() => proxy.close()) : proxy.close(),
  };
}

/**
 * Starts the primary or, in a worker, the data path; with daemon.workers=1 and
 * daemon.supervise=false, both in this one process. Resolves with the exit code once
 * everything has stopped (primary), or never (a worker exits when its primary says so).
 */
export async function run(config: Config, log: Logger, recent: RecentLines, source: string, argv: string[]): Promise<number> {
  // Workers accept on the shared listening socket themselves: the primary then never touches
  // a connection (node:cluster's default would accept everything in the primary and pass it on).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const single = cluster.isPrimary && !config.daemon.supervise && workerCount(config.daemon.workers) === 1;
  // Made here, while the primary may still hold CAP_NET_ADMIN; each worker is given their numbers.
  // Loaded only when asked for: the primary otherwise loads nothing of the data path.
  const forkEnv = cluster.isPrimary && config.passthrough.enable ? await transparentSockets(config) : undefined;
  const debug = debugSwitch(log, config);
  const reopenMain = mainLogReopener(log, config);
  const user = runAsUser(config);
  let dataPath: DataPath | undefined;
  // The configuration the next data path of this process starts with (a reload replaces it).
  let latest = config;
  if (single) {
    // Still as the user that started exaproxy (see loadWorker), and before the heap grows.
    dataPath = await import('./proxy/server.js');
    limitYoungGeneration(process.execArgv, process.env.NODE_OPTIONS);
    // As a worker's environment sets (allocator.ts), smaller, unless the operator set it for us.
    if (process.env.GLIBC_TUNABLES === undefined) (await import('./native/index.js')).native.keepFreedHeap(SINGLE_PROCESS_FREED_HEAP);
  }
  const role = await runSupervisor({
    workers: config.daemon.workers,
    forkEnv,
    log,
    pidfile: config.daemon.pidfile || undefined,
    // Started as root: drop to daemon.user once bound, unless told to stay root explicitly.
    user,
    connections: config.http.connections,
    backlog: Math.max(config.tcp4.backlog, config.tcp6.backlog),
    monitor: monitorSettings(config),
    debug,
    reopen: reopenMain,
    recent,
    reload: () => {
      // Checked here; the new workers read it again themselves when they start. Its files are
      // checked as at start, by this process, which runs as daemon.user by now.
      const loaded = loadConfig({ argv, env: process.env, cwd: process.cwd() });
      preflight(loaded.config, loaded.source);
      const fresh = loaded.config;
      if (!single) return { workers: fresh.daemon.workers, monitor: monitorSettings(fresh) };
      if (fresh.daemon.supervise !== config.daemon.supervise || fresh.daemon.workers !== config.daemon.workers) {
        log.warn('reload: daemon.workers and daemon.supervise apply at the next start; this one keeps one process');
      }
      latest = fresh;
      return { monitor: monitorSettings(fresh) };
    },
    // Loaded in the worker only: the primary never runs the data path, and the addon, the
    // phases and the helper pool would cost it memory for nothing.
    loadWorker: async () => {
      dataPath = await import('./proxy/server.js');
    },
    startWorker: () => startDataPath(dataPath!, config, log, recent, reopenMain),
    inProcess: single
      ? async () => {
          const starting = latest;
          // Bound while this process may still bind ports below 1024 (and the first time only:
          // a reload runs as daemon.user, and its new data path takes the sockets over), then
          // daemon.user, then the helpers: they never run as root.
          await dataPath!.bindAhead(dataPath!.listenAddresses(starting), Math.max(starting.tcp4.backlog, starting.tcp6.backlog));
          dropPrivileges(user);
          if (forkEnv !== undefined) Object.assign(process.env, forkEnv());
          try {
            // Its log lines are the primary's already: nothing to forward.
            return await startDataPath(dataPath!, starting, log, undefined, reopenMain);
          } catch (error) {
            // A socket bound ahead for a listener that never came would keep the process alive.
            await dataPath!.closeUnclaimed();
            throw error;
          }
        }
      : undefined,
  });
  if (role.role === 'worker') return new Promise<number>(() => undefined);
  // Printed once every worker listens (and the monitor too), never before.
  const addresses = role.supervisor.addresses();
  process.stdout.write(`exaproxy ${VERSION} listening on ${addresses.join(', ')} (configuration: ${source})\n`);
  log.info({ addresses, configuration: source }, 'listening');
  if (!single) return role.supervisor.done;
  // As a worker does once stopped: a timer of the data path (a keep-alive sweep, a pending
  // DNS retry) must not hold the process after everything is closed and the pidfile is gone.
  const code = await role.supervisor.done;
  setImmediate(() => process.exit(code));
  return code;
}
