// daemon.pidfile: written at start, removed at exit. Fixes ExaProxy's pidfile bugs: a missing
// file is created, a stale one (its process is gone) is replaced, and a live one is refused.
import { openSync, writeSync, closeSync, readFileSync, unlinkSync, constants } from 'node:fs';

export class PidfileError extends Error {}

/** Writes our pid to `path`; throws PidfileError (with what to do) when another live process holds it. */
export function writePidfile(path: string, pid = process.pid): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // O_EXCL: two instances starting together cannot both believe they own the file.
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new PidfileError(`daemon.pidfile: cannot create ${path} (${code ?? (err as Error).message}); check that its folder exists and is writable, or change daemon.pidfile`);
      }
    }
    const holder = readPid(path);
    if (holder !== undefined && holder !== pid && isAlive(holder)) {
      throw new PidfileError(`daemon.pidfile: ${path} belongs to process ${holder}, which is running; stop it first or use another daemon.pidfile`);
    }
    // Stale (dead process, garbage or our own pid): remove it and try again.
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new PidfileError(`daemon.pidfile: cannot replace the stale ${path} (${(err as NodeJS.ErrnoException).code}); remove it by hand`);
      }
    }
  }
  throw new PidfileError(`daemon.pidfile: ${path} keeps coming back; is another exaproxy starting at the same time?`);
}

/** Removes the pidfile if it still holds our pid; returns whether it did. */
export function removePidfile(path: string, pid = process.pid): boolean {
  if (readPid(path) !== pid) return false;
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

export function readPid(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^\d{1,10}$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
