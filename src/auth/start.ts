/**
 * The [auth] options in the terms of the authenticator and of the helper pool it reuses
 * (src/redirector) with the Squid basic-auth dialect.
 */
import type { Config } from '../config';
import type { Log } from '../log/log';
import { RangeList } from '../proxy/acl';
import { Authenticator } from './authenticator';
import { LoginDialect } from './login-dialect';
import { authPoolLog } from './pool-log';
import { startVerdictPool } from './verdict-pool';

export function startAuthenticator(config: Config, log: Log): Authenticator {
  const a = config.auth;
  const pool = startVerdictPool(a, authPoolLog(log), new LoginDialect(a.concurrency));
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
