/**
 * Connects the helper pool (src/redirector) to the data path when `redirector.enable`.
 */
import type { Config } from '../config';
import { RedirectorPool } from '../redirector';
import type { Log } from '../log/log';

/** The configuration's helper settings in the pool's terms (0 means "no limit" in the file). */
export function startRedirector(config: Config, log: Log): RedirectorPool {
  const r = config.redirector;
  const pool = new RedirectorPool(
    {
      program: [r.program.program, ...r.program.args],
      protocol: r.protocol === 'url' || r.protocol === 'squid' ? r.protocol : { icap: r.protocol },
      minimum: r.minimum,
      maximum: r.maximum,
      timeout: r.timeout === 0 ? 86_400 : r.timeout,
      queue: r.queue === 0 ? Number.MAX_SAFE_INTEGER : r.queue,
      failure: r.failure,
      concurrency: r.concurrency,
      pipeline: r.pipeline,
      cache: r.cache,
    },
    log,
  );
  pool.start();
  return pool;
}
