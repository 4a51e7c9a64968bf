/**
 * ExaProxy's `/json/configuration` document (docs/operations.md, the monitor's pages), for the monitor: the same keys,
 * including ExaProxy's spellings (`daemon.deamonize`, `daemon.sleep`), so existing dashboards
 * keep working. Lists are space-joined strings as ExaProxy printed them.
 */
import { VERSION } from '../version';
import { SCHEMA, type Config } from './schema';

export type ConfigurationJson = Record<string, string | number | boolean>;

export function configToJson(config: Config): ConfigurationJson {
  const { daemon, dns, http, log, profile, redirector, security, tcp4, tcp6, usage, web } = config;
  const json: ConfigurationJson = {
    'exaproxy.debug.log': log.level === 'DEBUG',
    'exaproxy.debug.pdb': false,
    'exaproxy.debug.memory': false,
    'exaproxy.daemon.deamonize': daemon.daemonize,
    'exaproxy.daemon.identifier': daemon.identifier,
    'exaproxy.daemon.pidfile': daemon.pidfile,
    'exaproxy.daemon.sleep': daemon.speed,
    'exaproxy.daemon.user': daemon.user,
    'exaproxy.daemon.reactor': daemon.reactor,
    'exaproxy.profile.enable': profile.enable,
    'exaproxy.profile.destination': profile.destination,
    'exaproxy.dns.fqdn': dns.fqdn,
    'exaproxy.dns.resolver': dns.resolver,
    'exaproxy.dns.timeout': dns.timeout,
    'exaproxy.dns.ttl': dns.ttl,
  };
  for (const subsystem of ['daemon', 'supervisor', 'signal', 'worker', 'server', 'manager', 'client', 'download', 'http', 'configuration', 'web'] as const) {
    json[`exaproxy.log.level.${subsystem}`] = log[subsystem];
  }
  for (const [name, tcp] of [['tcp4', tcp4], ['tcp6', tcp6]] as const) {
    json[`exaproxy.${name}.host`] = tcp.host;
    json[`exaproxy.${name}.port`] = tcp.port;
    json[`exaproxy.${name}.backlog`] = tcp.backlog;
    json[`exaproxy.${name}.timeout`] = tcp.timeout;
    json[`exaproxy.${name}.listen`] = tcp.listen;
    json[`exaproxy.${name}.out`] = tcp.out;
    json[`exaproxy.${name}.bind`] = tcp.bind;
  }
  Object.assign(json, {
    'exaproxy.http.connect': http.connect,
    'exaproxy.http.connections': http.connections,
    'exaproxy.http.forward': http.forward,
    'exaproxy.http.transparent': http.transparent,
    'exaproxy.http.extensions': http.extensions.join(' '),
    'exaproxy.proxy.version': VERSION,
    'exaproxy.redirector.enable': redirector.enable,
    'exaproxy.redirector.protocol': redirector.protocol,
    'exaproxy.redirector.program': redirector.program.line,
    'exaproxy.redirector.minimum': redirector.minimum,
    'exaproxy.redirector.maximum': redirector.maximum,
    'exaproxy.security.local': security.local.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port === 0 ? '*' : port}`).join(' '),
    'exaproxy.security.connect': security.connect.join(' '),
    'exaproxy.usage.destination': SCHEMA.usage.destination.format(usage.destination),
    'exaproxy.usage.enable': usage.enable,
    'exaproxy.web.enable': web.enable,
    // ExaProxy always reported 127.0.0.1 here; the real address is more useful.
    'exaproxy.web.host': web.host,
    'exaproxy.web.port': web.port,
    'exaproxy.web.debug': web.debug,
  });
  return json;
}
