//! Where the llhttp corpus is: `$LLHTTP_CORPUS`, else `../shared/corpora/llhttp` beside the
//! repository; skipped in one line without it, a failure under `CI=true` (see `mod.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

fn is_corpus(dir: &Path) -> bool {
    dir.join("request").is_dir() && dir.join("response").is_dir()
}

/// Where the corpus is, by the rules above: `Ok(Some(dir))`, `Ok(None)` to skip, or `Err`
/// with what to fix. `env` is `$LLHTTP_CORPUS`, `beside` the default folder.
pub fn locate(
    env: Option<&std::ffi::OsStr>,
    ci: bool,
    beside: &Path,
) -> Result<Option<PathBuf>, String> {
    if let Some(dir) = env.filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        // Asked for by name: a wrong path is a mistake to fix, not a reason to skip.
        return if is_corpus(&dir) {
            Ok(Some(dir))
        } else {
            Err(format!(
                "LLHTTP_CORPUS={}: expected the llhttp corpus there (request/*.md and response/*.md)",
                dir.display()
            ))
        };
    }
    if is_corpus(beside) {
        return Ok(Some(beside.to_path_buf()));
    }
    if ci {
        return Err(format!(
            "the llhttp corpus is missing under CI=true: expected {}/request/*.md and response/*.md, or LLHTTP_CORPUS",
            beside.display()
        ));
    }
    Ok(None)
}

/// The corpus directory, or None (after one line on stderr) when it is not there.
pub fn corpus_dir() -> Option<PathBuf> {
    // Beside the repository: the folder that holds it also holds shared/.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let beside = root.parent().unwrap_or(&root).join("shared/corpora/llhttp");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let env = std::env::var_os("LLHTTP_CORPUS");
    match locate(env.as_deref(), ci, &beside) {
        Ok(Some(dir)) => Some(dir),
        Err(what) => panic!("{what}"),
        Ok(None) => {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                let test = std::env::current_exe()
                    .ok()
                    .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                    .unwrap_or_default();
                let test = test.split('-').next().unwrap_or_default().to_owned();
                // Straight to stderr: the test harness captures eprintln! of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "{test}: llhttp corpus cases skipped: no corpus at {} and LLHTTP_CORPUS is not set",
                    beside.display()
                );
            });
            None
        }
    }
}
