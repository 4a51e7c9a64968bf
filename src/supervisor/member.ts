// One worker as the primary sees it, and waiting for it to be ready.
import type { Worker } from 'node:cluster';
import type { Snapshot } from '../monitor/stats';
import type { HelperPools, PoolStats } from '../monitor/pool';

export interface Member {
  worker: Worker;
  generation: number;
  ready: boolean;
  /** set once we asked it to stop: its exit is expected */
  leaving: boolean;
  last?: Snapshot;
  pool?: PoolStats;
  /** the auth and external ACL helper pools */
  helpers?: HelperPools;
  startedAt: number;
  killTimer?: NodeJS.Timeout;
  /** the worker's own line saying why it could not start */
  failure?: string;
  /** where it listens ("host:port"), from its ready message */
  addresses?: string[];
}

/** Resolves true once the worker is ready, false if it exits first or takes longer than timeoutMs. */
export function waitReady(member: Member, timeoutMs: number): Promise<boolean> {
  if (member.ready) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => settle(false), timeoutMs);
    const onReady = (): void => settle(true);
    const onExitEarly = (): void => settle(false);
    function settle(ok: boolean): void {
      clearTimeout(timer);
      member.worker.off('exaproxy:ready', onReady);
      member.worker.off('exit', onExitEarly);
      resolve(ok);
    }
    member.worker.on('exaproxy:ready', onReady);
    member.worker.on('exit', onExitEarly);
  });
}
