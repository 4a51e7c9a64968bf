/**
 * Logs what a helper writes to stderr, line by line, at most `perSecond` lines a second;
 * the rest is only counted. The pipe is always read, so a chatty helper never blocks on a
 * full stderr pipe, and a flood costs one newline count per chunk, not one log call per line.
 */
import type { Log } from '../log/log';

const MAX_LINE = 1024;

export class StderrLog {
  private partial = '';
  private windowStart = 0;
  private logged = 0;
  private dropped = 0;

  constructor(
    private readonly log: Log,
    private readonly pid: number | undefined,
    private readonly perSecond: number,
  ) {}

  push(chunk: Buffer, now: number): void {
    if (now - this.windowStart >= 1000) {
      this.reportDropped();
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged >= this.perSecond) {
      this.dropped += countLines(chunk);
      this.partial = '';
      return;
    }
    const lines = (this.partial + chunk.toString('latin1')).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.line(line);
    if (this.partial.length > MAX_LINE) {
      this.line(this.partial);
      this.partial = '';
    }
  }

  /** Logs an unfinished last line and the count of lines left out (at exit). */
  flush(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
    this.reportDropped();
  }

  private line(line: string): void {
    if (this.logged >= this.perSecond) {
      this.dropped++;
      return;
    }
    this.logged++;
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    this.log.warn({ pid: this.pid, stderr: text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text }, 'redirector helper wrote to stderr');
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.log.warn({ pid: this.pid, lines: this.dropped }, `redirector helper wrote ${this.dropped} more stderr lines, not logged (rate limit)`);
    this.dropped = 0;
  }
}

function countLines(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) count++;
  return count;
}
