/**
 * The [acl] options in the terms of the external ACL and of the helper pool it reuses
 * (src/redirector), with the dialect of Squid's helpers that answer OK/ERR/BH to a line.
 */
import type { Config } from '../config';
import type { Log } from '../log/log';
import { RedirectorPool } from '../redirector';
import { LoginDialect } from '../auth/login-dialect';
import { poolLogAs } from '../auth/pool-log';
import { ExternalAcl } from './external-acl';

export function startExternalAcl(config: Config, log: Log): ExternalAcl {
  const a = config.acl;
  const pool = new RedirectorPool(
    {
      program: [a.program.program, ...a.program.args],
      protocol: 'squid', // read by nothing: the dialect is given
      minimum: a.minimum,
      maximum: a.maximum,
      timeout: a.timeout,
      queue: Number.MAX_SAFE_INTEGER,
      failure: 'deny', // the phase applies acl.failure to what no helper answered
      concurrency: a.concurrency,
      pipeline: 1,
      cache: 0, // the external ACL keeps its own, with Squid's two TTLs
    },
    poolLogAs(log, 'acl', `answered by acl.failure "${a.failure}"`),
    {},
    new LoginDialect(a.concurrency, { helper: 'external ACL helper', refused: 'refused by the external ACL helper' }),
  );
  pool.start();
  return new ExternalAcl(
    { format: a.format, data: a.data, ttlMs: a.ttl * 1000, negativeTtlMs: a.negativeTtl * 1000, failure: a.failure },
    pool,
  );
}
