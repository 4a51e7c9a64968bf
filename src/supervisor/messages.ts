// The IPC messages between the primary and its workers (node:cluster's process.send channel).
// Every message carries an `exaproxy` field naming it, so nothing else on the channel is mistaken for one.
import type { Snapshot } from '../monitor/stats';
import type { HelperPools, PoolStats } from '../monitor/pool';

/** Primary → worker: what the signals and the monitor's control actions turn into. */
export type PrimaryMessage =
  /** SIGTTOU (false) / SIGTTIN (true), or POST /control/listen */
  | { exaproxy: 'listen'; on: boolean }
  /** SIGTRAP toggles it, or POST /control/debug */
  | { exaproxy: 'debug'; on: boolean }
  /** SIGUSR1/SIGUSR2 (computed by the primary), or POST /control/pool: helper pool limits per worker */
  | { exaproxy: 'resize'; minimum: number; maximum: number }
  /** POST /control/reopen: reopen log files */
  | { exaproxy: 'reopen' }
  /**
   * SIGQUIT, SIGHUP (old workers) → graceful: stop accepting, finish the connections in
   * progress, give up after timeoutMs (0 = no limit). SIGTERM/SIGINT → not graceful.
   */
  | { exaproxy: 'stop'; graceful: boolean; timeoutMs: number };

/** Worker → primary. */
export type WorkerMessage =
  /** the worker listens and serves (on these proxy addresses, "host:port") */
  | { exaproxy: 'ready'; pid: number; addresses?: string[] }
  /** the worker could not start: the one line saying why (it exits right after) */
  | { exaproxy: 'failed'; reason: string }
  /** about once a second: figures for the monitor, and log lines written since the last report */
  | { exaproxy: 'report'; stats: Snapshot; pool: PoolStats | null; helpers?: HelperPools; logs: string[] }
  /** the worker is stopping (after a stop message or SIGTERM) */
  | { exaproxy: 'stopping'; graceful: boolean };

function tagged(m: unknown): boolean {
  return typeof m === 'object' && m !== null && typeof (m as { exaproxy?: unknown }).exaproxy === 'string';
}

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return tagged(m);
}

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return tagged(m);
}
