/**
 * Loads the native addon, typed by the declaration `napi build` writes from the Rust signatures
 * (binding.d.ts): the surface is declared once, in crates/exaproxy-node, and nothing here repeats it.
 *
 * The loader itself is the one `@napi-rs/cli` generates (`binding.js` at the package
 * root): it tries the local build `exaproxy.<platform>.node`, then the prebuilt package
 * `@exaproxy/exaproxy-<platform>`. This wrapper only turns its failure into a one-line
 * error that says what was tried and how to fix it (load-error.ts).
 */
import type * as Binding from '../../binding.js';
import { noAddonError } from './load-error';

/** The native surface. Offsets are absolute positions in `buf`; tables are described in abi.generated.ts. */
export type Native = typeof Binding;
/** A compiled rewrite plan (Rust `Plan`), built once per configuration. */
export type RewritePlan = Binding.RewritePlan;
/** The rewriting rules as the configuration gives them. */
export type RewriteOptions = Binding.RewriteOptions;

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
