// Processes for the benchmark: starting peers pinned to a core, finding free ports, and reading the
// CPU time and memory of a whole process tree from /proc (a proxy may fork workers and helpers, and
// all of them count).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus } from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on every Linux we target). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The cores a job runs on: the peer alone on one core, the load generator and origin on another. */
export interface CorePlan {
  peer: string | undefined;
  load: string | undefined;
}

/** With two cores or more the peer gets core 0 and the rest (wrk, origin) core 1; with one, nothing is pinned. */
export function planCores(): CorePlan {
  return cpus().length >= 2 ? { peer: '0', load: '1' } : { peer: undefined, load: undefined };
}

/** `taskset -c <core> cmd args…` when a core is given, so the pid stays the command's own (taskset execs). */
export function pinned(core: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return core === undefined ? [cmd, args] : ['taskset', ['-c', core, cmd, ...args]];
}

export interface Started {
  child: ChildProcess;
  /** The last lines the process wrote, for the error message when it dies early. */
  output(): string;
}

/** Starts a long-running process and keeps the tail of its output for error messages. */
export function startProcess(
  core: string | undefined,
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Started {
  const [file, argv] = pinned(core, cmd, args);
  const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (error) => keep(Buffer.from(`\n${error.message}\n`)));
  return { child, output: () => tail };
}

/** Stops a process: SIGTERM, then SIGKILL (to the process and its descendants) when it lingers. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const descendants = treePids(child.pid).slice(1);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
  // Helpers a peer forgot to reap must not keep burning CPU into the next measurement.
  for (const pid of descendants) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone: that is what we want
    }
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts connections on 127.0.0.1:port, or fails naming the process that did not. */
export async function waitForPort(port: number, started: Started, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      await sleep(100); // its last words may still be in the pipe
      throw new Error(`${what} exited before listening on 127.0.0.1:${port}. Its output:\n${started.output()}`);
    }
    if (await accepts(port)) return;
    if (Date.now() > deadline) {
      throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms. Its output:\n${started.output()}`);
    }
    await sleep(50);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The pid and all its living descendants, parent first. */
export function treePids(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(name));
    children.set(stat.ppid, list);
  }
  const pids: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    pids.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return pids;
}

interface Stat {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks: own time plus that of reaped children. */
  ticks: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return { ppid: Number(fields[1]), ticks };
}

/** CPU seconds used so far by the tree (reaped children included through cutime/cstime, so none is lost). */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of treePids(root)) ticks += readStat(pid)?.ticks ?? 0;
  return ticks / CLOCK_TICKS;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sum of the resident memory of the tree, KiB. */
export function treeRssKiB(root: number): number {
  return treePids(root).reduce((sum, pid) => sum + statusKiB(pid, 'VmRSS'), 0);
}

/** Sum of the peak resident memory (VmHWM) of the tree, KiB. */
export function treePeakRssKiB(root: number): number {
  return treePids(root).reduce((sum, pid) => sum + statusKiB(pid, 'VmHWM'), 0);
}

/** The peak RSS of one kind of process in a tree: the root, its workers (children running the same program), the rest. */
export interface ProcessPeak {
  /** `process` for a peer that is one process; `primary` for a root with workers. */
  role: 'process' | 'primary' | 'worker' | 'helpers';
  count: number;
  kib: number;
}

function executable(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}

/**
 * VmHWM of the tree split by role. Each process's resident set counts the program's shared pages
 * (Node's text, the addon) again, so two Node processes cost at least twice a bare Node's.
 */
export function treePeakRssByRole(root: number): ProcessPeak[] {
  const [first, ...rest] = treePids(root);
  if (first === undefined) return [];
  const program = executable(first);
  const workers = rest.filter((pid) => program !== '' && executable(pid) === program);
  const helpers = rest.filter((pid) => !workers.includes(pid));
  const sum = (pids: number[]): number => pids.reduce((total, pid) => total + statusKiB(pid, 'VmHWM'), 0);
  const peaks: ProcessPeak[] = [{ role: workers.length > 0 ? 'primary' : 'process', count: 1, kib: statusKiB(first, 'VmHWM') }];
  if (workers.length > 0) peaks.push({ role: 'worker', count: workers.length, kib: sum(workers) });
  if (helpers.length > 0) peaks.push({ role: 'helpers', count: helpers.length, kib: sum(helpers) });
  return peaks;
}

/** Resets VmHWM of every process in the tree (writing 5 to clear_refs), so the peak is that of what follows. */
export function resetPeakRss(root: number): void {
  for (const pid of treePids(root)) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // Not allowed (another user's process) or gone: the peak then includes the start-up.
    }
  }
}

/** The soft limit on open files that children inherit (`ulimit -n`). */
export function fileLimit(): number {
  return Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim()) || 1024;
}

/** Runs a command to the end and returns its stdout + stderr (for version strings and installers). */
export function runText(cmd: string, args: string[], options: { cwd?: string } = {}): { ok: boolean; text: string } {
  const result = spawnSync(cmd, args, { cwd: options.cwd, encoding: 'utf8', timeout: 600_000 });
  return { ok: result.status === 0, text: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/** Per-core busy and total jiffies from /proc/stat, to tell how loaded each core was during a load. */
export type CoreTimes = Map<string, { busy: number; total: number }>;

export function readCoreTimes(): CoreTimes {
  const times: CoreTimes = new Map();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (!match) continue;
    const fields = (match[2] as string).trim().split(/\s+/).map(Number);
    const total = fields.reduce((sum, v) => sum + v, 0);
    // idle + iowait are the not-busy columns.
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    times.set(match[1] as string, { busy: total - idle, total });
  }
  return times;
}

/** Fraction of the time (0..1) a core was busy between two readings; undefined for an unknown core. */
export function coreBusy(before: CoreTimes, after: CoreTimes, core: string | undefined): number | undefined {
  if (core === undefined) return undefined;
  const a = before.get(core);
  const b = after.get(core);
  if (!a || !b || b.total === a.total) return undefined;
  return (b.busy - a.busy) / (b.total - a.total);
}
