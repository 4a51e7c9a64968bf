/**
 * Connects the redirector (src/redirector) to the data path when `redirector.enable`: a pool
 * of helper processes, or of connections to an ICAP service (`icap-service://`).
 */
import type { Config } from '../config';
import { IcapService, parseIcapServiceUri, RedirectorPool, type Redirector, type RedirectorOptions } from '../redirector';
import type { Log } from '../log/log';
import { RespmodService } from '../redirector/respmod-service';

/** The configuration's helper settings in the pool's terms (0 means "no limit" in the file). */
export function startRedirector(config: Config, log: Log): Redirector {
  const r = config.redirector;
  const options: RedirectorOptions = {
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
    respmod: r.respmod,
  };
  const service = parseIcapServiceUri(r.protocol);
  const redirector = typeof service === 'string' ? new RedirectorPool(options, log) : new IcapService(service, options, log);
  redirector.start();
  return redirector;
}

/**
 * RESPMOD to the same ICAP service (`redirector.respmod`), guided by the OPTIONS its REQMOD
 * side asks for; null when off. The configuration check made sure the protocol is icap-service.
 */
export function startRespmodService(config: Config, redirector: Redirector | null, log: Log): RespmodService | null {
  const r = config.redirector;
  if (!r.respmod || !(redirector instanceof IcapService)) return null;
  const service = parseIcapServiceUri(r.protocol);
  if (typeof service === 'string') return null;
  return new RespmodService(service, () => redirector.offered, {
    limit: r.respmodLimit,
    overLimit: r.respmodOverLimit,
    failure: r.failure,
    timeoutMs: (r.timeout === 0 ? 86_400 : r.timeout) * 1000,
    maximum: r.maximum,
  }, log);
}
