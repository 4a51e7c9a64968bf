/**
 * Checks pool options once, at construction and resize, so the hot path can trust them.
 * Each error is one line naming the option, the value and what is accepted.
 */
import type { PoolInternals, RedirectorOptions } from './types';

/** The pool's tuning when the caller (a test) does not set it. */
export const POOL_INTERNALS: Required<PoolInternals> = {
  shrinkIntervalMs: 60_000,
  stopGraceMs: 3_000,
  cacheEntries: 100_000,
  maxReplyBytes: 1024 * 1024,
  stderrLinesPerSecond: 20,
  startQuietMs: 200,
};

function reject(option: string, value: unknown, accepted: string): never {
  throw new RangeError(`redirector.${option}: ${JSON.stringify(value)} is not valid; use ${accepted}`);
}

function wholeNumber(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    reject(option, value, `a whole number >= ${min}`);
  }
  return value;
}

export function checkPoolSize(minimum: unknown, maximum: unknown): { minimum: number; maximum: number } {
  const min = wholeNumber('minimum', minimum, 0);
  const max = wholeNumber('maximum', maximum, 1);
  if (min > max) reject('minimum', min, `a number no larger than redirector.maximum (${max})`);
  return { minimum: min, maximum: max };
}

export function checkOptions(options: RedirectorOptions): RedirectorOptions {
  const { program, protocol } = options;
  if (!Array.isArray(program) || program.length === 0 || program.some((word) => typeof word !== 'string')
    || program[0] === '') {
    reject('program', program, 'the helper command line: a program path followed by its arguments');
  }
  const icapOk = typeof protocol === 'object' && protocol !== null && typeof protocol.icap === 'string'
    && /^icap:\/\/[^/\s]+(\/\S*)?$/.test(protocol.icap);
  if (protocol !== 'url' && protocol !== 'squid' && !icapOk) {
    reject('protocol', protocol, 'url, squid or icap://NAME[/...]');
  }
  checkPoolSize(options.minimum, options.maximum);
  if (typeof options.timeout !== 'number' || !Number.isFinite(options.timeout) || options.timeout <= 0) {
    reject('timeout', options.timeout, 'a number of seconds > 0');
  }
  wholeNumber('queue', options.queue, 0);
  if (options.failure !== 'deny' && options.failure !== 'allow') {
    reject('failure', options.failure, 'deny (answer 503) or allow (forward unchanged)');
  }
  wholeNumber('concurrency', options.concurrency, 0);
  wholeNumber('pipeline', options.pipeline, 1);
  if (typeof options.cache !== 'number' || !Number.isFinite(options.cache) || options.cache < 0) {
    reject('cache', options.cache, 'a number of seconds >= 0 (0 turns the cache off)');
  }
  return options;
}
