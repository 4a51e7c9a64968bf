/**
 * When the pool may start a helper again, and how a replaced helper is reported.
 *
 * A helper that fails before answering anything (it exits at start, or prints a line
 * nobody asked for) points at a broken program or configuration more often than at a bad
 * request. The first such failure is replaced at once, each further one doubles the wait
 * before the next spawn (up to 10 s), and any answer from any helper resets the count: a
 * broken program neither burns the CPU in a spawn loop nor fails without an ERROR line.
 */
import { Throttle } from './throttle';
import type { Log } from '../log/log';

/** A helper that dies this soon without answering anything is "crashing at start". */
const QUICK_DEATH_MS = 1_000;
const MAX_RESPAWN_DELAY_MS = 10_000;

/** What the policy needs to know about a failed helper. */
export interface FailedHelper {
  pid: number | undefined;
  answered: number;
  startedAt: number;
  slots: { size: number };
}

export type FailureKind = 'crash' | 'broken' | 'timeout';

/** How the log names what keeps failing, and what the operator should check. */
export interface RespawnSubject {
  /** `redirector helper`, or `ICAP service icap://…`. */
  kind: string;
  /** With the program: `redirector helper "PROGRAM"`. */
  name: string;
  /** Logged with each message: `{ program }` or `{ service }`. */
  fields: Record<string, string>;
  /** The option to check, said after "Check". */
  check: string;
  /** Why a request finds no helper at all (each start failed). */
  none: string;
}

/** The subject of a helper program's messages. */
export function programSubject(program: readonly string[]): RespawnSubject {
  return {
    kind: 'redirector helper',
    name: `redirector helper "${program.join(' ')}"`,
    fields: { program: program.join(' ') },
    check: 'redirector.program and run it by hand to see why it stops',
    none: 'no redirector helper is running (the program keeps exiting: see the errors logged before)',
  };
}

export class RespawnPolicy {
  /** Monotonic ms before which no helper is spawned. */
  blockedUntil = 0;
  private failedStarts = 0;
  private readonly startLog = new Throttle(5_000);
  /** Such a line is a bug of the helper, not of a request: once a minute is enough to find it. */
  private readonly unsolicitedLog = new Throttle(60_000);

  constructor(private readonly subject: RespawnSubject, private readonly log: Log) {}

  /** A helper answered: the program works. */
  answered(): void {
    this.failedStarts = 0;
  }

  /**
   * Logs why a helper is being replaced and, for one that never answered, delays the next
   * spawn. `line` is set when the helper printed a line that no request asked for.
   */
  report(helper: FailedHelper, reason: string, kind: FailureKind, now: number, line?: string): void {
    const neverAnswered = helper.answered === 0;
    if (line !== undefined) {
      const delay = neverAnswered ? this.failedStart(now) : 0;
      const suppressed = this.unsolicitedLog.pass(now);
      const fields = { ...this.subject.fields, pid: helper.pid, line, inFlight: helper.slots.size, suppressed };
      const message = `${this.subject.name} ${reason}: taken for a verdict, such a line would decide `
        + `another request, so the helper is replaced${delay > 0 ? ` in ${delay} ms` : ''}. A helper must write `
        + 'nothing on stdout but one answer per request (a line printed at start is the usual cause)';
      if (suppressed !== null) this.log.error(fields, message);
      else this.log.debug(fields, message);
      return;
    }
    if (kind === 'crash' && neverAnswered && now - helper.startedAt < QUICK_DEATH_MS) {
      const delay = this.failedStart(now);
      const suppressed = this.startLog.pass(now);
      if (suppressed !== null) {
        this.log.error({ ...this.subject.fields, pid: helper.pid, reason, suppressed },
          `${this.subject.kind} stopped before answering anything (it ${reason}); starting another in ${delay} ms. Check ${this.subject.check}`);
      }
      return;
    }
    const what = kind === 'broken' ? 'misbehaved' : 'failed';
    this.log.warn({ pid: helper.pid, reason, inFlight: helper.slots.size }, `redirector helper ${what}: it ${reason}; replacing it`);
  }

  /** spawn() threw (an error it does not report as an event): a failed start. */
  spawnThrew(now: number, error: Error): void {
    this.failedStarts++;
    this.blockedUntil = now + Math.min(100 * 2 ** this.failedStarts, MAX_RESPAWN_DELAY_MS);
    this.log.error(this.subject.fields, `${this.subject.kind} could not be started: ${error.message}. Check ${this.subject.check}`);
  }

  /**
   * spawn() gave no pid (ENOENT, EACCES…): the 'error' event that follows logs why and sets
   * the real back-off; until then, do not try again for every request of this tick.
   */
  spawnFailed(now: number): void {
    this.blockedUntil = now + 100;
  }

  /** One early failure may be a request that crashes its helper; a run of them is a broken program. */
  private failedStart(now: number): number {
    this.failedStarts++;
    const delay = this.failedStarts === 1 ? 0 : Math.min(100 * 2 ** (this.failedStarts - 2), MAX_RESPAWN_DELAY_MS);
    this.blockedUntil = Math.max(this.blockedUntil, now + delay);
    return delay;
  }
}
