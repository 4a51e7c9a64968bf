/**
 * `redirector.protocol = icap-service://host[:port]/service[?args]`: an ICAP service over
 * TCP (RFC 3507, default port 1344). `icap://` already names ExaProxy's stdin/stdout dialect,
 * so the network form has its own scheme; the service is sent `icap://host:port/service`.
 */
import { hasControl, parseHostPort } from './wire';

export const ICAP_SERVICE_SCHEME = 'icap-service://';
export const ICAP_SERVICE_FORM = 'icap-service://HOST[:PORT]/SERVICE';

export interface IcapServiceUri {
  host: string;
  port: number;
  /** The request-URI of every ICAP request: `icap://host:port/service[?args]`. */
  uri: string;
  /** The ICAP `Host` header. */
  hostHeader: string;
}

/** The parsed URI, or a sentence saying what is wrong with it. */
export function parseIcapServiceUri(text: string): IcapServiceUri | string {
  if (!text.startsWith(ICAP_SERVICE_SCHEME)) return `expected ${ICAP_SERVICE_FORM}`;
  const rest = text.slice(ICAP_SERVICE_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return `expected ${ICAP_SERVICE_FORM} (the service name after the host is missing)`;
  const path = rest.slice(slash);
  if (path.length < 2 || path.includes(' ') || hasControl(path)) return `expected ${ICAP_SERVICE_FORM} ("${path}" is not a service name)`;
  const target = parseHostPort(rest.slice(0, slash), 1344);
  if (target === null) return `expected ${ICAP_SERVICE_FORM} ("${rest.slice(0, slash)}" is not host[:port])`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const hostHeader = `${host}:${target.port}`;
  return { host: target.host, port: target.port, uri: `icap://${hostHeader}${path}`, hostHeader };
}
