/**
 * What the pool needs from a helper protocol: how to write a request, how to cut the
 * helper's stdout into replies, and what a reply means. The pool itself is protocol-blind.
 */
import type { Decision, IcapResponse, RedirectorRequest } from './types';

/** The helper's output can no longer be trusted (framing lost): the helper must be replaced. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** One complete reply cut from a helper's stdout. */
export interface RawReply {
  /** Squid channel-ID when the protocol uses them, otherwise null (replies come in order). */
  channel: number | null;
  /** The reply as text for the access log: without channel-ID and line end. */
  verdict: string;
  /** ICAP only: the parsed response. */
  icap?: IcapResponse;
}

export type Outcome =
  /** `note` explains a reply that was read as permit although it asked for something else. */
  | { kind: 'decision'; decision: Decision; cacheable: boolean; note?: string }
  /** Squid `BH`: the helper is alive but could not decide; ask another helper. */
  | { kind: 'retry'; reason: string }
  /** An ICAP service answered with an error status: `redirector.failure` decides, the connection stays. */
  | { kind: 'fail'; reason: string };

export interface ReplyReader {
  /** Feeds stdout bytes; appends every complete reply to `out`. Throws ProtocolError. */
  push(chunk: Buffer, out: RawReply[]): void;
}

export interface Dialect {
  /** Requests one helper may hold at once. */
  readonly slotsPerHelper: number;
  /** Whether each request line starts with a channel-ID. */
  readonly channels: boolean;
  /** ExaProxy's ICAP protocol treats anything on stderr during an answer as a failure. */
  readonly stderrIsFailure: boolean;
  /** The exact bytes (latin1) written for a request, without channel-ID; also the cache key. */
  encode(req: RedirectorRequest): string;
  newReader(maxReplyBytes: number): ReplyReader;
  interpret(reply: RawReply, req: RedirectorRequest): Outcome;
}

/** `dialect.interpret`, with a reply it cannot read (it throws) answered by the error page. */
export function interpretReply(dialect: Dialect, reply: RawReply, req: RedirectorRequest): Outcome {
  try {
    return dialect.interpret(reply, req);
  } catch (error) {
    return { kind: 'decision', cacheable: false, decision: { kind: 'error', reason: `the helper reply could not be read: ${(error as Error).message}` } };
  }
}
