/**
 * RFC 1738 escaping as Squid's rfc1738_escape does it for helper lines: control bytes, bytes
 * above 0x7E and Squid's "unsafe" characters (space among them) become %XX, so a user name or
 * a password can never cut a helper line or add a field to it.
 */

const UNSAFE = new Set([...'<>"#%{}|\\^~[]`\' '].map((c) => c.charCodeAt(0)));

export function rfc1738Escape(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    out += b <= 0x1f || b >= 0x7f || UNSAFE.has(b) ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}
