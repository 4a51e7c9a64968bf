/**
 * What the pool and the roster need from one helper, whatever carries its requests: a
 * process's stdin/stdout (helper-process.ts) or a TCP connection to an ICAP service
 * (icap-connection.ts). Which requests it holds, and when it is replaced, is the pool's business.
 */
import type { RawReply } from './dialect';

export interface HelperHooks<A> {
  onReplies(helper: Helper<A>, replies: RawReply[]): void;
  /**
   * The helper can no longer be used. `crash`: it exited, closed its output or could not be
   * written to; `broken`: it is alive but its output can no longer be trusted.
   */
  onFailure(helper: Helper<A>, reason: string, kind: 'crash' | 'broken'): void;
  /** The process exited, or the connection is closed: nothing more will come from it. */
  onExit(helper: Helper<A>, code: number | null, signal: NodeJS.Signals | null): void;
}

export interface Helper<A> {
  /** The process id; undefined for a connection (and for a process that could not be started). */
  readonly pid: number | undefined;
  /** False when it could not even be started (spawn gave no pid): the 'failure' hook says why. */
  readonly started: boolean;
  readonly startedAt: number;
  /** Requests written and not yet answered, by sequence number (the channel-ID), oldest first. */
  readonly slots: Map<number, A>;
  /** running: takes requests; retiring: finishing its requests before stopping; stopping/dead: gone. */
  state: 'running' | 'retiring' | 'stopping' | 'dead';
  answered: number;
  /** Moving average of the time from writing a request to its answer, in ms. */
  serviceMs: number;
  lastActive: number;
  /** Highest sequence number whose request bytes were handed over: a reply can only answer one of those. */
  readonly writtenSeq: number;
  /** Monotonic ms before which nothing is written (a process's start-up quiet period). */
  readonly quietUntil: number;
  /** Requests are waiting to be written at the end of this turn of the event loop. */
  readonly writePending: boolean;
  nextSequence(): number;
  write(seq: number, text: string, now: number): void;
  /** Ends it at once (misbehaving or timed out). */
  kill(): void;
  /** Asks it to finish; resolves once it is gone (forced after `graceMs`). */
  stop(graceMs: number): Promise<void>;
}

/** Makes a new helper: spawns a process, or opens a connection. */
export type HelperOpener = <A>(hooks: HelperHooks<A>, now: number) => Helper<A>;
