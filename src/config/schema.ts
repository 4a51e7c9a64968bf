/**
 * Every configuration option, in one table: ExaProxy's own (same `section.option` names and
 * defaults, so an ExaProxy exaproxy.conf loads unchanged) and the ones exaproxy adds. Each
 * entry says its type, default, one line of help and whether this release acts on it.
 * The `Config` type is derived from this table, so adding a line here is all it takes to add
 * an option everywhere (loading, -h, -i/-e printing, the typed result).
 */
import {
  address,
  bool,
  cidrs,
  command,
  header,
  headers,
  int,
  methods,
  oneOf,
  path,
  port,
  ports,
  redirectorProtocol,
  seconds,
  services,
  text,
  type Option,
} from './types';
import { logDestination } from './log-destination';
import { aclFormat } from './acl-format';
import { parentProxies } from './parents';

const LOOPBACK = '127.0.0.0/8 ::1/128';
const PRIVATE = `${LOOPBACK} 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7 fe80::/10`;
const MANY = 1_000_000;
const DAY = 86_400;
/** Destination lists: host names, and `.domain` for a domain and its subdomains. */
const DESTINATIONS = /^[A-Za-z0-9.\-_ ]*$/;
const DESTINATIONS_ACCEPTED = 'host names, or .domain for a domain and its subdomains, separated by spaces';

/** ExaProxy's per-subsystem log switches (log.<subsystem>). */
function subsystem(name: string): Option<boolean> {
  return bool({ default: 'true', help: `log messages from the ${name} subsystem`, implemented: false });
}

/**
 * The options of the ICAP, TLS and passthrough listeners, which share ExaProxy's layout;
 * `implemented` once the listener exists.
 */
function listener(name: string, portNumber: string, implemented = false, idleHelp = `close new ${name} connections that send nothing this long (at most http.header-timeout)`) {
  return {
    enable: bool({ default: 'false', help: `enable the ${name} listener`, implemented }),
    host: address({ family: 4, default: '127.0.0.1', help: `IPv4 address the ${name} listener listens on`, implemented }),
    ipv6: address({ family: 6, default: '::', help: `IPv6 address the ${name} listener listens on (when tcp6.listen)`, implemented }),
    port: port({ default: portNumber, help: `port the ${name} listener listens on`, zero: 'any free port', implemented }),
    'idle-connect': seconds({ default: '300', min: 0, max: DAY, zero: 'no limit', help: idleHelp, implemented }),
    connections: int({ default: '32768', min: 1, max: MANY, help: `maximum number of ${name} connections`, implemented }),
    proxied: bool({ default: 'false', help: `expect a PROXY protocol header on ${name} connections`, implemented }),
  };
}

function headerSize(name: string, implemented = false): Option<number> {
  return int({ default: '65536', min: 0, max: 16_777_216, zero: 'unlimited', help: `maximum size in bytes of the ${name} header`, implemented });
}

