/**
 * What the data path needs from the configuration, resolved once at start: numbers in
 * milliseconds and bytes, compiled address lists, the compiled rewrite plan. Nothing on
 * the per-request path reads the configuration object itself.
 */
import type { Config } from '../config';
import { RangeList } from './acl';
import type { NameServers } from './dns';
import type { TunnelRelay } from './native-tunnel';

export interface Listen {
  host: string;
  port: number;
  /** A socket made already (the passthrough listener's transparent socket): listened on as it is. */
  fd?: number;
}

export interface ProxySettings {
  listen: Listen[];
  backlog: number;
  /** Accept at most this many client connections at once (then new ones wait in the backlog). */
  connections: number;
  /** PROXY protocol v1/v2 header required at the start of each connection. */
  proxied: boolean;
  connect: boolean;
  /** Ports CONNECT may reach. */
  connectPorts: ReadonlySet<number>;
  /** `http.expect`: answer 417 to any Expect. */
  rejectExpect: boolean;
  /** `http.transparent`: origin-form requests go where a redirected connection was going (SO_ORIGINAL_DST). */
  transparent: boolean;
  /** Extra methods allowed (upper case). */
  extensions: ReadonlySet<string>;
  /** Header carrying the client address from a trusted front (lower case), or ''. */
  forwardHeader: string;
  forwardTrust: RangeList;
  clients: RangeList;
  deny: RangeList;
  /** `security.local` entries: host (or '*') and port (or 0 for any). */
  localAllowed: readonly { host: string; port: number }[];
  limits: { head: number; target: number; headers: number };
  timeouts: {
    /** No complete first request (ExaProxy's idle-connect). */
    idleConnect: number;
    /** Head not complete after its first byte (slowloris). */
    header: number;
    keepAlive: number;
    upstreamConnect: number;
    upstreamResponse: number;
    tunnelIdle: number;
    upstreamIdle: number;
  };
  upstreamMaxIdlePerHost: number;
  /** Who moves a tunnel's bytes once it is established (http.tunnel-relay). */
  tunnelRelay: TunnelRelay;
  /** Who moves a long Content-Length response body (http.body-relay). */
  bodyRelay: TunnelRelay;
  /** Source addresses of upstream connections ('' lets the system choose). */
  bind: { v4: string; v6: string };
  rewrite: {
    via?: string;
    forwardedFor: 'append' | 'replace' | 'leave';
    passProxyAuthorization: boolean;
    removeRequest: string[];
  };
  dns: { ttl: number; negativeTtl: number; fqdn: boolean; ipv4: boolean; ipv6: boolean; servers?: NameServers };
  /** Folder of ExaProxy-style page templates, or '' for the built-in pages. */
  html: string;
  /** `Server` header of local responses. */
  server: string;
}

/** Seconds from the configuration (0 = no limit) as milliseconds for the sweeper. */
export function ms(seconds: number): number {
  return seconds === 0 ? Number.MAX_SAFE_INTEGER / 2 : Math.round(seconds * 1000);
}

/** Resolves the configuration into what the data path reads. */
export function settingsFromConfig(config: Config, version: string): ProxySettings {
  const { http, security, dns, tcp4, tcp6, daemon } = config;
  const listen: Listen[] = [];
  if (tcp4.listen) listen.push({ host: tcp4.host, port: tcp4.port });
  if (tcp6.listen) listen.push({ host: tcp6.host, port: tcp6.port });
  const removeRequest = [...http.removeHeaders];
  if (http.mask && http.forward) removeRequest.push(http.forward);
  return {
    listen,
    backlog: Math.max(tcp4.backlog, tcp6.backlog),
    connections: http.connections,
    proxied: http.proxied,
    connect: http.connect,
    connectPorts: new Set(security.connect),
    rejectExpect: http.expect && !http.transparent,
    transparent: http.transparent,
    extensions: new Set(http.extensions),
    forwardHeader: http.forward,
    forwardTrust: new RangeList(http.forwardTrust),
    clients: new RangeList(security.clients),
    deny: new RangeList(security.deny),
    localAllowed: security.local,
    limits: { head: http.headerSize || 16 * 1024 * 1024, target: http.targetSize, headers: http.headerCount },
    timeouts: {
      idleConnect: ms(http.idleConnect),
      header: ms(http.headerTimeout),
      keepAlive: ms(http.keepaliveTimeout),
      upstreamConnect: ms(http.upstreamConnectTimeout),
      upstreamResponse: ms(http.upstreamResponseTimeout),
      tunnelIdle: http.tunnelIdleTimeout === 0 ? 0 : ms(http.tunnelIdleTimeout),
      upstreamIdle: ms(http.upstreamIdleTimeout),
    },
    upstreamMaxIdlePerHost: http.upstreamMaxIdlePerHost,
    tunnelRelay: http.tunnelRelay,
    bodyRelay: http.bodyRelay,
    bind: { v4: tcp4.bind === '0.0.0.0' ? '' : tcp4.bind, v6: tcp6.bind === '::' ? '' : tcp6.bind },
    rewrite: {
      via: http.via && !http.transparent ? daemon.identifier : undefined,
      forwardedFor: http.transparent ? 'leave' : http.xff,
      // A login the proxy checked is never passed on, whatever http.proxy-authorization says.
      passProxyAuthorization: http.proxyAuthorization && !config.auth.enable,
      removeRequest,
    },
    dns: {
      ttl: ms(dns.ttl),
      negativeTtl: dns.negativeTtl * 1000,
      fqdn: dns.fqdn,
      ipv4: tcp4.out,
      ipv6: tcp6.out,
      servers: { file: dns.resolver, timeoutMs: Math.round(dns.timeout * 1000), tries: dns.retries },
    },
    html: config.web.html,
    server: `exaproxy/${version}`,
  };
}
