// One worker as the primary sees it, and waiting for it to be ready. A worker is a forked
// process (node:cluster) or, in a single process (daemon.workers=1, daemon.supervise=false), the
// data path running beside the primary (in-process.ts): both are a MemberProcess, and the
// primary's logic (start, reload, drain, stop, figures) is the same for both.
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:cluster';
import type { Snapshot } from '../monitor/stats';
import type { HelperPools, PoolStats } from '../monitor/pool';
import type { PrimaryMessage } from './messages';

/**
 * Emits 'message' (a WorkerMessage, or anything else on the channel), 'exit' (code, signal),
 * 'error' (the channel failed) and, emitted by the primary, 'exaproxy:ready'.
 */
export interface MemberProcess extends EventEmitter {
  readonly pid: number;
  /** how log lines name it: "worker 1234", or the data path in the primary's process */
  readonly name: string;
  send(m: PrimaryMessage): void;
  isConnected(): boolean;
  /** ends it at once (SIGKILL for a forked worker) */
  kill(): void;
  /** asks for a report now, when it can answer at once (in the same process) */
  poll?(): void;
}

/** A worker forked by node:cluster, as a MemberProcess. */
export class ForkedWorker extends EventEmitter implements MemberProcess {
  readonly pid: number;
  readonly name: string;
  constructor(private readonly worker: Worker) {
    super();
    this.pid = worker.process.pid ?? 0;
    this.name = `worker ${this.pid}`;
    worker.on('message', (m: unknown) => this.emit('message', m));
    worker.on('exit', (code: number | null, signal: string | null) => this.emit('exit', code, signal));
    worker.on('error', (err: Error) => this.emit('error', err));
  }
  send(m: PrimaryMessage): void {
    this.worker.send(m);
  }
  isConnected(): boolean {
    return this.worker.isConnected();
  }
  kill(): void {
    this.worker.process.kill('SIGKILL');
  }
}

export interface Member {
  worker: MemberProcess;
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
