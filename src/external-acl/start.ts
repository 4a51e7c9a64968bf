/**
 * The [acl] options in the terms of the external ACL and of the helper pool it reuses
 * (src/redirector), with the dialect of Squid's helpers that answer OK/ERR/BH to a line.
 */
import type { Config } from '../config';
import type { Log } from '../log/log';
import { LoginDialect } from '../auth/login-dialect';
import { poolLogAs } from '../auth/pool-log';
import { startVerdictPool } from '../auth/verdict-pool';
import { ExternalAcl } from './external-acl';

export function startExternalAcl(config: Config, log: Log): ExternalAcl {
  const a = config.acl;
  const pool = startVerdictPool(
    a,
    poolLogAs(log, 'acl', `answered by acl.failure "${a.failure}"`),
    new LoginDialect(a.concurrency, { helper: 'external ACL helper', refused: 'refused by the external ACL helper' }),
  );
  return new ExternalAcl(
    { format: a.format, data: a.data, ttlMs: a.ttl * 1000, negativeTtlMs: a.negativeTtl * 1000, failure: a.failure },
    pool,
  );
}
