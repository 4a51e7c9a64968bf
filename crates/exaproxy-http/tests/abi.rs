//! The TypeScript mirror of `src/abi.rs` must be the committed
//! `src/native/abi.generated.ts` (repository root). `UPDATE_ABI=1 cargo test -p
//! exaproxy-http --test abi` rewrites it; commit the result with the abi.rs change.

use std::path::PathBuf;

#[test]
fn typescript_abi_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../src/native/abi.generated.ts");
    let rendered = exaproxy_http::abi::render_typescript();
    if std::env::var_os("UPDATE_ABI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &rendered)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {}: {e}; run `UPDATE_ABI=1 cargo test -p exaproxy-http --test abi` to create it", path.display())
    });
    assert!(
        committed == rendered,
        "{} is out of date with crates/exaproxy-http/src/abi.rs; run `UPDATE_ABI=1 cargo test -p exaproxy-http --test abi` \
         and commit the file",
        path.display()
    );
}
