/**
 * The helper pool of Squid's helpers that answer a line with OK / ERR / BH — `auth_param basic`
 * (src/auth) and `external_acl_type` (src/external-acl): the redirector's pool with the dialect
 * given, one request per helper at a time unless `concurrency` (channel-IDs).
 */
import type { Log } from '../log/log';
import { RedirectorPool } from '../redirector';
import type { LoginDialect } from './login-dialect';

export interface VerdictHelpers {
  program: { program: string; args: readonly string[] };
  minimum: number;
  maximum: number;
  timeout: number;
  concurrency: number;
}

export function startVerdictPool(o: VerdictHelpers, log: Log, dialect: LoginDialect): RedirectorPool {
  const pool = new RedirectorPool(
    {
      program: [o.program.program, ...o.program.args],
      protocol: 'squid', // read by nothing: the dialect is given
      minimum: o.minimum,
      maximum: o.maximum,
      timeout: o.timeout,
      queue: Number.MAX_SAFE_INTEGER,
      // What no helper answered is the caller's to decide (auth: 503; acl: acl.failure).
      failure: 'deny',
      concurrency: o.concurrency,
      pipeline: 1,
      // Each caller keeps its own cache: a login's key would hold the password, and the
      // external ACL has Squid's two TTLs.
      cache: 0,
    },
    log,
    {},
    dialect,
  );
  pool.start();
  return pool;
}
