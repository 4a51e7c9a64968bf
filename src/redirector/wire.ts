/**
 * Small text helpers shared by the protocols. Helper protocols are line based, so a
 * request field must never carry a space or line end into the helper's input.
 */

/** True for bytes that would split a helper line or a header: controls, space, DEL. */
function isBreaking(code: number): boolean {
  return code <= 0x20 || code === 0x7f;
}

/**
 * Percent-encodes spaces and control characters. The proxy's parser already rejects them in
 * request targets; this is defence in depth, so a request can never inject a second line.
 */
export function wireSafe(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (isBreaking(text.charCodeAt(i))) return encodeFrom(text, i);
  }
  return text;
}

function encodeFrom(text: string, first: number): string {
  let out = text.slice(0, first);
  for (let i = first; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out += isBreaking(code) ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : text[i];
  }
  return out;
}

/** True if a helper-supplied value holds a control character (never acceptable in a URL or header). */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** A host as written inside a URL: IPv6 literals need brackets. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Splits `host[:port]` / `[v6]:port`; null when the port is not 1-65535 or the host is empty. */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | null {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return null;
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
  }
  if (host === '' || hasControl(host) || host.includes(' ') || host.includes('/')) return null;
  if (portText === undefined) return { host, port: defaultPort };
  if (!/^[0-9]{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { host, port } : null;
}
