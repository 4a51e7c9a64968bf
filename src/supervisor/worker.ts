// The worker side of the supervisor in a forked worker: runs the data path the caller starts,
// obeys the primary's messages over node:cluster's channel, and reports its figures once a second
// (obey.ts, shared with the single process's in-process data path).
import type { Log } from '../monitor/server';
import { isPrimaryMessage, type WorkerMessage } from './messages';
import { dropPrivileges } from './privileges';
import { workerFailed } from './fail';
import { obey, type WorkerHandle } from './obey';

export type { WorkerHandle } from './obey';

export interface WorkerOptions {
  /**
   * Loads the data path's code, still as the user that started exaproxy: a package only root
   * can read (npx's cache under /root) must not fail once the worker is daemon.user.
   */
  loadWorker?: () => Promise<void>;
  startWorker: () => Promise<WorkerHandle>;
  log: Log;
  /** daemon.user: switched to before startWorker() runs (when started as root) */
  user?: string;
  reportMs?: number;
}

// Signals are the primary's business: a ^C in a terminal reaches the whole process group,
// and the workers must not die before the primary decides how to stop them.
const LEFT_TO_PRIMARY = ['SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2', 'SIGTRAP'] as const;

export async function runWorker(options: WorkerOptions): Promise<WorkerHandle> {
  const { log } = options;
  for (const signal of LEFT_TO_PRIMARY) process.on(signal, () => {});
  const send = (m: WorkerMessage): void => {
    if (process.connected && process.send) process.send(m);
  };

  // Before the data path starts: its helper processes must not run as root. A worker needs no
  // privilege to listen, the primary binds the sockets (node:cluster); the configuration and
  // the log files were opened by the caller already.
  let handle: WorkerHandle;
  try {
    await options.loadWorker?.();
    dropPrivileges(options.user);
    handle = await options.startWorker();
  } catch (error) {
    return workerFailed(error);
  }
  const name = `worker ${process.pid}`;
  const obeying = obey(handle, log, name, send, () => setImmediate(() => process.exit(0)), options.reportMs ?? 1000);
  process.on('message', (m: unknown) => {
    if (!isPrimaryMessage(m)) return;
    void obeying.apply(m).catch((err: Error) => log.error(`${name}: ${m.exaproxy} failed: ${err.message}`));
  });
  const stop = (graceful: boolean, timeoutMs: number): Promise<void> => obeying.stop(graceful, timeoutMs);
  // SIGTERM straight from a service manager (not through the primary) stops at once.
  process.on('SIGTERM', () => void stop(false, 0));
  // The primary is gone (killed): do not linger as an orphan holding the port.
  process.on('disconnect', () => void stop(false, 0));

  send({ exaproxy: 'ready', pid: process.pid, addresses: handle.addresses });
  obeying.report();
  return handle;
}