export const SCHEMA = {
  tcp4: {
    host: address({ family: 4, default: '127.0.0.1', help: 'IPv4 address the proxy listens on' }),
    port: port({ default: '3128', zero: 'any free port', help: 'port the proxy listens on over IPv4' }),
    timeout: seconds({ default: '5', min: 0, max: DAY, help: 'ExaProxy listening-socket timeout; see the http.*-timeout options', implemented: false }),
    backlog: int({ default: '200', min: 1, max: 65535, help: 'how many connections the OS queues for us when busy' }),
    listen: bool({ default: 'true', help: 'listen for proxy connections over IPv4' }),
    out: bool({ default: 'true', help: 'allow connections to web servers over IPv4' }),
    bind: address({ family: 4, default: '0.0.0.0', help: 'source IPv4 address of connections to web servers (0.0.0.0 lets the OS choose)' }),
  },
  tcp6: {
    host: address({ family: 6, default: '::1', help: 'IPv6 address the proxy listens on' }),
    port: port({ default: '3128', zero: 'any free port', help: 'port the proxy listens on over IPv6' }),
    timeout: seconds({ default: '5', min: 0, max: DAY, help: 'ExaProxy listening-socket timeout; see the http.*-timeout options', implemented: false }),
    backlog: int({ default: '200', min: 1, max: 65535, help: 'how many connections the OS queues for us when busy' }),
    listen: bool({ default: 'false', help: 'listen for proxy connections over IPv6' }),
    out: bool({ default: 'true', help: 'allow connections to web servers over IPv6' }),
    bind: address({ family: 6, default: '::', help: 'source IPv6 address of connections to web servers (:: lets the OS choose)' }),
  },
  redirector: {
    enable: bool({ default: 'false', help: 'hand each request to helper programs that allow, deny or rewrite it' }),
    program: command({ default: 'etc/exaproxy/redirector/url-allow', help: 'the helper command with its arguments (shell-like quoting)' }),
    minimum: int({ default: '5', min: 0, max: 10_000, help: 'helpers kept running' }),
    maximum: int({ default: '25', min: 1, max: 10_000, help: 'most helpers running at once (with redirector.respmod, also the most RESPMOD connections open: fewer when the service says Max-Connections)' }),
    protocol: redirectorProtocol({ default: 'url', help: 'helper protocol: url (ExaProxy), squid (url_rewrite_program), icap://NAME (ExaProxy ICAP-like, over stdin/stdout), or icap-service://HOST[:PORT]/SERVICE: REQMOD to an ICAP server over TCP (port 1344 by default), no program; minimum/maximum then count connections' }),
    timeout: seconds({ default: '5', min: 0, max: DAY, zero: 'wait for ever', help: 'seconds a helper may take to answer before redirector.failure applies' }),
    queue: int({ default: '1000', min: 0, max: MANY, zero: 'unbounded', help: 'requests waiting for a free helper before redirector.failure applies' }),
    failure: oneOf(['deny', 'allow'], { default: 'deny', help: 'what to do with a request when no helper answers: deny (error page) or allow (forward it)' }),
    concurrency: int({ default: '0', min: 0, max: 1000, zero: 'one request at a time, no channel-ID', help: 'requests in flight per helper, with Squid channel-IDs' }),
    pipeline: int({ default: '16', min: 1, max: 256, help: 'requests written ahead to a quick helper of an in-order protocol (url, squid without concurrency); 1: one at a time, as ExaProxy' }),
    cache: seconds({ default: '0', min: 0, max: DAY, zero: 'no cache', help: 'seconds to remember a helper decision for the same request line' }),
    respmod: bool({ default: 'false', help: 'also send responses to the ICAP service of redirector.protocol (icap-service:// only) as RESPMOD, with its Preview, when its OPTIONS offer RESPMOD (Squid icap_service … respmod_precache); the client gets what it answers' }),
    'respmod-limit': int({ default: '67108864', min: 0, max: 1_099_511_627_776, zero: 'no limit', help: 'largest response body (bytes) sent to the ICAP service as RESPMOD; see redirector.respmod-over-limit' }),
    'respmod-over-limit': oneOf(['bypass', 'deny'], { default: 'bypass', help: 'a response body above redirector.respmod-limit: bypass (the client gets it unchecked; a known Content-Length never reaches the service) or deny (403 page)' }),
  },
  auth: {
    enable: bool({ default: 'false', help: 'require a login (Proxy-Authorization: Basic) checked by auth.program, as Squid auth_param basic' }),
    program: command({ default: '/usr/lib/squid/basic_ncsa_auth /etc/squid/passwd', help: "a Squid basic auth helper with its arguments (reads 'user password', answers OK/ERR/BH)" }),
    minimum: int({ default: '1', min: 0, max: 10_000, help: 'auth helpers kept running' }),
    maximum: int({ default: '5', min: 1, max: 10_000, help: 'most auth helpers running at once (Squid auth_param basic children)' }),
    concurrency: int({ default: '0', min: 0, max: 1000, zero: 'one request at a time, no channel-ID', help: 'logins in flight per auth helper, with Squid channel-IDs' }),
    timeout: seconds({ default: '5', min: 0.001, max: DAY, help: 'seconds an auth helper may take to answer (then it is replaced and the client gets 503)' }),
    realm: text({ default: 'exaproxy', pattern: /^[ !#-[\]-~]*$/, accepted: 'printable ASCII text without double quotes or backslashes', help: 'the realm of the Proxy-Authenticate challenge, shown by browsers' }),
    ttl: seconds({ default: '7200', min: 0, max: 7 * DAY, zero: 'ask the helper every time', help: 'seconds a successful login is remembered (keyed by user and a hash of the password; Squid credentialsttl)' }),
    'negative-ttl': seconds({ default: '5', min: 0, max: DAY, zero: 'ask the helper every time', help: 'seconds a refused login is remembered' }),
    'exempt-clients': cidrs({ default: '', help: 'client ranges that need no login' }),
    'exempt-destinations': text({ default: '', pattern: DESTINATIONS, accepted: DESTINATIONS_ACCEPTED, help: 'destinations that need no login (host, or .domain and its subdomains)' }),
  },
  acl: {
    enable: bool({ default: 'false', help: 'ask a Squid external ACL helper (external_acl_type) about each request: OK goes on, ERR gets 403' }),
    program: command({ default: '/usr/lib/squid/ext_file_userip_acl -f /etc/squid/userip.conf', help: 'the external ACL helper with its arguments (reads the acl.format line, answers OK/ERR/BH)' }),
    format: aclFormat({ default: '%SRC %LOGIN', help: "the helper's request line in Squid's FORMAT macros, each URL-escaped ('-' when unknown); %DATA appended if absent" }),
    data: text({ default: '', help: "the arguments of Squid's `acl NAME external TYPE ARGS` line, sent as %DATA ('-' when empty)" }),
    minimum: int({ default: '1', min: 0, max: 10_000, help: 'external ACL helpers kept running (Squid children-startup)' }),
    maximum: int({ default: '5', min: 1, max: 10_000, help: 'most external ACL helpers running at once (Squid children-max)' }),
    concurrency: int({ default: '0', min: 0, max: 1000, zero: 'one request at a time, no channel-ID', help: 'requests in flight per external ACL helper, with Squid channel-IDs' }),
    timeout: seconds({ default: '5', min: 0.001, max: DAY, help: 'seconds an external ACL helper may take to answer (then it is replaced and acl.failure applies)' }),
    ttl: seconds({ default: '3600', min: 0, max: 7 * DAY, zero: 'ask the helper every time', help: 'seconds an OK is remembered for the same request line (Squid ttl)' }),
    'negative-ttl': seconds({ default: '3600', min: 0, max: 7 * DAY, zero: 'ask the helper every time', help: 'seconds an ERR is remembered for the same request line (Squid negative_ttl)' }),
    failure: oneOf(['deny', 'allow'], { default: 'deny', help: 'when the helper answers BH three times or not at all: deny (503 page) or allow (go on)' }),
  },
  parent: {
    proxies: parentProxies({ default: '', help: "upstream proxies to go through (Squid cache_peer … parent): '[user:password@]host:port [weight=N] [tag=T]', comma separated; empty: connect directly" }),
    domains: text({ default: '', pattern: DESTINATIONS, accepted: DESTINATIONS_ACCEPTED, help: 'destinations sent through the parents (host, or .domain and its subdomains); empty: every destination (Squid never_direct allow all)' }),
    direct: text({ default: '', pattern: DESTINATIONS, accepted: DESTINATIONS_ACCEPTED, help: 'destinations always reached directly, never through a parent (Squid always_direct)' }),
    select: oneOf(['first', 'round-robin'], { default: 'first', help: 'first: the first parent up takes every request (Squid FIRSTUP_PARENT); round-robin: spread by weight (Squid round-robin)' }),
    retry: seconds({ default: '10', min: 0.001, max: DAY, help: 'seconds a parent that could not be connected to is left alone before it is tried again' }),
    'connect-timeout': seconds({ default: '5', min: 0.001, max: DAY, help: 'seconds to connect to a parent before the next one is tried (keep it below http.upstream-connect-timeout)' }),
  },
  http: {
    enable: bool({ default: 'true', help: 'ExaProxy serving state for SIGTTIN/SIGTTOU (use tcp4/tcp6.listen to stop listening)', implemented: false }),
    'idle-connect': seconds({ default: '300', min: 0, max: DAY, zero: 'no limit', help: 'close connections that have not sent a complete first request after this long (503 to clients still waiting at http.connections)' }),
    connections: int({ default: '32768', min: 1, max: MANY, help: 'maximum number of proxy client connections (IPv4 and IPv6 together), shared by the workers; lowered to what RLIMIT_NOFILE allows' }),
    transparent: bool({ default: 'false', help: 'do not reveal the proxy: no Via or X-Forwarded-For, hop-by-hop headers left alone' }),
    forward: header({ default: '', help: 'read the client address from this header (e.g. x-forwarded-for) when sent by http.forward-trust' }),
    'forward-trust': cidrs({ default: LOOPBACK, help: 'peers whose http.forward header or PROXY protocol header is believed' }),
    mask: bool({ default: 'false', help: 'remove the http.forward header before forwarding' }),
    connect: bool({ default: 'true', help: 'allow CONNECT (to the ports in security.connect)' }),
    expect: bool({ default: 'false', help: 'answer 417 to any request with an Expect header' }),
    extensions: methods({ default: '', help: 'extra HTTP methods to allow (space separated)' }),
    proxied: bool({ default: 'false', help: 'expect a PROXY protocol (v1/v2) header on proxy connections' }),
    'header-size': int({ default: '65536', min: 0, max: 16_777_216, zero: 'unlimited', help: 'maximum size in bytes of a request head (431 above)' }),
    'target-size': int({ default: '8192', min: 16, max: 1_048_576, help: 'maximum size in bytes of a request-target (414 above)' }),
    'header-count': int({ default: '100', min: 1, max: 10_000, help: 'maximum number of header lines in a request (431 above)' }),
    'header-timeout': seconds({ default: '10', min: 0, max: DAY, zero: 'no limit', help: 'seconds to receive a whole request head once it has started' }),
    'keepalive-timeout': seconds({ default: '60', min: 0, max: DAY, zero: 'no limit', help: 'seconds an idle client keep-alive connection is kept open' }),
    'upstream-connect-timeout': seconds({ default: '10', min: 0, max: DAY, zero: 'no limit', help: 'seconds to connect to a web server' }),
    'upstream-response-timeout': seconds({ default: '60', min: 0, max: DAY, zero: 'no limit', help: 'seconds to wait for a web server to start answering (1xx interim answers do not count), then between two reads of its answer' }),
    'tunnel-idle-timeout': seconds({ default: '3600', min: 0, max: 7 * DAY, zero: 'no limit', help: 'seconds a CONNECT or WebSocket tunnel may stay silent both ways' }),
    'tunnel-relay': oneOf(['splice', 'copy', 'js'], { default: 'splice', help: 'who moves the bytes of an established tunnel (CONNECT, WebSocket, TLS listener): the addon\'s relay thread with splice(2) through pipes (splice) or through one large buffer (copy), or Node streams (js; also where the native relay is not available, i.e. off Linux)' }),
    'body-relay': oneOf(['splice', 'copy', 'js'], { default: 'splice', help: 'who moves a response body of 128 KiB or more framed by Content-Length (no RESPMOD, plain TCP both sides): the addon\'s relay thread with splice(2) through pipes (splice) or through one large buffer (copy), or Node streams (js; also off Linux); the connections are kept alive either way' }),
    'upstream-idle-timeout': seconds({ default: '15', min: 0, max: DAY, zero: 'no limit', help: 'seconds an idle pooled connection to a web server is kept' }),
    'upstream-max-idle-per-host': int({ default: '256', min: 0, max: 10_000, zero: 'no pooling', help: 'idle connections kept per web server' }),
    via: bool({ default: 'true', help: 'add a Via header naming daemon.identifier (never when http.transparent)' }),
    xff: oneOf(['append', 'replace', 'leave'], { default: 'append', help: 'X-Forwarded-For: append the client address, replace the header with it, or leave it alone' }),
    'proxy-authorization': bool({ default: 'false', help: 'pass Proxy-Authorization to the web server (it is removed otherwise)' }),
    'remove-headers': headers({ default: '', help: 'request headers to remove before forwarding (space separated)' }),
  },
  passthrough: {
    // ExaProxy left passthrough connections without a timeout: here, idle-connect is their silence limit.
    ...listener('passthrough (TPROXY, Linux)', '8000', true, 'close passthrough connections on which nothing moves either way this long'),
    proxied: bool({ default: 'false', help: 'listen on an ordinary socket (no TPROXY) behind a front end whose PROXY protocol header (v1/v2, from http.forward-trust) names each connection\'s client and destination' }),
  },
  icap: {
    ...listener('ICAP server', '1344', true, 'close new ICAP connections that send nothing this long'),
    'header-size': int({ default: '65536', min: 0, max: 16_777_216, zero: 'unlimited', help: 'maximum size in bytes of an ICAP request head with its encapsulated HTTP head (ICAP 400 above)' }),
  },
  tls: { ...listener('TLS SNI', '443', true), 'header-size': headerSize('TLS ClientHello', true) },
  web: {
    enable: bool({ default: 'true', help: 'enable the built-in monitoring web server' }),
    host: address({ family: 'any', default: '127.0.0.1', help: 'address the monitoring web server listens on' }),
    port: port({ default: '8080', zero: 'any free port', help: 'port the monitoring web server listens on' }),
    html: path({ kind: 'folder', default: 'etc/exaproxy/html', help: 'folder of the local pages (ExaProxy templates); missing pages use built-in ones' }),
    connections: int({ default: '100', min: 1, max: MANY, help: 'maximum number of monitoring web connections' }),
    debug: bool({ default: 'false', help: "ExaProxy's eval/exec through the web (remote code execution): never implemented", implemented: false }),
    token: text({ default: '', help: 'when set, the monitor\'s control actions require "Authorization: Bearer <token>"' }),
    'open-control': bool({ default: 'false', help: 'without web.token, accept control actions from any local user anyway (otherwise they are refused)' }),
  },
  daemon: {
    identifier: text({ default: 'ExaProxy', pattern: /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, accepted: 'a single word (letters, digits, - . _), used in logs and as the Via pseudonym', help: 'name of this instance in logs and in the Via header' }),
    pidfile: path({ kind: 'file', default: '', help: 'file to write the process id to (empty: none)' }),
    user: text({ default: 'nobody', help: 'user to run as when started as root' }),
    daemonize: bool({ default: 'false', help: 'go to the background (use systemd or a supervisor instead)', implemented: false }),
    reactor: oneOf(['best', 'select', 'epoll', 'kqueue'], { default: 'best', help: "ExaProxy's event loop choice (Node picks the best one itself)", implemented: false }),
    speed: seconds({ default: '2', min: 0, max: 60, help: "ExaProxy's poll timeout (unused by Node's event loop)", implemented: false }),
    'poll-interfaces': bool({ default: 'true', help: "periodically re-read the machine's addresses the proxy must not connect to (always on for now)", implemented: false }),
    workers: int({ default: '0', min: 0, max: 1024, zero: 'one per CPU core', help: 'worker processes sharing the listening sockets, supervised by a primary that serves the monitor (1: one process, see daemon.supervise)' }),
    supervise: bool({ default: 'false', help: 'with one worker, still run a primary that restarts it (two processes); false: one process, ~40 MiB less, and a crash ends it (the service manager restarts it: Restart=on-failure). More than one worker always has a primary' }),
  },
  security: {
    local: services({ default: '', help: 'local services the proxy may reach despite the local-address block (host:port, * for any)' }),
    connect: ports({ default: '443 981 7000', help: 'ports CONNECT may reach' }),
    deny: cidrs({ default: '', help: 'destination ranges the proxy refuses to connect to' }),
    clients: cidrs({ default: PRIVATE, help: 'client ranges allowed to use the proxy (others get 403)' }),
  },
  dns: {
    resolver: path({ kind: 'file', default: '/etc/resolv.conf', help: 'resolv.conf whose nameservers are used' }),
    timeout: seconds({ default: '2', min: 0.001, max: 60, help: 'seconds to wait for a DNS answer before retrying' }),
    retries: int({ default: '10', min: 1, max: 100, help: 'DNS attempts before giving up' }),
    ttl: seconds({ default: '900', min: 0, max: 7 * DAY, zero: 'no cache', help: 'longest time an answer is cached (record TTLs are honoured below it)' }),
    'negative-ttl': seconds({ default: '5', min: 0, max: DAY, zero: 'no negative cache', help: 'seconds a failed lookup is remembered' }),
    fqdn: bool({ default: 'true', help: 'only resolve names with a dot (others get the dns page with 200)' }),
    definitions: path({ kind: 'file', default: 'etc/exaproxy/dns/types', help: "ExaProxy's DNS type table (unused: Node resolves)", implemented: false }),
  },
  log: {
    enable: bool({ default: 'true', help: 'write the main log' }),
    level: oneOf(['CRITICAL', 'ERROR', 'WARNING', 'INFO', 'DEBUG'], { default: 'ERROR', help: 'least severe level written' }),
    destination: logDestination({
      default: 'stdout',
      help: "where the log goes ('' or syslog: /dev/log; host:ADDR[:PORT]: syslog over UDP; ExaProxy wrote stdout to stderr)",
      unimplemented: [],
    }),
    signal: subsystem('signal'),
    configuration: subsystem('configuration'),
    supervisor: subsystem('supervisor'),
    daemon: subsystem('daemon'),
    server: subsystem('server'),
    client: subsystem('client'),
    manager: subsystem('manager'),
    worker: subsystem('worker'),
    download: subsystem('download'),
    http: subsystem('http'),
    header: subsystem('header'),
    resolver: subsystem('dns'),
    web: subsystem('web'),
  },
  usage: {
    enable: bool({ default: 'false', help: 'write the usage (access) log, one line per request' }),
    destination: logDestination({ default: 'stdout', help: 'where the usage log goes (same forms as log.destination)', unimplemented: ['syslog', 'remote'] }),
    format: oneOf(['exaproxy', 'squid', 'combined', 'json'], { default: 'exaproxy', help: 'usage log line format' }),
  },
  profile: {
    enable: bool({ default: 'false', help: "ExaProxy's cProfile run (use node --cpu-prof instead)", implemented: false }),
    destination: text({ default: 'stdout', help: "ExaProxy's profile output file", implemented: false }),
  },
} satisfies Record<string, Record<string, Option<unknown>>>;

export type Schema = typeof SCHEMA;
export type SectionName = keyof Schema & string;

/**
 * Names ExaProxy used in earlier releases, still accepted in files, the environment and flags.
 * ExaProxy 1.2.1 shipped `http.allow-connect`; later it became `http.connect`.
 */
export const ALIASES: Readonly<Record<string, string>> = { 'http.allow-connect': 'http.connect' };

/** "header-size" → "headerSize". */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

type ValueOf<O> = O extends Option<infer T> ? T : never;

/** The loaded configuration: `config.http.headerSize`, `config.redirector.program.argv`, … */
export type Config = {
  readonly [S in keyof Schema]: {
    readonly [O in keyof Schema[S] as CamelCase<O & string>]: ValueOf<Schema[S][O]>;
  };
};

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** One row of the table, with its full name. */
export interface OptionEntry {
  readonly section: SectionName;
  readonly name: string;
  /** "section.name" */
  readonly key: string;
  readonly option: Option<unknown>;
}

/** Every option, sections and names sorted (the order of -h, -i and -e). */
export const OPTIONS: readonly OptionEntry[] = Object.entries(SCHEMA)
  .sort(([a], [b]) => a.localeCompare(b))
  .flatMap(([section, options]) =>
    Object.entries(options as Record<string, Option<unknown>>)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, option]) => ({ section: section as SectionName, name, key: `${section}.${name}`, option })),
  );

export const OPTION_BY_KEY: ReadonlyMap<string, OptionEntry> = new Map(OPTIONS.map((entry) => [entry.key, entry]));

/** The value of one option in a loaded configuration. */
export function valueOf(config: Config, entry: OptionEntry): unknown {
  return (config[entry.section] as Record<string, unknown>)[camelCase(entry.name)];
}
