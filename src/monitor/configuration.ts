// ExaProxy's /json/configuration keys, from a configuration given as section → option → value.
// ExaProxy published a fixed subset under `exaproxy.<section>.<option>`, with a few renames
// (daemon.deamonize, daemon.sleep, log.level.<subsystem>) that scrapers depend on.

export type ConfigSections = Record<string, Record<string, unknown> | undefined>;

const RENAMES: Record<string, string> = {
  'daemon.daemonize': 'exaproxy.daemon.deamonize',
  'daemon.speed': 'exaproxy.daemon.sleep',
};

/** Sections whose options were never published (secrets and internals). */
const HIDDEN = new Set(['web.token']);

/**
 * Every option as `exaproxy.<section>.<option>`, plus ExaProxy's renamed keys, with list values
 * joined by spaces as ExaProxy did. `web.token` is never shown.
 */
export function exaproxyConfiguration(conf: ConfigSections): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [section, options] of Object.entries(conf)) {
    if (options === undefined || options === null || typeof options !== 'object') continue;
    for (const [option, raw] of Object.entries(options)) {
      const name = `${section}.${option}`;
      if (HIDDEN.has(name)) continue;
      const value = Array.isArray(raw) ? raw.map(String).join(' ') : raw;
      if (section === 'log' && typeof value === 'boolean') out[`exaproxy.log.level.${option}`] = value;
      else out[RENAMES[name] ?? `exaproxy.${name}`] = value;
    }
  }
  return out;
}
