/**
 * Authenticate (only with `auth.enable`; between admit and decide): a client or destination
 * exempt from login goes on; otherwise the request's `Proxy-Authorization: Basic` login
 * must be one the authenticator (src/auth) accepts. The user then reaches everything
 * downstream through `ex.user`: the helpers' request lines and the access log. No or bad
 * credentials get 407 with the challenge; a login no helper could check gets 503.
 */
import { Header } from '../../native/abi.generated';
import { Outcome } from '../../log/outcome';
import type { Authenticator } from '../../auth/authenticator';
import { basicCredentials } from '../../auth/credentials';
import type { Login } from '../../auth/login-cache';
import type { Exchange } from '../exchange';
import type { LocalAnswer } from './answer';
import { viewOf, type RequestHead } from './read-head';

/**
 * Calls `then` with the head to go on with (its table copied when a helper had to be asked:
 * other connections reuse the shared one meanwhile) and null, or with the answer refusing it.
 */
export function authenticate(
  auth: Authenticator,
  head: RequestHead,
  ex: Exchange,
  clientIp: string,
  then: (head: RequestHead, refused: LocalAnswer | null) => void,
): void {
  if (auth.exempt(clientIp, head.host)) return then(head, null);
  const credentials = basicCredentials(viewOf(head).header(Header.PROXY_AUTHORIZATION));
  if (credentials === null) return then(head, challenge(auth, 'login required', 'This proxy requires a login.'));
  const login = auth.check(credentials);
  if (!(login instanceof Promise)) return then(head, verdict(auth, login, ex));
  const kept: RequestHead = { ...head, table: head.table.slice(0, head.tableLength) };
  void login.then((l) => then(kept, verdict(auth, l, ex)));
}

function verdict(auth: Authenticator, login: Login, ex: Exchange): LocalAnswer | null {
  switch (login.kind) {
    case 'ok':
      ex.user = login.user;
      return null;
    case 'refused':
      return challenge(auth, 'login refused', 'The user name or password was not accepted.');
    case 'unavailable':
      return { status: 503, outcome: Outcome.Error, detail: 'login not checked', message: 'The login could not be checked: no authentication helper answered. Try again later.' };
  }
}

function challenge(auth: Authenticator, detail: string, message: string): LocalAnswer {
  return { status: 407, outcome: Outcome.Deny, detail, message, headers: `Proxy-Authenticate: Basic realm="${auth.realm}"\r\n` };
}
