/**
 * External ACL (only with `acl.enable`; after authenticate, before decide): the request, as
 * acl.format spells it, goes to a Squid external ACL helper (src/external-acl). OK goes on,
 * with the helper's `user=` (when no login named one) and `tag=` on the exchange, so they
 * reach the redirector's line and the access log; ERR gets 403 with the helper's message on
 * the page; no answer (BH three times, a timeout) follows acl.failure: 503, or go on.
 */
import { Outcome } from '../../log/outcome';
import type { AclNotes, AclVerdict, ExternalAcl } from '../../external-acl/external-acl';
import type { AclQuestion } from '../../external-acl/format';
import type { Exchange } from '../exchange';
import type { LocalAnswer } from './answer';
import { helperRequest } from './decide';
import type { RequestHead } from './read-head';

export interface AclClient {
  ip: string;
  port: number;
  localIp: string;
  localPort: number;
}

/**
 * Calls `then` with the head to go on with (its table copied when a helper had to be asked:
 * other connections reuse the shared one meanwhile) and null, or with the answer refusing it.
 */
export function checkExternalAcl(
  acl: ExternalAcl,
  head: RequestHead,
  ex: Exchange,
  client: AclClient,
  then: (head: RequestHead, refused: LocalAnswer | null) => void,
): void {
  const verdict = acl.check({ ...helperRequest(head, ex, client), clientPort: client.port });
  if (!(verdict instanceof Promise)) return then(head, answerTo(acl, verdict, ex));
  const kept: RequestHead = { ...head, table: head.table.slice(0, head.tableLength) };
  void verdict.then((v) => then(kept, answerTo(acl, v, ex)));
}

/**
 * The same check for a connection of the TLS SNI listener, asked as Squid asks about HTTPS:
 * method CONNECT, the SNI name and port 443 (`%URI` is `name:443`). No page can be shown there.
 */
export function checkTlsExternalAcl(acl: ExternalAcl, ex: Exchange, q: AclQuestion, then: (refused: LocalAnswer | null) => void): void {
  const verdict = acl.check(q);
  if (!(verdict instanceof Promise)) return then(answerTo(acl, verdict, ex));
  void verdict.then((v) => then(answerTo(acl, v, ex)));
}

function answerTo(acl: ExternalAcl, verdict: AclVerdict, ex: Exchange): LocalAnswer | null {
  switch (verdict.kind) {
    case 'ok':
      noted(ex, verdict);
      return null;
    case 'refused':
      noted(ex, verdict);
      return {
        status: 403,
        outcome: Outcome.Deny,
        detail: verdict.message === undefined ? 'external ACL' : `external ACL: ${verdict.message}`,
        message: verdict.message === undefined ? 'Access was refused by the proxy\'s access rules.' : `Access was refused: ${verdict.message}`,
      };
    case 'unavailable':
      if (acl.failure === 'allow') return null;
      return { status: 503, outcome: Outcome.Error, detail: 'external ACL not checked', message: 'The access rules could not be checked: no external ACL helper answered. Try again later.' };
  }
}

/** Squid's %un shows the login's user before the external ACL's. */
function noted(ex: Exchange, notes: AclNotes): void {
  if (ex.user === '' && notes.user !== undefined) ex.user = notes.user;
  if (notes.tag !== undefined) ex.tag = notes.tag;
}
