/**
 * The [auth] options in the terms of the authenticator and of the helper pool it reuses
 * (src/redirector) with the Squid basic-auth dialect.
 */
import type { Config } from '../config';
import type { Log } from '../log/log';
import { RangeList } from '../proxy/acl';
import { RedirectorPool } from '../redirector';
import { Authenticator } from './authenticator';
import { LoginDialect } from './login-dialect';
import { authPoolLog } from './pool-log';

export function startAuthenticator(config: Config, log: Log): Authenticator {
  const a = config.auth;
  const pool = new RedirectorPool(
    {
      program: [a.program.program, ...a.program.args],
      protocol: 'squid', // read by nothing: the dialect is given
      minimum: a.minimum,
      maximum: a.maximum,
      timeout: a.timeout,
      queue: Number.MAX_SAFE_INTEGER,
      // A login no helper could check is refused (the phase answers 503), never let through.
      failure: 'deny',
      concurrency: a.concurrency,
      pipeline: 1,
      cache: 0, // its key would hold the password; the authenticator keeps its own, hashed
    },
    authPoolLog(log),
    {},
    new LoginDialect(a.concurrency),
  );
  pool.start();
  return new Authenticator(
    {
      realm: a.realm,
      ttlMs: a.ttl * 1000,
      negativeTtlMs: a.negativeTtl * 1000,
      exemptClients: new RangeList(a.exemptClients),
      exemptHosts: a.exemptDestinations.split(' ').filter((h) => h !== ''),
    },
    pool,
  );
}
