// Small rules of the primary, kept out of primary.ts: how many workers, when the monitor must be
// restarted, and how SIGUSR1/SIGUSR2 move the helper pool limits.
import { availableParallelism } from 'node:os';

/** daemon.workers: 0 means one per CPU core. */
export function workerCount(configured: number): number {
  return configured > 0 ? configured : Math.max(1, availableParallelism());
}

interface MonitorAddress {
  host: string;
  port: number;
  token?: string;
  connections?: number;
}

/** Whether a reload can keep the running monitor. */
export function sameMonitor(a: MonitorAddress, b: MonitorAddress | undefined): boolean {
  return b !== undefined && a.host === b.host && a.port === b.port && a.token === b.token && a.connections === b.connections;
}

/** ExaProxy: SIGUSR1 decreases the maximum (and the minimum if needed), SIGUSR2 increases the minimum. */
export function nextPoolLimits(current: { minimum: number; maximum: number }, increase: boolean): { minimum: number; maximum: number } {
  let { minimum, maximum } = current;
  if (increase) {
    minimum += 1;
    maximum = Math.max(minimum, maximum);
  } else {
    maximum = Math.max(1, maximum - 1);
    minimum = Math.min(maximum, minimum);
  }
  return { minimum, maximum };
}
