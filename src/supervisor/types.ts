// What the primary is given (PrimaryOptions) and what it gives back (Supervisor).
import type { Snapshot } from '../monitor/stats';
import type { PoolStats } from '../monitor/pool';
import type { RecentLines } from '../monitor/recent';
import type { Log } from '../monitor/server';
import type { WorkerHandle } from './worker';

export interface MonitorSettings {
  host: string;
  port: number;
  token?: string;
  connections?: number;
  identifier?: string;
  configJson: () => object;
  /** whether a log file can be reopened (otherwise POST /control/reopen answers 409) */
  logFiles?: boolean;
  /** web.open-control */
  openControl?: boolean;
  /** redirector.maximum: the ceiling of POST /control/pool */
  poolMaximum?: number;
}

export interface PrimaryOptions {
  /** daemon.workers: 0 means one per CPU core */
  workers: number;
  log: Log;
  /** daemon.pidfile ('' or undefined: none) */
  pidfile?: string;
  /** daemon.user: dropped to once the first workers listen (when started as root) */
  user?: string;
  /** http.connections: shared by the workers, each share checked against RLIMIT_NOFILE */
  connections?: number;
  /** tcp4/tcp6.backlog: how many more clients each worker keeps waiting at its limit */
  backlog?: number;
  /** how long old workers may finish their connections after a reload (ms); default 30 s */
  drainTimeoutMs?: number;
  /** how long workers may finish their connections on SIGQUIT (ms); default 0, no limit (as ExaProxy) */
  softStopTimeoutMs?: number;
  /** how long workers get to close on SIGTERM/SIGINT before being killed; default 5 s */
  stopTimeoutMs?: number;
  /** how long a new worker may take to become ready; default 30 s */
  startTimeoutMs?: number;
  /**
   * SIGHUP: re-read and check the configuration before new workers are started (they read it
   * themselves). Throw to refuse the reload (the running workers stay). May return a new
   * worker count and new monitor settings.
   */
  reload?: () => Promise<ReloadResult | void> | ReloadResult | void;
  /** web.enable: the monitor's settings, or undefined for no monitor */
  monitor?: MonitorSettings;
  /** debug logging of the primary's own logger */
  debug?: (on: boolean) => void;
  /** reopen the primary's own log files */
  reopen?: () => void;
  /** the primary's own recent log lines (worker lines are added to it) */
  recent?: RecentLines;
  /** environment given to every worker */
  env?: NodeJS.ProcessEnv;
  /** more environment, made for each worker as it is forked (its own copy of a shared socket) */
  forkEnv?: () => NodeJS.ProcessEnv;
  /**
   * daemon.workers=1 and daemon.supervise=false: no worker is forked, this starts the data path
   * in this process instead (at start and on each reload), and resolves once it serves. The
   * monitor starts before it, so that both may bind ports below 1024 before the drop to
   * daemon.user, which it does itself between binding its sockets and starting its helpers.
   */
  inProcess?: () => Promise<WorkerHandle>;
  /** how often the data path reports its figures (ms, default 1000) */
  reportMs?: number;
}

export interface ReloadResult {
  workers?: number;
  monitor?: MonitorSettings;
}

export interface Supervisor {
  /** resolves with the exit code once everything has stopped */
  done: Promise<number>;
  /** the pids of the live workers */
  workers(): number[];
  /** where the first workers listen ("host:port"), as they reported it */
  addresses(): string[];
  /** aggregated figures of every process */
  stats(): Snapshot;
  pool(): PoolStats | undefined;
  reload(): Promise<boolean>;
  stop(graceful: boolean): Promise<number>;
}
