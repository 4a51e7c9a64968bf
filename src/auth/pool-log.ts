/**
 * The helper pool's log lines speak of the redirector (its first user): for the auth pool
 * they must name the auth options instead, or an operator whose auth helper cannot start
 * would be told to check redirector.program.
 */
import type { Log } from '../log/log';

function relabel(message: string, section: string, failure: string): string {
  return message
    .replace(/; answered by redirector failure policy "\w+"/, `; ${failure}`)
    .replace(/\bredirector\.(program|timeout|minimum|maximum|concurrency)\b/g, `${section}.$1`)
    .replace(/\bredirector\b/g, section);
}

export function authPoolLog(log: Log): Log {
  return poolLogAs(log, 'auth', 'the login is answered 503');
}

/** The pool's log lines in the words of another section (`acl` for the external ACL helpers). */
export function poolLogAs(log: Log, section: string, failure: string): Log {
  const relabelled = (message: string): string => relabel(message, section, failure);
  const wrap = (write: (objOrMsg: object | string, msg?: string) => void) => (objOrMsg: object | string, msg?: string): void => {
    if (typeof objOrMsg === 'string') write(relabelled(objOrMsg));
    else write(objOrMsg, msg === undefined ? undefined : relabelled(msg));
  };
  return {
    info: wrap((o, m) => log.info(o, m)),
    warn: wrap((o, m) => log.warn(o, m)),
    error: wrap((o, m) => log.error(o, m)),
    debug: wrap((o, m) => log.debug(o, m)),
  };
}
