// Node's llhttp binding exactly as node:http drives it (`_http_common` re-exports it). It is not a
// public API and has no published types: the little the parse bench uses is typed here.

export interface HTTPParserInstance {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes consumed, or an Error for a malformed message. */
  execute(data: Buffer): number | Error;
  [callback: number]: (...args: never[]) => unknown;
}

export interface HTTPParserClass {
  new (): HTTPParserInstance;
  REQUEST: number;
  kOnHeadersComplete: number;
  kOnMessageComplete: number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a Node internal module has no import form with types
export const HTTPParser = (require('_http_common') as { HTTPParser: HTTPParserClass }).HTTPParser;
