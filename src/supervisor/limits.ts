// RLIMIT_NOFILE against http.connections: every client connection can hold two descriptors
// (client and upstream socket), plus a margin for listeners, helpers, logs and DNS.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface FileLimit {
  soft: number;
  hard: number;
}

export const DESCRIPTOR_MARGIN = 64;

export function descriptorsNeeded(connections: number): number {
  return 2 * connections + DESCRIPTOR_MARGIN;
}

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

export interface LimitCheck {
  ok: boolean;
  needed: number;
  limit: FileLimit | undefined;
  /** set when the soft limit was raised (with util-linux prlimit) */
  raisedFrom?: number;
  /** what to tell the operator when not ok */
  message?: string;
}

/**
 * Checks that this process may open enough descriptors for `connections` clients. Node already
 * raises the soft limit to the hard one at startup; when that is still short, the limit is
 * raised with util-linux's `prlimit` on our own pid (Node has no setrlimit), which works for
 * root (before the privilege drop). Otherwise it says how many connections fit and how to fix it.
 */
export function checkFileLimit(connections: number): LimitCheck {
  const needed = descriptorsNeeded(connections);
  const limit = readFileLimit();
  if (limit === undefined) return { ok: true, needed, limit };
  if (limit.soft >= needed) return { ok: true, needed, limit };
  const hard = limit.hard === Infinity ? 'unlimited' : String(Math.max(needed, limit.hard));
  const raised = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${needed}:${hard}`], { stdio: 'ignore' });
  const after = raised.status === 0 ? readFileLimit() : undefined;
  if (after !== undefined && after.soft >= needed) return { ok: true, needed, limit: after, raisedFrom: limit.soft };
  const soft = after?.soft ?? limit.soft;
  const fits = Math.max(0, Math.floor((soft - DESCRIPTOR_MARGIN) / 2));
  return {
    ok: false,
    needed,
    limit: after ?? limit,
    message:
      `http.connections=${connections} needs ${needed} open files but the limit (RLIMIT_NOFILE) is ${soft} ` +
      `(hard ${limit.hard}), so only about ${fits} connections fit; raise it (ulimit -n ${needed}, or LimitNOFILE=${needed} in the systemd unit) ` +
      `or lower http.connections`,
  };
}
