/** Picks the protocol implementation named by `redirector.protocol`. */
import type { Dialect } from './dialect';
import { IcapDialect } from './icap-dialect';
import { SquidDialect } from './squid-dialect';
import type { RedirectorOptions } from './types';
import { UrlDialect } from './url-dialect';

export function createDialect(options: RedirectorOptions): Dialect {
  if (options.protocol === 'url') return new UrlDialect(options.pipeline);
  if (options.protocol === 'squid') return new SquidDialect(options.concurrency, options.pipeline);
  return new IcapDialect(options.protocol.icap);
}
