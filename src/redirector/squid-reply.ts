/**
 * Squid's helper reply grammar, reproduced byte for byte because helpers rely on its quirks
 * (examples/redirectors/README.md; squid src/helper/Reply.cc parse/parseResponseKeys, src/base strwordtok,
 * lib/rfc1738.c unescape, src/redirect.cc legacy replies):
 *   [channel-ID SP] result [SP key=value]*
 * result is OK, ERR or BH followed by a space or the end; an empty line is ERR; anything else
 * is a legacy (pre-3.4) reply.
 */

export type SquidResult = 'OK' | 'ERR' | 'BH' | 'unknown';

export interface SquidReply {
  result: SquidResult;
  /** kv-pairs in order (a key may repeat; Squid uses the first). */
  notes: Array<[key: string, value: string]>;
  /** For `unknown`: the whole line, to be read as a legacy reply. */
  other: string;
}

/** Squid's xisspace: space, \t, \n, \v, \f, \r. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function isKeyChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)
    || code === 0x5f || code === 0x2d;
}

function resultAt(line: string, code: 'OK' | 'ERR' | 'BH'): boolean {
  return line.startsWith(code) && (line.length === code.length || line.charCodeAt(code.length) === 0x20);
}

export function parseSquidReply(line: string): SquidReply {
  // An empty line was the old rewriter interface's "no change": Squid reads it as ERR.
  if (line.length === 0) return { result: 'ERR', notes: [], other: '' };
  let result: SquidResult = 'unknown';
  let p = 0;
  // Squid only looks for a result code in replies of 2 bytes or more.
  if (line.length >= 2) {
    if (resultAt(line, 'OK')) [result, p] = ['OK', 2];
    else if (resultAt(line, 'ERR')) [result, p] = ['ERR', 3];
    else if (resultAt(line, 'BH')) [result, p] = ['BH', 2];
  }
  if (result === 'unknown') return { result, notes: [], other: line };
  while (p < line.length && isSpace(line.charCodeAt(p))) p++;
  return { result, notes: parseKeys(line, p), other: '' };
}

/** parseResponseKeys: key=value pairs until the first token that is not one. */
function parseKeys(line: string, from: number): Array<[string, string]> {
  const notes: Array<[string, string]> = [];
  let p = from;
  while (p < line.length) {
    while (p < line.length && isSpace(line.charCodeAt(p))) p++;
    const keyStart = p;
    while (p < line.length && isKeyChar(line.charCodeAt(p))) p++;
    if (p >= line.length || line[p] !== '=') return notes;
    // Whitespace after '=' is refused: strwordtok would otherwise skip it.
    if (p + 1 < line.length && isSpace(line.charCodeAt(p + 1))) return notes;
    const key = line.slice(keyStart, p);
    p++;
    const decode = line[p] !== '"';
    const valueStart = p;
    const [word, next] = wordToken(line, p);
    p = next;
    // Squid %-decodes an unquoted value when it spans more than 2 bytes (a %XX needs 3).
    const value = word !== null && decode && next - valueStart > 2 ? unescapeUrl(word) : word ?? '';
    notes.push([key, value]);
  }
  return notes;
}

/**
 * strwordtok: a word ends at unquoted whitespace (which is consumed). `"` toggles quoting and
 * is removed; inside quotes `\n`/`\r` become LF/CR and `\x` becomes x. Outside quotes a
 * backslash is an ordinary character.
 */
function wordToken(line: string, from: number): [string | null, number] {
  let p = from;
  while (p < line.length && isSpace(line.charCodeAt(p))) p++;
  if (p >= line.length) return [null, p];
  let word = '';
  let quoted = false;
  while (p < line.length) {
    const ch = line[p]!;
    if (ch === '\\') {
      if (quoted) p++;
      const escaped = p < line.length ? line[p]! : '';
      word += escaped === 'n' && quoted ? '\n' : escaped === 'r' && quoted ? '\r' : escaped;
      if (p < line.length) p++;
    } else if (ch === '"') {
      quoted = !quoted;
      p++;
    } else {
      if (!quoted && isSpace(line.charCodeAt(p))) return [word, p + 1];
      word += ch;
      p++;
    }
  }
  return [word, p];
}

function hexValue(ch: string | undefined): number {
  if (ch === undefined) return -1;
  const code = ch.charCodeAt(0);
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/** rfc1738_unescape: %XX decoded (not %00), %% becomes %, a lone % stays. Works on latin1 text. */
export function unescapeUrl(text: string): string {
  if (!text.includes('%')) return text;
  let out = '';
  for (let j = 0; j < text.length; j++) {
    const ch = text[j]!;
    if (ch !== '%') {
      out += ch;
    } else if (text[j + 1] === '%') {
      out += '%';
      j++;
    } else {
      const high = hexValue(text[j + 1]);
      const low = hexValue(text[j + 2]);
      const byte = high * 16 + low;
      if (high >= 0 && low >= 0 && byte > 0) {
        out += String.fromCharCode(byte);
        j += 2;
      } else {
        out += '%';
      }
    }
  }
  return out;
}

/** The first value of a key, as Squid's notes.findFirst(). */
export function note(reply: SquidReply, key: string): string | undefined {
  for (const [k, v] of reply.notes) if (k === key) return v;
  return undefined;
}

/** atoi(): optional leading whitespace and sign, then digits; 0 if none. */
export function atoi(text: string): number {
  const match = /^[\t\n\v\f\r ]*([+-]?[0-9]+)/.exec(text);
  return match === null ? 0 : Number.parseInt(match[1]!, 10);
}

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * redirectHandleReply's legacy mapping: keep the first space-delimited word, drop a Squid-2
 * `!urlgroup!` prefix, read `NNN:URL` (NNN a redirect status) as a redirect and anything
 * else as a rewrite. Returns the notes Squid would have built.
 */
export function legacyNotes(other: string): Array<[string, string]> {
  const space = other.indexOf(' ');
  let word = space === -1 ? other : other.slice(0, space);
  if (word === '') return [];
  if (word.startsWith('!')) {
    const close = word.indexOf('!', 1);
    if (close !== -1) word = word.slice(close + 1);
  }
  const status = atoi(word);
  const colon = word.indexOf(':');
  if (REDIRECT_STATUSES.has(status) && colon !== -1) {
    return [['status', String(status)], ['url', word.slice(colon + 1)]];
  }
  return [['rewrite-url', word]];
}
