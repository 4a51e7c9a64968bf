/**
 * A request inside the pool: the client's wait (Pending) and its tries on helpers (Attempt).
 */
import type { Helper } from './helper';
import type { DecideResult, RedirectorRequest } from './types';

export interface Pending {
  req: RedirectorRequest;
  /** What the helper is sent (without channel-ID): also the cache key. */
  payload: string;
  resolve: (result: DecideResult) => void;
  /** Monotonic ms after which the failure policy answers. */
  deadline: number;
  /** Helper failures (exit, garbage) met so far: the second one ends the request. */
  failures: number;
  /** Squid `BH` replies so far: Squid resends up to twice. */
  brokenReplies: number;
  lastHelper: Helper<Attempt> | null;
  lastVerdict: string;
  settled: boolean;
}

export interface Attempt {
  pending: Pending;
  helper: Helper<Attempt>;
  seq: number;
  deadline: number;
  /** loopIdleMs() when it was sent: how long the proxy then waits idle for the answer. */
  idle: number;
}
