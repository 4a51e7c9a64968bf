/**
 * What `exaproxy -h`, `-i`, `-e`, `-di` and `-de` print. The INI and environment forms load
 * back to the same configuration (values are printed in the canonical form their parser
 * produces, and quoted where the loader would otherwise split or strip them).
 */
import { FLAG_HELP } from './args';
import { isDefault } from './load';
import { ALIASES, OPTIONS, valueOf, type Config } from './schema';

/** Quotes an INI value when whitespace, comment characters or end quotes would change it on reading. */
function iniValue(value: string): string {
  const needsQuotes = value === '' || /\s/.test(value) || /^[#;'"]/.test(value) || /['"]$/.test(value);
  if (!needsQuotes) return value;
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  return value; // Both quote characters inside: neither can wrap it, and unquote() leaves it alone.
}

/** Single-quotes a value for a POSIX shell, e.g. `env exaproxy.http.forward='' exaproxy`. */
function shellValue(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

function printed(config: Config, defaults: Config, diffOnly: boolean) {
  return OPTIONS.filter((entry) => !diffOnly || !isDefault(config, defaults, entry)).map((entry) => ({
    entry,
    text: entry.option.format(valueOf(config, entry)),
  }));
}

/** The configuration as an INI file (sections and options sorted); `diffOnly` keeps non-default values. */
export function iniText(config: Config, defaults: Config, diffOnly = false): string {
  const lines: string[] = [];
  let section = '';
  for (const { entry, text } of printed(config, defaults, diffOnly)) {
    if (entry.section !== section) {
      if (section !== '') lines.push('');
      lines.push(`[${entry.section}]`);
      section = entry.section;
    }
    lines.push(`${entry.name} = ${iniValue(text)}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The configuration as `exaproxy.section.option=value` lines, quoted for a POSIX shell. */
export function envText(config: Config, defaults: Config, diffOnly = false): string {
  const lines = printed(config, defaults, diffOnly).map(({ entry, text }) => `exaproxy.${entry.key}=${shellValue(text)}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** `exaproxy -h`: usage, flags, where the configuration comes from, signals, and every option. */
export function helpText(version: string): string {
  const width = Math.max(...OPTIONS.map((entry) => entry.key.length)) + 'exaproxy.'.length + 2;
  const options = OPTIONS.map(({ key, option }) => {
    const shown = option.default === '' ? "''" : option.default;
    const pending = option.implemented === false ? ' [not implemented yet]' : '';
    return `  ${`exaproxy.${key}`.padEnd(width)}${option.help}. ${option.type}, default ${shown}${pending}`;
  });
  const aliases = Object.entries(ALIASES).map(([old, now]) => `  exaproxy.${old.padEnd(width - 9)}old name of ${now}, still accepted`);
  return [
    `exaproxy ${version}: a filtering HTTP/1.x proxy that runs ExaProxy and Squid helpers`,
    '',
    'usage: exaproxy [flags] [--section.option=VALUE ...]',
    '',
    ...FLAG_HELP,
    '',
    'The configuration is read from, lowest priority first:',
    ' - the built-in defaults below;',
    ' - one INI file: -c FILE, else the first of <package>/etc/exaproxy/exaproxy.conf, ./etc/exaproxy/exaproxy.conf,',
    '   /etc/exaproxy/exaproxy.conf, /usr/etc/exaproxy/exaproxy.conf; [section] or [exaproxy.section], option = value;',
    ' - environment variables: exaproxy.section.option=VALUE (with env), or exaproxy_section_option=VALUE',
    '   (the dotted form wins; in the underscore form _ may stand for - in the option name);',
    ' - flags: --section.option=VALUE.',
    'exaproxy -i prints a complete configuration file; exaproxy -di only what differs from the defaults.',
    '',
    'Signals:',
    ' - SIGTERM, SIGINT : stop listening, close the connections and exit (status 0)',
    '',
    'Options (exaproxy.section.option, meaning, type, default):',
    ...options,
    ...aliases,
    '',
  ].join('\n');
}
