// What a worker does with its data path, wherever it runs: obeys the primary's messages, stops
// (draining within a limit, or at once) and reports its figures. A forked worker (worker.ts)
// talks over node:cluster's IPC channel; the one data path of a single process (in-process.ts)
// talks to its primary by function call. Both run this, so they behave the same.
import { Stats as EmptyStats } from '../monitor/stats';
import { guarded } from '../monitor/periodic';
import type { Log } from '../monitor/server';
import type { PrimaryMessage, WorkerMessage } from './messages';
import type { HelperPools, PoolStats } from '../monitor/pool';
import type { RecentLines } from '../monitor/recent';
import type { Stats } from '../monitor/stats';

/** What startWorker() gives back: the running data path of one worker. */
export interface WorkerHandle {
  /** the Stats the data path feeds */
  stats?: Stats;
  /** the helper pool (src/redirector): pool.stats() and pool.resize(min, max) */
  pool?: { stats(): PoolStats; resize(minimum: number, maximum: number): void | Promise<void> };
  /** the auth and external ACL helper pools' figures */
  helperPools?: () => HelperPools;
  /** stop (false) / start (true) listening on the proxy ports */
  listen(on: boolean): void | Promise<void>;
  /** debug logging on or off */
  debug(on: boolean): void;
  /** reopen log files */
  reopen?(): void | Promise<void>;
  /**
   * graceful: stop accepting and resolve once the connections in progress are finished.
   * Not graceful: close everything now. The process exits once this resolves.
   */
  stop(graceful: boolean): Promise<void>;
  /** this worker's recent log lines, forwarded to the dashboard */
  recent?: RecentLines;
  /** where the proxy listens ("host:port"), for the primary's start-up line */
  addresses?: string[];
}

export interface Obeying {
  apply(m: PrimaryMessage): Promise<void>;
  stop(graceful: boolean, timeoutMs: number): Promise<void>;
  /** sends a report now */
  report(): void;
}

/**
 * `name` names it in log lines ("worker 1234"); `send` carries its messages to the primary;
 * `stopped` runs once it has stopped (a forked worker exits then).
 */
export function obey(handle: WorkerHandle, log: Log, name: string, send: (m: WorkerMessage) => void, stopped: () => void, reportMs: number): Obeying {
  const fallback = new EmptyStats();
  let seq = 0;
  // Runs in a timer: an exception there would end the process and every connection it holds.
  const report = guarded(`${name}: statistics report`, log, (): void => {
    const logs = handle.recent?.since(seq) ?? { lines: [], next: 0 };
    seq = logs.next;
    send({ exaproxy: 'report', stats: (handle.stats ?? fallback).snapshot(), pool: handle.pool?.stats() ?? null, helpers: handle.helperPools?.() ?? {}, logs: logs.lines });
  });
  const reporter = setInterval(report, reportMs);
  reporter.unref();

  let stopping: Promise<void> | undefined;
  const stop = (graceful: boolean, timeoutMs: number): Promise<void> => {
    if (stopping !== undefined && graceful) return stopping;
    send({ exaproxy: 'stopping', graceful });
    log.info(`${name}: ${graceful ? `draining connections${timeoutMs > 0 ? ` (at most ${timeoutMs} ms)` : ''}` : 'stopping now'}`);
    const done = (async () => {
      if (graceful && timeoutMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), timeoutMs)));
        const outcome = await Promise.race([handle.stop(true).then(() => 'drained' as const), expired]);
        clearTimeout(timer);
        if (outcome === 'expired') {
          log.warn(`${name}: connections still open after ${timeoutMs} ms, closing them`);
          await handle.stop(false);
        }
      } else {
        await handle.stop(graceful);
      }
      clearInterval(reporter);
      report();
    })();
    stopping = done;
    done.catch((err: Error) => log.error(`${name}: stop failed: ${err.message}`)).finally(stopped);
    return done;
  };

  async function apply(m: PrimaryMessage): Promise<void> {
    switch (m.exaproxy) {
      case 'listen':
        return handle.listen(m.on);
      case 'debug':
        return handle.debug(m.on);
      case 'resize':
        if (handle.pool === undefined) log.warn(`${name}: no helper pool to resize (redirector.enable is false)`);
        else await handle.pool.resize(m.minimum, m.maximum);
        return;
      case 'reopen':
        return handle.reopen?.();
      case 'stop':
        return stop(m.graceful, m.timeoutMs);
    }
  }
  return { apply, stop, report };
}
