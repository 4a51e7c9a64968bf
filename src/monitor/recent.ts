// The last log lines, kept in memory for the dashboard (ExaProxy kept its last 1000 records).

export class RecentLines {
  private readonly lines: string[] = [];
  /** number of lines ever pushed: lets a reader ask for what is new since it last looked */
  private pushed = 0;

  constructor(readonly capacity = 1000) {}

  push(line: string): void {
    const text = line.endsWith('\n') ? line.slice(0, -1) : line;
    this.lines.push(text);
    this.pushed++;
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  all(): string[] {
    return this.lines.slice();
  }

  /** Lines pushed after `seq` (a value returned earlier as `next`), at most the ones still kept. */
  since(seq: number): { lines: string[]; next: number } {
    const missing = Math.min(this.pushed - seq, this.lines.length);
    return { lines: missing > 0 ? this.lines.slice(this.lines.length - missing) : [], next: this.pushed };
  }

  /**
   * A pino destination that keeps every line here and passes it on to `inner` (stdout, a
   * file, syslog…): `pino(options, recentLines.tee(destination))`.
   */
  tee<T extends { write(chunk: string): unknown; reopen?(): unknown }>(inner: T): { write(chunk: string): boolean; reopen(): void } {
    return {
      write: (chunk: string): boolean => {
        this.push(chunk);
        inner.write(chunk);
        return true;
      },
      // A log file moved by logrotate is reopened through the tee (POST /control/reopen).
      reopen: (): void => void inner.reopen?.(),
    };
  }
}
