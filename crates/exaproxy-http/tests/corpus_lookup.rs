//! How the llhttp corpus is found (`corpus/mod.rs`), on folders made here.

mod corpus;

/// How the corpus is found (corpus/mod.rs): `$LLHTTP_CORPUS` first and never skipped when
/// wrong, else the folder beside the repository, else skipped, except under `CI=true`.
#[test]
fn corpus_lookup_rules() {
    let tmp = std::env::temp_dir().join(format!("exaproxy-corpus-lookup-{}", std::process::id()));
    let (good, empty, absent) = (tmp.join("good"), tmp.join("empty"), tmp.join("absent"));
    for dir in [good.join("request"), good.join("response"), empty.clone()] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let os = |p: &std::path::Path| p.as_os_str().to_owned();
    assert_eq!(
        corpus::locate::locate(None, false, &good),
        Ok(Some(good.clone()))
    );
    assert_eq!(
        corpus::locate::locate(Some(&os(&good)), true, &absent),
        Ok(Some(good.clone()))
    );
    assert_eq!(
        corpus::locate::locate(Some("".as_ref()), false, &absent),
        Ok(None)
    );
    assert_eq!(corpus::locate::locate(None, false, &absent), Ok(None));
    let ci = corpus::locate::locate(None, true, &absent).unwrap_err();
    assert!(
        ci.contains("missing under CI=true") && ci.contains("LLHTTP_CORPUS"),
        "{ci}"
    );
    let wrong = corpus::locate::locate(Some(&os(&empty)), false, &good).unwrap_err();
    assert!(
        wrong.starts_with("LLHTTP_CORPUS=") && wrong.contains("request/*.md"),
        "{wrong}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}
