/** The configuration: one schema of every option, loaded from defaults, file, environment and flags. */
export { parseArgs, type Action, type ParsedArgs } from './args';
export { ConfigError } from './errors';
export { configToJson, type ConfigurationJson } from './json';
export { configSearchPath, defaultConfig, isDefault, loadConfig, notImplementedWarnings, sourceOf, type LoadOptions, type Loaded } from './load';
export { envText, helpText, iniText } from './print';
export { OPTIONS, SCHEMA, type Config } from './schema';
export type { LogDestination } from './log-destination';
export type { Command, RedirectorProtocol, Service } from './types';
