/**
 * The INI dialect of ExaProxy's exaproxy.conf (Python 2 ConfigParser as ExaProxy used it):
 * `[section]` headers, `option = value` or `option: value`, whole-line `#` and `;` comments,
 * indented continuation lines. Values are stripped of whitespace and of one pair of
 * surrounding quotes. `%` interpolation is not applied: ExaProxy's files never relied on it.
 */
import { ConfigError } from './errors';

export interface IniEntry {
  /** Section name, lower case, as written: "http" or "exaproxy.http". */
  readonly section: string;
  /** Option name, lower case. */
  readonly option: string;
  /** The value, whitespace and one pair of surrounding quotes removed. */
  readonly value: string;
  /** Line number (1-based) of the option. */
  readonly line: number;
}

/**
 * Removes one pair of matching surrounding quotes, as ExaProxy's unquote did for `'value'` and
 * `"value"`. Unlike ExaProxy (which stripped every leading and trailing quote), a quote that is
 * also used inside the value is kept, so `"a b" "c"` stays a two-word command line.
 */
export function unquote(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2) {
    const quote = trimmed[0]!;
    if ((quote === "'" || quote === '"') && trimmed.endsWith(quote) && !trimmed.slice(1, -1).includes(quote)) {
      return trimmed.slice(1, -1);
    }
  }
  return trimmed;
}

/** Parses INI text; `where` is the file name used in error messages ("<where>:<line>: …"). */
export function parseIni(textContent: string, where: string): IniEntry[] {
  const entries: IniEntry[] = [];
  let section: string | undefined;
  // The entry a continuation line extends (a value split over several indented lines).
  let last: { section: string; option: string; parts: string[]; line: number } | undefined;
  const flush = (): void => {
    if (last) entries.push({ section: last.section, option: last.option, value: unquote(last.parts.join(' ')), line: last.line });
    last = undefined;
  };
  const lines = textContent.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    if (/^\s/.test(raw)) {
      if (last) {
        last.parts.push(trimmed);
        return;
      }
      throw new ConfigError(`${where}:${line}`, `cannot parse ${JSON.stringify(trimmed)}: an indented line continues the value of the option above it, and there is none; remove the indentation`,
      );
    }
    flush();
    const header = /^\[\s*([^\]]*?)\s*\]$/.exec(trimmed);
    if (header) {
      section = header[1]!.toLowerCase();
      if (section === '') throw new ConfigError(`${where}:${line}`, `cannot parse "[]": a section needs a name, e.g. [http]`);
      return;
    }
    const assignment = /^([^:=\s][^:=]*?)\s*[:=]\s*(.*)$/.exec(trimmed);
    if (!assignment) {
      throw new ConfigError(`${where}:${line}`, `cannot parse ${JSON.stringify(trimmed)}: expected [section], option = value, or a # comment`,
      );
    }
    const option = assignment[1]!.toLowerCase();
    if (section === undefined) {
      throw new ConfigError(`${where}:${line}`, `${option} = ${JSON.stringify(unquote(assignment[2]!))} is outside any [section]: put a [section] line such as [http] above it`,
      );
    }
    last = { section, option, parts: [assignment[2]!], line };
  });
  flush();
  return entries;
}
