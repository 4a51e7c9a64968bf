/**
 * The helper pool's log lines speak of the redirector (its first user): for the auth pool
 * they must name the auth options instead, or an operator whose auth helper cannot start
 * would be told to check redirector.program.
 */
import type { Log } from '../log/log';

function relabel(message: string): string {
  return message
    .replace(/; answered by redirector failure policy "\w+"/, '; the login is answered 503')
    .replace(/\bredirector\.(program|timeout|minimum|maximum|concurrency)\b/g, 'auth.$1')
    .replace(/\bredirector\b/g, 'auth');
}

export function authPoolLog(log: Log): Log {
  const wrap = (write: (objOrMsg: object | string, msg?: string) => void) => (objOrMsg: object | string, msg?: string): void => {
    if (typeof objOrMsg === 'string') write(relabel(objOrMsg));
    else write(objOrMsg, msg === undefined ? undefined : relabel(msg));
  };
  return {
    info: wrap((o, m) => log.info(o, m)),
    warn: wrap((o, m) => log.warn(o, m)),
    error: wrap((o, m) => log.error(o, m)),
    debug: wrap((o, m) => log.debug(o, m)),
  };
}
