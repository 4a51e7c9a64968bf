/**
 * Starts one worker's proxy: builds the shared context from the settings, then listens.
 */
import type { Config } from '../config';
import type { Log } from '../log/log';
import { createAccessLog } from '../log/access';
import { openLineDestination } from '../log/syslog';
import { Stats } from '../monitor/stats';
import type { HelperPools } from '../monitor/pool';
import { native } from '../native';
import { VERSION } from '../version';
import type { Redirector } from '../redirector';
import { startRedirector, startRespmodService } from './redirect';
import type { RespmodService } from '../redirector/respmod-service';
import type { Authenticator } from '../auth/authenticator';
import { startAuthenticator } from '../auth/start';
import type { ExternalAcl } from '../external-acl/external-acl';
import { startExternalAcl } from '../external-acl/start';
import { Scratch, type AccessRecord, type DataPathStats, type Decider, type ProxyContext } from './context';
import { Resolver } from './dns';
import { Listener } from './listener';
import { Pages, SHIPPED_HTML } from './pages';
import { parentsFromConfig, type Parents } from './parents';
import { settingsFromConfig, type ProxySettings } from './settings';
import { tlsListenError, tlsListener, tlsSettingsFromConfig, type TlsListenerSettings } from './tls-listener';
import { passthroughListener, passthroughSettingsFromConfig, type PassthroughSettings } from './passthrough-listener';
import { UpstreamPool } from './upstream';
import { icapListener } from '../icap/listener';
import { icapSettingsFromConfig, type IcapListenerSettings } from '../icap/settings';
import { listenError } from './listen-error';

export { bindAhead, closeUnclaimed } from './listening-sockets';

export interface RunningProxy {
  /** The first bound address (for the start-up line and tests). */
  address: string;
  port: number;
  addresses: { host: string; port: number }[];
  listener: Listener;
  /** The TLS SNI listener (`tls.enable`), whose addresses follow the proxy's in `addresses`. */
  tls: Listener | null;
  /** The passthrough listener (`passthrough.enable`). */
  passthrough: Listener | null;
  /** The ICAP listener (`icap.enable`), whose addresses come last. */
  icap: Listener | null;
  /** Every listener: they stop, resume and drain together. */
  listeners: Listener[];
  context: ProxyContext;
  close(): Promise<void>;
}

export interface ProxyDeps {
  log: Log;
  decider?: Decider | null;
  auth?: Authenticator | null;
  externalAcl?: ExternalAcl | null;
  parents?: Parents | null;
  /** `redirector.respmod`: responses go through this ICAP service first. */
  respmod?: RespmodService | null;
  stats?: DataPathStats | null;
  access?: ((r: AccessRecord) => void) | null;
  tls?: TlsListenerSettings | null;
  passthrough?: PassthroughSettings | null;
  icap?: IcapListenerSettings | null;
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
      servers: settings.dns.servers,
    }, deps.stats ?? null),
    pages: new Pages(settings.html || SHIPPED_HTML, settings.server),
    scratch: new Scratch(settings.limits),
    decider: deps.decider ?? null,
    auth: deps.auth ?? null,
    externalAcl: deps.externalAcl ?? null,
    parents: deps.parents ?? null,
    respmod: deps.respmod ?? null,
    stats: deps.stats ?? null,
    access: deps.access ?? null,
    log: deps.log,
  };
  const listener = new Listener(context);
  const addresses = await listener.listen();
  const tls = deps.tls ? tlsListener(context, deps.tls) : null;
  if (tls) {
    try {
      addresses.push(...(await tls.listen()));
    } catch (error) {
      await listener.close();
      await tls.close();
      throw tlsListenError(error, deps.tls!);
    }
  }
  let passthrough: Listener | null = null;
  if (deps.passthrough) {
    try {
      passthrough = passthroughListener(context, deps.passthrough);
      addresses.push(...(await passthrough.listen()));
    } catch (error) {
      await Promise.all([listener.close(), tls?.close(), passthrough?.close()]);
      throw listenError(error, deps.passthrough.listen, 'passthrough');
    }
  }
  const icap = deps.icap ? icapListener(context, deps.icap) : null;
  if (icap) {
    try {
      addresses.push(...(await icap.listen()));
    } catch (error) {
      await Promise.all([listener.close(), tls?.close(), passthrough?.close(), icap.close()]);
      throw listenError(error, deps.icap!.listen, 'icap');
    }
  }
  return {
    address: addresses[0]?.host ?? '',
    port: addresses[0]?.port ?? 0,
    addresses,
    listener,
    tls,
    passthrough,
    icap,
    listeners: [listener, tls, passthrough, icap].filter((l): l is Listener => l !== null),
    context,
    close: async () => {
      await icap?.close();
      await passthrough?.close();
      await tls?.close();
      await listener.close();
    },
  };
}

