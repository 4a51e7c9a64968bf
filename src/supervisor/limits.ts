// How many clients each worker serves: http.connections is the proxy's limit, so it is split
// between the workers, and each share must fit in the worker's open-file limit
// (RLIMIT_NOFILE, per process): a served client can hold two descriptors (client and upstream
// socket), a waiting one holds one, and so does a refused one while it reads its 503 (as many
// of those as may wait), plus a margin for listeners, helpers, logs and DNS.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface FileLimit {
  soft: number;
  hard: number;
}

export const DESCRIPTOR_MARGIN = 64;

/** The primary tells each worker how many workers share http.connections (node:cluster env). */
export const WORKERS_ENV = 'EXAPROXY_WORKERS';

/** Reads "Max open files" from /proc/<pid>/limits ("unlimited" reads as Infinity). */
export function readFileLimit(pid: number | 'self' = 'self'): FileLimit | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const m = line?.match(/^Max open files\s+(\S+)\s+(\S+)/);
    if (!m) return undefined;
    const value = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: value(m[1]), hard: value(m[2]) };
  } catch {
    return undefined;
  }
}

export interface ConnectionBudget {
  /** clients one worker serves at once */
  perWorker: number;
  /** clients one worker keeps waiting (accepted, not served yet); more are refused with a 503 (as many reading it at once) */
  queue: number;
  /** open files one worker needs to serve its whole share of http.connections */
  needed: number;
  /** true when the open-file limit, not http.connections, decided perWorker */
  fileLimited: boolean;
}

/**
 * Each of `workers` workers serves http.connections / workers (rounded down, at least 1) and
 * keeps at most `backlog` (tcp4/tcp6.backlog) more waiting, and as many refused ones reading
 * their 503. When `files` descriptors are not enough for that, the share shrinks to what fits:
 * a fifth of the spare descriptors (at most `backlog`) for waiting clients, as many for refused
 * ones, the rest for served ones at two each.
 */
export function connectionBudget(connections: number, workers: number, backlog: number, files: number): ConnectionBudget {
  const share = Math.max(1, Math.floor(connections / Math.max(1, workers)));
  const needed = 2 * share + 2 * backlog + DESCRIPTOR_MARGIN;
  if (files >= needed) return { perWorker: share, queue: backlog, needed, fileLimited: false };
  const spare = Math.max(0, files - DESCRIPTOR_MARGIN);
  const queue = Math.min(backlog, Math.floor(spare / 5));
  const perWorker = Math.max(1, Math.floor((spare - 2 * queue) / 2));
  return { perWorker: Math.min(perWorker, share), queue, needed, fileLimited: true };
}

/** The budget of this worker: its own open-file limit, and the worker count the primary gave. */
export function workerBudget(connections: number, backlog: number): ConnectionBudget {
  const workers = Number(process.env[WORKERS_ENV]) || 1;
  return connectionBudget(connections, workers, backlog, readFileLimit()?.soft ?? Infinity);
}

export interface LimitCheck {
  budget: ConnectionBudget;
  limit: FileLimit | undefined;
  /** set when the soft limit was raised (with util-linux prlimit) */
  raisedFrom?: number;
  /** one line for the operator when the open-file limit lowers the connection limit */
  message?: string;
}

/**
 * Run by the primary before it forks (the workers inherit its limit). Node already raises the
 * soft limit to the hard one at startup; when that is still short, the limit is raised with
 * util-linux's `prlimit` on our own pid (Node has no setrlimit), which works for root (before
 * the privilege drop). Otherwise the workers serve what fits, and the message says so.
 */
export function checkFileLimit(connections: number, workers: number, backlog: number): LimitCheck {
  const limit = readFileLimit();
  const before = connectionBudget(connections, workers, backlog, limit?.soft ?? Infinity);
  if (limit === undefined || !before.fileLimited) return { budget: before, limit };
  const hard = limit.hard === Infinity ? 'unlimited' : String(Math.max(before.needed, limit.hard));
  const raised = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${before.needed}:${hard}`], { stdio: 'ignore' });
  const after = (raised.status === 0 ? readFileLimit() : undefined) ?? limit;
  const budget = connectionBudget(connections, workers, backlog, after.soft);
  const raisedFrom = after.soft > limit.soft ? limit.soft : undefined;
  if (!budget.fileLimited) return { budget, limit: after, raisedFrom };
  const each = workers > 1 ? `each of the ${workers} workers serves at most ${budget.perWorker} (${budget.perWorker * workers} in all)` : `it serves at most ${budget.perWorker}`;
  return {
    budget,
    limit: after,
    raisedFrom,
    message:
      `exaproxy: http.connections=${connections} needs ${budget.needed} open files per worker but the limit (RLIMIT_NOFILE) is ${after.soft}, ` +
      `so ${each} connections at once; raise it (ulimit -n ${budget.needed}, or LimitNOFILE=${budget.needed} in the systemd unit) or lower http.connections`,
  };
}
