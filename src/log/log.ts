/**
 * The logger every module takes: the part of pino they use (method syntax keeps pino's
 * overloads assignable), so the real logger and a test's both fit.
 */
export interface Log {
  info(objOrMsg: object | string, msg?: string): void;
  warn(objOrMsg: object | string, msg?: string): void;
  error(objOrMsg: object | string, msg?: string): void;
  debug(objOrMsg: object | string, msg?: string): void;
}
