//! Prints the TypeScript mirror of the ABI (`src/native/abi.generated.ts`) on stdout.
//! Run by `scripts/gen-abi.mjs`, which writes the file (`npm run build`) or fails when
//! the committed one differs (`npm run check`).

use std::io::Write as _;

fn main() {
    let text = exaproxy_http::abi::render_typescript();
    if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
        eprintln!("abi-ts: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}
