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
import { runSupervisor, type WorkerHandle } from './supervisor';
import { preflight, runAsUser } from './supervisor/preflight';
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

/**
 * Starts the primary or, in a worker, the data path. Resolves with the exit code once
 * everything has stopped (primary), or never (a worker exits when its primary says so).
 */
export async function run(config: Config, log: Logger, recent: RecentLines, source: string, argv: string[]): Promise<number> {
  // Workers accept on the shared listening socket themselves: the primary then never touches
  // a connection (node:cluster's default would accept everything in the primary and pass it on).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // Made here, while the primary may still hold CAP_NET_ADMIN; each worker is given their numbers.
  // Loaded only when asked for: the primary otherwise loads nothing of the data path.
  const forkEnv = cluster.isPrimary && config.passthrough.enable ? await transparentSockets(config) : undefined;
  const debug = debugSwitch(log, config);
  const reopenMain = mainLogReopener(log, config);
  let dataPath: typeof import('./proxy/server.js') | undefined;
  const role = await runSupervisor({
    workers: config.daemon.workers,
    forkEnv,
    log,
    pidfile: config.daemon.pidfile || undefined,
    // Started as root: drop to daemon.user once bound, unless told to stay root explicitly.
    user: runAsUser(config),
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
      return { workers: fresh.daemon.workers, monitor: monitorSettings(fresh) };
    },
    // Loaded in the worker only: the primary never runs the data path, and the addon, the
    // phases and the helper pool would cost it memory for nothing.
    loadWorker: async () => {
      dataPath = await import('./proxy/server.js');
    },
    startWorker: async (): Promise<WorkerHandle> => {
      const { startProxy } = dataPath!;
      let proxy: Awaited<ReturnType<typeof startProxy>>;
      try {
        proxy = await startProxy(config, log);
      } catch (error) {
        // The worker hands this line to the primary, which prints it once and stops.
        throw new StartError(startFailureLine(error, listenSettings(config)));
      }
      const pool = proxy.pool;
      return {
        addresses: proxy.addresses.map((a) => hostPort(a.host, a.port)),
        stats: proxy.stats,
        pool: pool ?? undefined,
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
        debug,
        stop: (graceful) =>
          graceful
            ? Promise.all(proxy.listeners.map((l) => l.drain(Number.MAX_SAFE_INTEGER))).then(() => proxy.close())
            : proxy.close(),
      };
    },
  });
  if (role.role === 'worker') return new Promise<number>(() => undefined);
  // Printed once every worker listens (and the monitor too), never before.
  const addresses = role.supervisor.addresses();
  process.stdout.write(`exaproxy ${VERSION} listening on ${addresses.join(', ')} (configuration: ${source})\n`);
  log.info({ addresses, configuration: source }, 'listening');
  return role.supervisor.done;
}