/**
 * Starts the proxy described by the configuration: the data path, the helper pool when
 * `redirector.enable`, the auth helpers when `auth.enable`, the external ACL helpers when
 * `acl.enable`, the access log when `usage.enable`.
 */
export async function startProxy(
  config: Config,
  log: Log,
): Promise<RunningProxy & { stats: Stats; pool: Redirector | null; helperPools: () => HelperPools; reopen: () => void }> {
  const settings = settingsFromConfig(config, VERSION);
  const stats = new Stats();
  const access = config.usage.enable ? accessWriter(config) : null;
  const decider = config.redirector.enable ? startRedirector(config, log) : null;
  const auth = config.auth.enable ? startAuthenticator(config, log) : null;
  const externalAcl = config.acl.enable ? startExternalAcl(config, log) : null;
  const parents = parentsFromConfig(config, log);
  const respmod = startRespmodService(config, decider, log);
  const closeHelpers = async (): Promise<void> => {
    respmod?.close();
    await decider?.close();
    await auth?.close();
    await externalAcl?.close();
    await access?.close();
  };
  let proxy: RunningProxy;
  try {
    proxy = await startProxyWith(settings, {
      log,
      stats,
      access: access?.write ?? null,
      decider,
      auth,
      externalAcl,
      parents,
      respmod,
      tls: tlsSettingsFromConfig(config),
      passthrough: passthroughSettingsFromConfig(config),
      icap: icapSettingsFromConfig(config, VERSION),
    });
  } catch (error) {
    // A worker exits after this, but a reload in one process keeps running: no helper is left behind.
    await closeHelpers().catch(() => undefined);
    throw error;
  }
  return {
    ...proxy,
    stats,
    pool: decider,
    helperPools: () => ({ auth: auth?.stats(), acl: externalAcl?.stats() }),
    reopen: () => access?.reopen(),
    close: async () => {
      await proxy.close();
      await closeHelpers();
    },
  };
}

/**
 * Every address the data path listens on by host and port (not the passthrough listener's
 * transparent sockets, made by descriptor), so that they can be bound ahead of it.
 */
export function listenAddresses(config: Config): { host: string; port: number }[] {
  const passthrough = passthroughSettingsFromConfig(config);
  return [
    ...settingsFromConfig(config, VERSION).listen,
    ...(tlsSettingsFromConfig(config)?.listen ?? []),
    ...(passthrough?.proxied === true ? passthrough.listen : []),
    ...(icapSettingsFromConfig(config, VERSION)?.listen ?? []),
  ];
}

/** The usage log: one formatted line per request, to a file (reopened on request), a stream or syslog. */
function accessWriter(config: Config): { write: (r: AccessRecord) => void; reopen: () => void; close: () => Promise<void> } {
  const d = config.usage.destination;
  const where =
    d.kind === 'file' ? d.path : d.kind === 'remote' ? `host:${d.host.includes(':') ? `[${d.host}]` : d.host}:${d.port}` : d.kind;
  const log = createAccessLog({
    format: config.usage.format,
    identifier: config.daemon.identifier,
    destination: openLineDestination(where, { tag: config.daemon.identifier }),
  });
  return {
    write: (r) => {
      r.time = Date.now();
      log.write(r);
    },
    reopen: () => void log.reopen(),
    close: () => log.close(),
  };
}
