/**
 * The credentials of a `Proxy-Authorization: Basic …` header (RFC 7617): the user is what
 * comes before the first colon of the decoded value, the password what follows.
 */

export interface Credentials {
  user: Buffer;
  password: Buffer;
}

const BASIC = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;

/** The user and password of the header's value, or null when there is none or it is not Basic. */
export function basicCredentials(value: string | undefined): Credentials | null {
  if (value === undefined) return null;
  const m = BASIC.exec(value);
  if (m === null) return null;
  const raw = Buffer.from(m[1]!, 'base64');
  const colon = raw.indexOf(0x3a);
  if (colon <= 0) return null; // no user name: nothing to ask a helper about
  return { user: raw.subarray(0, colon), password: raw.subarray(colon + 1) };
}
