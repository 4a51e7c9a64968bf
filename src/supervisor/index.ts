// runSupervisor: one entry point for both sides of node:cluster. In the primary it forks and
// supervises the workers; in a worker it runs startWorker() and obeys the primary.
import cluster from 'node:cluster';
import type { PrimaryOptions, Supervisor } from './primary';
import type { WorkerHandle } from './worker';

export type { PrimaryMessage, WorkerMessage } from './messages';
export type { WorkerHandle } from './worker';
export type { Supervisor, PrimaryOptions, ReloadResult, MonitorSettings } from './primary';
export { writePidfile, removePidfile, PidfileError } from './pidfile';
export { dropPrivileges, lookupUser, PrivilegeError } from './privileges';
export { checkFileLimit, readFileLimit, connectionBudget } from './limits';

export interface SupervisorOptions extends PrimaryOptions {
  /** runs in each worker before it switches to daemon.user: load the data path's code */
  loadWorker?: () => Promise<void>;
  /** runs in each worker: start the data path (listen), resolve once it serves */
  startWorker: () => Promise<WorkerHandle>;
}

export type SupervisorRole = { role: 'primary'; supervisor: Supervisor } | { role: 'worker'; handle: WorkerHandle };

/**
 * Call it from the `exaproxy` command after reading the configuration. The same script runs
 * in the primary and (forked by node:cluster) in every worker. In the primary, await
 * `supervisor.done` and exit with its code; a worker exits by itself when told to stop.
 */
export async function runSupervisor(options: SupervisorOptions): Promise<SupervisorRole> {
  // Each side loads only its own half: the worker has no use for the monitor's HTTP server.
  if (cluster.isWorker) {
    const { runWorker } = await import('./worker.js');
    const handle = await runWorker({ loadWorker: options.loadWorker, startWorker: options.startWorker, log: options.log, user: options.user, reportMs: options.reportMs });
    return { role: 'worker', handle };
  }
  const { runPrimary } = await import('./primary.js');
  return { role: 'primary', supervisor: await runPrimary(options) };
}
