/**
 * The exaproxy under soak: the built command (dist/) with a url helper, its monitor on, and
 * what can be read of it from /proc — memory and open files of its node processes (the
 * primary and the workers; helpers come and go by design), and its helpers.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, stopProcess, waitForPort, type Started } from '../../bench/proc';
import { treePids } from '../../bench/proc';
import type { SoakOptions } from './options';

const ROOT = join(__dirname, '..', '..');

export interface SoakProxy {
  port: number;
  monitorPort: number;
  started: Started;
  /** Resident memory of the node processes (primary and workers), MiB. */
  rssMiB(): number;
  /** Open files of the node processes. */
  fds(): number;
  helpers(): number[];
  stop(): Promise<void>;
}

/**
 * Raises RLIMIT_NOFILE of this process — and so of the exaproxy it starts, which sizes its
 * connection budget by it (two files per client) — to at least `wanted` (util-linux prlimit:
 * Node has no setrlimit). The hard limit is never lowered.
 */
export function raiseFileLimit(wanted: number): void {
  const hard = readHardFileLimit();
  if (hard === Infinity) return;
  // Above the hard limit needs CAP_SYS_RESOURCE (root in a container may lack it): then the
  // soft limit goes up to the hard one, and the workers share the load.
  const limit = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${Math.max(wanted, hard)}:${Math.max(wanted, hard)}`]).status === 0
    ? Math.max(wanted, hard)
    : hard;
  if (limit !== Math.max(wanted, hard)) spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`]);
  if (readSoftFileLimit() < wanted) {
    throw new Error(`soak: RLIMIT_NOFILE is ${readSoftFileLimit()} (hard ${hard}) and ${wanted} files are needed per process: raise it (ulimit -Hn), or use more --workers, or lower --idle and --slowloris`);
  }
}

function readFileLimit(which: 1 | 2): number {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m?.[which] === 'unlimited' ? Infinity : Number(m?.[which] ?? 0);
}
const readSoftFileLimit = (): number => readFileLimit(1);
const readHardFileLimit = (): number => readFileLimit(2);

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function statusKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function openFiles(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** http.connections: every soak client, with room for a worker that gets more than its half. */
export function connectionsFor(o: SoakOptions): number {
  return Math.ceil((o.idle + o.slowloris + o.keepalive + o.tunnels + o.uploads) * 1.25) + 1000;
}

export async function startSoakProxy(o: SoakOptions, originPort: number, echoPort: number): Promise<SoakProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'exaproxy-soak-'));
  const helper = join(dir, 'permit.py');
  writeFileSync(helper, '#!/usr/bin/python3\nimport sys\nfor line in sys.stdin:\n    sys.stdout.write("\\n")\n    sys.stdout.flush()\n');
  chmodSync(helper, 0o755);
  const [port, monitorPort] = [await freePort(), await freePort()];
  const user = process.getuid?.() === 0 ? ['--daemon.user=root'] : [];
  const args = [
    join(ROOT, 'bin', 'exaproxy.js'),
    '--tcp4.host=127.0.0.1', `--tcp4.port=${port}`,
    '--web.enable=true', '--web.host=127.0.0.1', `--web.port=${monitorPort}`,
    `--daemon.workers=${o.workers}`, ...user, '--log.level=WARNING',
    '--redirector.enable=true', `--redirector.program=${helper}`, '--redirector.protocol=url',
    '--redirector.minimum=2', '--redirector.maximum=4',
    // A helper killed with requests in flight: those are forwarded, so that every legitimate
    // request has one correct answer (the failure rule itself is tested in faults-helpers).
    '--redirector.failure=allow',
    `--security.local=127.0.0.1:${originPort} 127.0.0.1:${echoPort}`, `--security.connect=${echoPort}`,
    `--http.header-timeout=${o.headerTimeout}`, '--http.keepalive-timeout=0', '--http.upstream-idle-timeout=2',
    `--http.connections=${connectionsFor(o)}`,
  ];
  const started = startProcess(undefined, process.execPath, args, { cwd: ROOT });
  await waitForPort(port, started, 'exaproxy', 30_000);
  await waitForPort(monitorPort, started, 'the exaproxy monitor', 30_000);
  const pid = started.child.pid!;
  const nodes = (): number[] => treePids(pid).filter((p) => comm(p) === 'node' || comm(p).startsWith('exaproxy'));
  return {
    port,
    monitorPort,
    started,
    rssMiB: () => nodes().reduce((sum, p) => sum + statusKiB(p), 0) / 1024,
    fds: () => nodes().reduce((sum, p) => sum + openFiles(p), 0),
    // A helper's comm is its script's name (permit.py): whatever is not node is a helper.
    helpers: () => treePids(pid).filter((p) => p !== pid && comm(p) !== 'node' && comm(p) !== ''),
    stop: () => stopProcess(started.child, 10_000),
  };
}

/** The event-loop delay the monitor reports (exaproxy_event_loop_delay_seconds), ms; NaN if unread. */
export async function loopDelayMs(monitorPort: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${monitorPort}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    return Number(/^exaproxy_event_loop_delay_seconds (\S+)/m.exec(text)?.[1]) * 1000;
  } catch {
    return Number.NaN;
  }
}
