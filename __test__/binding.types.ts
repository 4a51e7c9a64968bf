/**
 * Type-level test of the addon's declared surface: binding.d.ts, which `napi build` writes from the
 * Rust signatures (crates/exaproxy-node), and the `Native` type src/native/addon.ts gives the loaded
 * addon. Compiled by `npm run check` (tsc), never run: each line after `@ts-expect-error` must be a
 * type error, and tsc fails when one is not (an argument declared `unknown` again would make it so).
 */
import type * as Binding from '../binding.js';
import type { Native, RewriteOptions } from '../src/native/addon';

declare const native: Native;
declare const buf: Buffer;
declare const table: Uint32Array;
declare const plan: Binding.RewritePlan;

// The loaded addon is typed by the generated declaration itself, not by a copy of it.
export const same: typeof Binding = native;
export const options: Binding.RewriteOptions = {} as RewriteOptions;

/** What the data path calls: accepted as written. */
export function accepted(): number[] {
  return [
    native.parseRequest(buf, 0, table),
    native.parseResponse(buf, 0, table, 1),
    native.scanChunked(buf, 0, buf.length, table),
    native.parseProxyHeader(buf, 0, table),
    native.peekSni(buf, 0, table),
    native.rewriteRequest(plan, buf, table, buf, 0, '192.0.2.1', 0),
    native.rewriteResponse(plan, buf, table, buf, 0, 0),
    native.readResponse(plan, buf, 0, table, 1, buf, 0, 0),
    native.readRequest(plan, buf, 0, table, buf, 0, buf, 0),
  ];
}

/** Wrong argument types: each must be refused by the compiler. */
export function refused(): void {
  // @ts-expect-error buf is a Buffer, not a string
  native.parseRequest('GET / HTTP/1.1\r\n\r\n', 0, table);
  // @ts-expect-error start is a number
  native.parseRequest(buf, '0', table);
  // @ts-expect-error the table is a Uint32Array, not a Uint8Array
  native.parseRequest(buf, 0, new Uint8Array(64));
  // @ts-expect-error the table is a Uint32Array, not a plain array
  native.parseProxyHeader(buf, 0, [0, 0, 0]);
  // @ts-expect-error requestMethod is required
  native.parseResponse(buf, 0, table);
  // @ts-expect-error end is a number
  native.scanChunked(buf, 0, undefined, table);
  // @ts-expect-error the SNI table is a Uint32Array
  native.peekSni(buf, 0, new Int32Array(4));
  // @ts-expect-error out is a Buffer
  native.rewriteRequest(plan, buf, table, new ArrayBuffer(64), 0, '192.0.2.1', 0);
  // @ts-expect-error clientIp is a string
  native.rewriteRequest(plan, buf, table, buf, 0, 0xc0000201, 0);
  // @ts-expect-error bits are a number
  native.rewriteResponse(plan, buf, table, buf, 0, 'keep-alive');
  // @ts-expect-error readRequest takes the client's address as bytes
  native.readRequest(plan, buf, 0, table, buf, 0, '192.0.2.1', 0);
  // @ts-expect-error the request's method is a number
  native.readResponse(plan, buf, 0, table, 'GET', buf, 0, 0);
  // @ts-expect-error forwardedFor is append, replace or leave
  new native.RewritePlan({ forwardedFor: 'sideways' });
  // @ts-expect-error added lines are [name, value] pairs
  new native.RewritePlan({ addRequest: [['X-Only-A-Name']] });
  // @ts-expect-error removed headers are names
  new native.RewritePlan({ removeResponse: 'Server' });
}
