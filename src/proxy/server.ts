/**
 * Starts one worker's proxy: builds the shared context from the settings, then listens.
 */
import pino from 'pino';
import type { Config } from '../config';
import { formatAccess } from '../log/access';
import { createSyslogDestination, parseSyslogDestination } from '../log/syslog';
import { Stats } from '../monitor/stats';
import { native } from '../native';
import { VERSION } from '../version';
import type { RedirectorPool } from '../redirector';
import { startRedirector } from './redirect';
import { Scratch, type AccessRecord, type DataPathStats, type Decider, type ProxyContext } from './context';
import { Resolver } from './dns';
import { Listener } from './listener';
import { Pages, SHIPPED_HTML } from './pages';
import { settingsFromConfig, type ProxySettings } from './settings';
import { UpstreamPool } from './upstream';

export interface Logger {
  info(o: object | string, m?: string): void;
  warn(o: object | string, m?: string): void;
  error(o: object | string, m?: string): void;
  debug(o: object | string, m?: string): void;
}

export interface RunningProxy {
  /** The first bound address (for the start-up line and tests). */
  address: string;
  port: number;
  addresses: { host: string; port: number }[];
  listener: Listener;
  context: ProxyContext;
  close(): Promise<void>;
}

export interface ProxyDeps {
  log: Logger;
  decider?: Decider | null;
  stats?: DataPathStats | null;
  access?: ((r: AccessRecord) => void) | null;
}

export async function startProxyWith(settings: ProxySettings, deps: ProxyDeps): Promise<RunningProxy> {
  const r = settings.rewrite;
  const plan = new native.RewritePlan({
    via: r.via,
    forwardedFor: r.forwardedFor,
    passProxyAuthorization: r.passProxyAuthorization,
    removeRequest: r.removeRequest,
  });
  const context: ProxyContext = {
    settings,
    plan,
    upstreams: new UpstreamPool(settings.upstreamMaxIdlePerHost, settings.timeouts.upstreamIdle),
    resolver: new Resolver({
      ttl: settings.dns.ttl,
      negativeTtl: settings.dns.negativeTtl,
      ipv4: settings.dns.ipv4,
      ipv6: settings.dns.ipv6,
    }),
    pages: new Pages(settings.html || SHIPPED_HTML, settings.server),
    scratch: new Scratch(settings.limits),
    decider: deps.decider ?? null,
    stats: deps.stats ?? null,
    access: deps.access ?? null,
    log: deps.log,
  };
  const listener = new Listener(context);
  const addresses = await listener.listen();
  return {
    address: addresses[0]?.host ?? '',
    port: addresses[0]?.port ?? 0,
    addresses,
    listener,
    context,
    close: () => listener.close(),
  };
}

/**
 * Starts the proxy described by the configuration: the data path, the helper pool when
 * `redirector.enable`, the access log when `usage.enable`.
 */
export async function startProxy(
  config: Config,
  log: Logger,
): Promise<RunningProxy & { stats: Stats; pool: RedirectorPool | null }> {
  const settings = settingsFromConfig(config, VERSION);
  const stats = new Stats();
  const access = config.usage.enable ? accessWriter(config) : null;
  const decider = config.redirector.enable ? startRedirector(config, log) : null;
  const proxy = await startProxyWith(settings, { log, stats, access: access?.write ?? null, decider });
  return {
    ...proxy,
    stats,
    pool: decider,
    close: async () => {
      await proxy.close();
      await decider?.close();
      access?.flush();
    },
  };
}

/** The usage log: one formatted line per request, written asynchronously in batches. */
function accessWriter(config: Config): { write: (r: AccessRecord) => void; flush: () => void } {
  const d = config.usage.destination;
  const identifier = config.daemon.identifier;
  let line: (text: string) => void;
  let flush = (): void => undefined;
  if (d.kind === 'syslog' || d.kind === 'remote') {
    const target = d.kind === 'remote' ? { kind: 'udp' as const, host: d.host, port: d.port } : parseSyslogDestination('syslog');
    const sink = createSyslogDestination(target, { tag: identifier });
    line = (text) => void sink.write(text);
  } else {
    const stream =
      d.kind === 'file'
        ? pino.destination({ dest: d.path, sync: false, mkdir: true, minLength: 4096 })
        : pino.destination({ dest: d.kind === 'stdout' ? 1 : 2, sync: false, minLength: 0 });
    line = (text) => void stream.write(`${text}\n`);
    flush = () => stream.flushSync();
  }
  const format = config.usage.format;
  return {
    write: (r) => {
      r.time = Date.now();
      line(formatAccess(format, r, identifier));
    },
    flush,
  };
}
