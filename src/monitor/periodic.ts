// Periodic tasks (statistics reports, samples, timeout sweeps) that never throw out of their
// timer: an exception there is uncaught and ends the process with every connection it holds.
// At the open-file limit, for instance, process.memoryUsage.rss() throws EMFILE each second.
// A failure is logged once, when it starts; the task keeps running and says when it recovers.

import type { Log } from '../log/log';

export type PeriodicLog = Pick<Log, 'warn'>;

/** Wraps `task` so that calling it never throws; `what` names it in the log line. */
export function guarded(what: string, log: PeriodicLog, task: () => void): () => void {
  let failing = false;
  return () => {
    try {
      task();
      if (failing) log.warn(`${what}: working again`);
      failing = false;
    } catch (error) {
      if (!failing) log.warn(`${what} failed (logged once until it works again): ${(error as Error).message}`);
      failing = true;
    }
  };
}

/** setInterval of a guarded task; unref'd, so it never keeps the process alive by itself. */
export function every(ms: number, what: string, log: PeriodicLog, task: () => void): NodeJS.Timeout {
  const timer = setInterval(guarded(what, log, task), ms);
  timer.unref();
  return timer;
}
