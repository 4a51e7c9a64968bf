/**
 * The redirector for `redirector.protocol = icap-service://host:port/service`: the helper
 * pool (pool.ts: queue, timeouts, retry, `redirector.failure`, the verdict cache) whose
 * helpers are persistent connections to the ICAP service, plus what its OPTIONS say:
 * asked at start and again every `Options-TTL`; `Max-Connections` bounds the pool, a new
 * `ISTag` forgets the remembered verdicts, a service without REQMOD in `Methods` gets every
 * request answered by `redirector.failure`, a path whose extension is in `Transfer-Ignore`
 * is not sent. The rest of the proxy cannot tell it from a pool of helper processes.
 */
import type { Log } from '../log/log';
import { guarded } from '../monitor/periodic';
import { IcapConnection, type IcapEndpoint } from './icap-connection';
import { extensionListed, queryOptions, type ServiceOptions } from './icap-options';
import { IcapServiceDialect } from './icap-service-dialect';
import type { IcapServiceUri } from './icap-uri';
import { RedirectorPool } from './pool';
import type { DecideResult, PoolInternals, PoolStats, RedirectorOptions, RedirectorRequest } from './types';

/** How soon OPTIONS is asked again after it failed (sooner when the service's Options-TTL is shorter). */
const OPTIONS_RETRY_MS = 10_000;
const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;

export class IcapService {
  private readonly pool: RedirectorPool;
  private readonly endpoint: IcapEndpoint;
  private readonly timeoutMs: number;
  private current: ServiceOptions | null = null;
  private bounds: { minimum: number; maximum: number };
  private refresh: NodeJS.Timeout | null = null;
  private closed = false;
  /** Ends an OPTIONS request in progress when the service is closed. */
  private readonly stopping = new AbortController();
  private optionsFailing = false;
  /** `redirector.respmod`: a service offering RESPMOD alone is asked about responses only. */
  private readonly respmod: boolean;

  constructor(private readonly service: IcapServiceUri, options: RedirectorOptions, private readonly log: Log, internals: PoolInternals = {}) {
    this.timeoutMs = options.timeout * 1000;
    this.respmod = options.respmod === true;
    this.endpoint = { host: service.host, port: service.port, connectTimeoutMs: this.timeoutMs };
    this.bounds = { minimum: options.minimum, maximum: options.maximum };
    const dialect = new IcapServiceDialect(service);
    const settings = { endpoint: this.endpoint, dialect, maxReplyBytes: internals.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES };
    this.pool = new RedirectorPool({ ...options, protocol: { icap: service.uri } }, log, internals, dialect, {
      open: (hooks, now) => new IcapConnection(settings, hooks, now),
      subject: {
        kind: `ICAP service ${service.uri}`,
        name: `ICAP service ${service.uri}`,
        fields: { service: service.uri },
        check: 'that the ICAP service runs and that redirector.protocol names it',
        none: `no connection to the ICAP service ${service.uri} could be made (see the errors logged before)`,
      },
    });
  }

  /** Opens `redirector.minimum` connections and asks the service for its OPTIONS. */
  start(): void {
    this.pool.start();
    this.askOptions();
  }

  /** What the service offers, once it answered OPTIONS. */
  get offered(): ServiceOptions | null {
    return this.current;
  }

  decide(req: RedirectorRequest): Promise<DecideResult> {
    return new Promise((resolve) => this.ask(req, resolve));
  }

  /** decide() with a callback (RedirectorPool.ask): called at once when the service need not be asked. */
  ask(req: RedirectorRequest, done: (result: DecideResult) => void): void {
    const offered = this.current;
    if (offered !== null) {
      if (!offered.methods.includes('REQMOD')) {
        if (this.respmodOnly(offered)) return done({ decision: { kind: 'permit' }, verdict: '-', cached: false });
        return done(this.pool.answerByPolicy(`the ICAP service ${this.service.uri} does not offer REQMOD (OPTIONS Methods: ${offered.methods.join(', ')})`));
      }
      if (extensionListed(offered.transferIgnore, req.path)) return done({ decision: { kind: 'permit' }, verdict: '-', cached: false });
    }
    this.pool.ask(req, done);
  }

  stats(): PoolStats {
    return this.pool.stats();
  }

  /** New pool bounds (SIGUSR1/2, the monitor), still within the service's Max-Connections. */
  resize(minimum: number, maximum: number): void {
    this.bounds = { minimum, maximum };
    this.applyBounds();
  }

  close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    if (this.refresh !== null) clearTimeout(this.refresh);
    this.refresh = null;
    return this.pool.close();
  }

  private askOptions(): void {
    queryOptions(this.service, this.endpoint, this.timeoutMs, this.stopping.signal).then(
      (options) => {
        if (this.closed) return;
        this.optionsFailing = false;
        this.apply(options);
        this.schedule(options.ttl === null ? null : options.ttl * 1000);
      },
      (error: Error) => {
        if (this.closed) return;
        // Said once per outage: the REQMOD failures meanwhile are logged by the pool.
        const retryMs = Math.min(OPTIONS_RETRY_MS, (this.current?.ttl ?? Infinity) * 1000);
        if (!this.optionsFailing) this.log.warn({ service: this.service.uri }, `ICAP service ${this.service.uri} ${error.message}; asking again every ${retryMs / 1000}s`);
        this.optionsFailing = true;
        this.schedule(retryMs);
      },
    );
  }

  /** OPTIONS again after `ms` (the Options-TTL); without a TTL, only after a failure. */
  private schedule(ms: number | null): void {
    if (ms === null) return;
    this.refresh = setTimeout(guarded('redirector: ICAP OPTIONS refresh', this.log, () => this.askOptions()), Math.max(ms, 1000));
    this.refresh.unref();
  }

  private apply(options: ServiceOptions): void {
    const before = this.current;
    this.current = options;
    if (before !== null && before.istag !== options.istag) {
      this.pool.forgetVerdicts();
      this.log.info({ service: this.service.uri, before: before.istag, istag: options.istag }, 'ICAP service has a new ISTag: remembered verdicts forgotten');
    }
    if (!options.methods.includes('REQMOD') && (before === null || before.methods.includes('REQMOD'))) {
      if (this.respmodOnly(options)) {
        this.log.warn({ service: this.service.uri, methods: options.methods }, `ICAP service ${this.service.uri} offers RESPMOD only: requests are not sent to it (no REQMOD filtering), responses are (redirector.respmod)`);
      } else this.log.error({ service: this.service.uri, methods: options.methods },
        `ICAP service ${this.service.uri} does not offer REQMOD: every request is answered by redirector.failure. Check the service name in redirector.protocol`);
    }
    this.applyBounds();
  }

  private respmodOnly(options: ServiceOptions): boolean {
    return this.respmod && options.methods.includes('RESPMOD');
  }

  private applyBounds(): void {
    const limit = this.current?.maxConnections ?? null;
    const maximum = limit === null || limit === 0 ? this.bounds.maximum : Math.min(this.bounds.maximum, limit);
    const minimum = Math.min(this.bounds.minimum, maximum);
    const now = this.pool.stats();
    if (now.minimum !== minimum || now.maximum !== maximum) this.pool.resize(minimum, maximum);
  }
}
