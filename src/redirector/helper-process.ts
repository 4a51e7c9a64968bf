/**
 * One helper program: spawns it in its own process group (so a terminal ^C does not reach
 * it and the whole group can be signalled), writes requests to its stdin, cuts its stdout
 * into replies and always drains its stderr. What a reply means is the pool's business.
 *
 * Nothing is written during the helper's first `quietMs`: a line it prints at start (a
 * banner, or an empty line that the `url` protocol reads as "permit") then arrives while no
 * request has reached it, and the pool can tell it from an answer (see `writtenSeq`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { ProtocolError } from './dialect';
import type { Dialect, RawReply, ReplyReader } from './dialect';
import type { Helper, HelperHooks, HelperOpener } from './helper';
import { programSubject, type RespawnSubject } from './respawn-policy';
import { StderrLog } from './stderr-log';
import type { Log } from '../log/log';

export interface HelperSettings {
  program: string[];
  dialect: Dialect;
  log: Log;
  maxReplyBytes: number;
  stderrLinesPerSecond: number;
  /** How long after the spawn the first request is held back (ms). */
  quietMs: number;
}

/** If stdout is still open this long after the process exited (a grandchild holds it), give up on it. */
const EXIT_WITHOUT_EOF_MS = 200;

export class HelperProcess<A> implements Helper<A> {
  readonly pid: number | undefined;
  readonly startedAt: number;
  /** Requests written and not yet answered, by sequence number (the channel-ID), oldest first. */
  readonly slots = new Map<number, A>();
  /** running: takes requests; retiring: finishing its requests before stopping; stopping/dead: gone. */
  state: 'running' | 'retiring' | 'stopping' | 'dead' = 'running';
  answered = 0;
  /** Moving average of the time from writing a request to its answer, in ms. */
  serviceMs = 0;
  lastActive: number;
  /**
   * Highest sequence number whose request bytes were handed to the helper's stdin: a reply
   * can only answer one of those. Anything read earlier was written before it was asked.
   */
  writtenSeq = 0;
  /** Resolves once the process has exited (or could not be started). */
  readonly exited: Promise<void>;
  private hasExited = false;
  private stdoutEnded = false;
  private nextSeq = 1;
  private readonly child: ChildProcess;
  private readonly reader: ReplyReader;
  private readonly stderr: StderrLog;
  /** Monotonic ms before which nothing is written (the start-up quiet period). */
  readonly quietUntil: number;
  /** Requests queued for one write, and the sequence number of the last of them. */
  private batch: string | null = null;
  private batchSeq = 0;
  /** The batch waits for the end of the quiet period rather than the end of this loop turn. */
  private held = false;

  constructor(settings: HelperSettings, private readonly hooks: HelperHooks<A>, now: number) {
    const [command, ...args] = settings.program;
    this.startedAt = now;
    this.lastActive = now;
    this.quietUntil = now + settings.quietMs;
    this.reader = settings.dialect.newReader(settings.maxReplyBytes);
    this.child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
    this.pid = this.child.pid;
    this.stderr = new StderrLog(settings.log, this.pid, settings.stderrLinesPerSecond);
    let markExited: () => void;
    this.exited = new Promise((resolve) => (markExited = resolve));
    const stderrIsFailure = settings.dialect.stderrIsFailure;

    this.child.on('error', (error: NodeJS.ErrnoException) => {
      if (this.pid === undefined) {
        this.hasExited = true;
        markExited();
        this.hooks.onFailure(this, `could not be started: ${error.message}`, 'crash');
      } else {
        this.hooks.onFailure(this, `failed: ${error.message}`, 'crash');
      }
    });
    this.child.on('exit', (code, signal) => {
      this.hasExited = true;
      this.stderr.flush();
      markExited();
      this.hooks.onExit(this, code, signal);
      if (!this.stdoutEnded) {
        setTimeout(() => this.hooks.onFailure(this, describeExit(code, signal), 'crash'), EXIT_WITHOUT_EOF_MS).unref();
      }
    });
    const { stdin, stdout, stderr } = this.child;
    // Without file descriptors (EMFILE/ENFILE) Node sets up no pipes: the 'error' event reports it.
    if (stdin === null || stdout === null || stderr === null) return;
    // EPIPE and friends arrive here when the helper is gone; the stdout/exit events explain why.
    stdin.on('error', (error: NodeJS.ErrnoException) => {
      this.hooks.onFailure(this, `could not be written to (${error.code ?? error.message})`, 'crash');
    });
    stdout.on('data', (chunk: Buffer) => this.read(chunk));
    stdout.on('end', () => {
      this.stdoutEnded = true;
      this.hooks.onFailure(this, this.hasExited ? describeExit(this.child.exitCode, this.child.signalCode) : 'closed its stdout', 'crash');
    });
    stdout.on('error', () => this.hooks.onFailure(this, 'stdout failed', 'crash'));
    stderr.on('data', (chunk: Buffer) => {
      this.stderr.push(chunk, Date.now());
      // A request held back by the quiet period is not being answered yet: start-up chatter is fine.
      if (stderrIsFailure && this.answering() && this.state !== 'dead') {
        this.hooks.onFailure(this, 'wrote to stderr while answering (ExaProxy ICAP rule)', 'broken');
      }
    });
    stderr.on('error', () => undefined);
  }

