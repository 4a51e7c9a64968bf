/**
 * Loads the native addon and gives it precise types.
 *
 * The loader itself is the one `@napi-rs/cli` generates (`binding.js` at the package
 * root): it tries the local build `exaproxy.<platform>.node`, then the prebuilt package
 * `@exaproxy/exaproxy-<platform>`. This wrapper only turns its failure into a one-line
 * error that says what was tried and how to fix it (load-error.ts).
 */
import { noAddonError } from './load-error';

/** A compiled rewrite plan (Rust `Plan`), built once per configuration. */
export interface RewritePlan {
  readonly __brand: 'RewritePlan';
}

export interface RewriteOptions {
  /** Via pseudonym: adds `Via: 1.x <via>`; omitted: no Via. */
  via?: string;
  viaResponse?: boolean;
  forwardedFor?: 'append' | 'replace' | 'leave';
  passProxyAuthorization?: boolean;
  removeRequest?: string[];
  addRequest?: [string, string][];
  removeResponse?: string[];
  addResponse?: [string, string][];
}

/** The raw native surface. Offsets are absolute positions in `buf`; see abi.generated.ts. */
export interface Native {
  /** → bytes consumed (> 0), NEED_MORE (0) or -ErrorCode. */
  parseRequest(buf: Buffer, start: number, table: Uint32Array): number;
  /** → bytes consumed (> 0), NEED_MORE (0) or -ErrorCode. `requestMethod` is a Method id. */
  parseResponse(buf: Buffer, start: number, table: Uint32Array, requestMethod: number): number;
  /** → bytes of buf[start..end] that belong to the body (all unless it ended), or -ErrorCode. */
  scanChunked(buf: Buffer, start: number, end: number, state: Uint32Array): number;
  /** → bytes consumed (> 0), NEED_MORE (0) or -ErrorCode. */
  parseProxyHeader(buf: Buffer, start: number, table: Uint32Array): number;
  /** → 1 when the table is filled, NEED_MORE (0) or -ErrorCode. */
  peekSni(buf: Buffer, start: number, table: Uint32Array): number;
  /** → bytes written at out[outStart..], or -ErrorCode. */
  rewriteRequest(
    plan: RewritePlan,
    buf: Buffer,
    table: Uint32Array,
    out: Buffer,
    outStart: number,
    clientIp: string,
    bits: number,
  ): number;
  /** → bytes written at out[outStart..], or -ErrorCode. Sets Flag.KEEP_ALIVE in the table. */
  rewriteResponse(plan: RewritePlan, buf: Buffer, table: Uint32Array, out: Buffer, outStart: number, bits: number): number;
  RewritePlan: new (options: RewriteOptions) => RewritePlan;
}

function load(): Native {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('../../binding.js') as Native;
  } catch {
    // napi-rs's error chains every candidate's failure; ours says in one line what fits.
    throw noAddonError();
  }
}

/** The addon, loaded once. */
export const native: Native = load();
