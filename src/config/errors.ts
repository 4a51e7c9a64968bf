/**
 * Configuration errors. The message of a ConfigError is the single line the `exaproxy`
 * command prints before exiting with status 1, so it names where the bad input came from
 * (file:line, environment variable or flag), the option, the value and what is accepted.
 */

/** Thrown by loadConfig() on bad input; `message` is the complete line, "exaproxy: <where>: <detail>". */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** Where the bad input came from: "/etc/x.conf:12", "environment exaproxy_http_port", "--tcp4.port". */
    readonly where: string,
    detail: string,
  ) {
    super(`exaproxy: ${where}: ${detail}`);
  }
}

/**
 * Thrown by an option's parser when a value is not acceptable. `expected` completes the
 * sentence "…: <expected>", e.g. "expected an integer from 1 to 1000000". The loader adds
 * the source, option name and value to turn it into a ConfigError.
 */
export class InvalidValue extends Error {
  override readonly name = 'InvalidValue';
  constructor(readonly expected: string) {
    super(expected);
  }
}
