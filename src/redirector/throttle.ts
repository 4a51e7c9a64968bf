/**
 * Lets a repeated log message through at most once per interval and counts the rest, so an
 * overloaded or broken helper pool cannot flood the log with one line per request.
 */
export class Throttle {
  private last = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(private readonly intervalMs: number) {}

  /** Returns null to stay quiet, otherwise how many messages were suppressed since the last one. */
  pass(now: number): number | null {
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return null;
    }
    this.last = now;
    const count = this.suppressed;
    this.suppressed = 0;
    return count;
  }
}

/** A timer's task that never throws (that would end the worker): a failure is logged once. */
export { guarded } from '../monitor/periodic';
