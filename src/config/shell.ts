/**
 * Shell-like splitting and quoting of a command line (redirector.program), so a helper path or
 * argument may contain spaces. Only quoting is interpreted: no variables, globs or pipes,
 * because the helper is started directly, never through a shell.
 */

/** Splits on unquoted whitespace; '…' is literal, "…" and bare words honour backslash escapes. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`the ' opened at character ${i + 1} is never closed`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= line.length) throw new Error(`the " opened at character ${i + 1} is never closed`);
        const d = line[j]!;
        if (d === '"') break;
        if (d === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) {
          word += line[j + 1];
          j += 2;
        } else {
          word += d;
          j++;
        }
      }
      inWord = true;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error('the line ends with a lone backslash');
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** The inverse of splitCommand: words that need it are single-quoted. */
export function quoteCommand(words: readonly string[]): string {
  return words.map((w) => (SAFE_WORD.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(' ');
}