  get started(): boolean {
    return this.pid !== undefined;
  }

  /** Whether a request written to the helper awaits its answer (slots are in sequence order). */
  answering(): boolean {
    const first = this.slots.keys().next();
    return first.done !== true && first.value <= this.writtenSeq;
  }

  /** Sequence number for the next request: Squid-style channel-IDs start at 1 per helper. */
  nextSequence(): number {
    return this.nextSeq++;
  }

  /**
   * Queues request `seq` for the helper. Requests written during one turn of the event loop
   * leave in one write: one system call, and one wake-up of the helper, for a burst. During
   * the quiet period they wait for its end instead.
   */
  write(seq: number, text: string, now: number): void {
    this.batchSeq = seq;
    if (this.batch !== null) {
      this.batch += text;
      return;
    }
    this.batch = text;
    if (now >= this.quietUntil) {
      setImmediate(this.flush);
      return;
    }
    this.held = true;
    // setImmediate after the timer: the poll phase between them reads a line the helper has
    // already printed, so it is seen before the request leaves, not taken as its answer.
    setTimeout(() => setImmediate(this.flush), this.quietUntil - now);
  }

  /** Requests are waiting to be written at the end of this turn of the event loop. */
  get writePending(): boolean {
    return this.batch !== null && !this.held;
  }

  private readonly flush = (): void => {
    const text = this.batch;
    this.batch = null;
    this.held = false;
    if (text === null || this.state === 'dead' || this.state === 'stopping') return;
    this.writtenSeq = this.batchSeq;
    this.child.stdin?.write(text, 'latin1');
  };

  /** Ends the helper at once (misbehaving or timed out): SIGKILL to its whole process group. */
  kill(): void {
    this.state = 'dead';
    this.signal('SIGKILL');
  }

  /** Asks the helper to finish: EOF on stdin and SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<void> {
    if (this.state !== 'dead') this.state = 'stopping';
    this.child.stdin?.end();
    this.signal('SIGTERM');
    if (!this.hasExited) {
      const force = setTimeout(() => this.signal('SIGKILL'), graceMs);
      force.unref();
      void this.exited.then(() => clearTimeout(force));
    }
    return this.exited;
  }

  private read(chunk: Buffer): void {
    if (this.state === 'dead') return;
    const replies: RawReply[] = [];
    try {
      this.reader.push(chunk, replies);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      // Replies cut before the bad bytes are still good; the stream after them is not.
      if (replies.length > 0) this.hooks.onReplies(this, replies);
      this.hooks.onFailure(this, error.message, 'broken');
      return;
    }
    if (replies.length > 0) this.hooks.onReplies(this, replies);
  }

  private signal(signal: NodeJS.Signals): void {
    // Once reaped, the pid (and group id) may be reused: never signal it again.
    if (this.hasExited || this.pid === undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // Already gone.
      }
    }
  }
}

/** Helpers that are processes of `settings.program`, and how the log names them. */
export function processTransport(settings: HelperSettings): { open: HelperOpener; subject: RespawnSubject } {
  return { open: (hooks, now) => new HelperProcess(settings, hooks, now), subject: programSubject(settings.program) };
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
}
