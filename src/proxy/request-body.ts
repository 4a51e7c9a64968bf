/**
 * The request body on its way upstream: which of the waiting input bytes belong to it
 * (the exchange's framer decides), and whether a half-closed client cut it short.
 */
import { ERROR_INFO } from '../native/abi.generated';
import type { Exchange } from './exchange';
import type { InputBuffer } from './input-buffer';

export type BodyStep =
  /** Body bytes to write upstream now (null: none waiting). */
  | { kind: 'bytes'; bytes: Buffer | null }
  /** Broken chunked framing: nothing after this point can be trusted. */
  | { kind: 'broken'; error: string }
  /** The client half-closed before the body was complete: it never will be. */
  | { kind: 'cut' };

const NOTHING: BodyStep = { kind: 'bytes', bytes: null };
const CUT: BodyStep = { kind: 'cut' };

/** Takes the body bytes out of `input`. */
export function requestBodyStep(ex: Exchange, input: InputBuffer, clientEnded: boolean): BodyStep {
  const buf = input.buf;
  if (buf === null) return clientEnded && ex.body.pending ? CUT : NOTHING;
  const start = input.pos;
  const n = ex.body.take(buf, start, buf.length);
  if (n < 0) return { kind: 'broken', error: ERROR_INFO[-n]?.[0] ?? 'chunked' };
  input.consume(n);
  if (clientEnded && ex.body.pending && input.buf === null) return CUT;
  if (n === 0) return NOTHING;
  return { kind: 'bytes', bytes: n === buf.length && start === 0 ? buf : buf.subarray(start, start + n) };
}
