//! Renders `src/native/abi.generated.ts` from the declarations in `abi.rs` (their
//! `ALL` and `DOC` lists): `scripts/gen-abi.mjs` writes it (`npm run build`) or
//! compares it with the committed file (`npm run check`).

use std::fmt::Write as _;

use super::{
    chunk, error, flag, form, header, icap, icap_flag, icap_method, method, proxy, record, rewrite,
    scheme, slot, sni,
};
use super::{ERRORS, HEADERS, METHODS, NEED_MORE};

/// Each TypeScript object and the module it mirrors, in the file's order.
type Section = (
    &'static str,
    &'static str,
    &'static [(&'static str, u64, &'static str)],
);

const BEFORE_METHODS: &[Section] = &[
    ("Slot", slot::DOC, slot::ALL),
    ("Record", record::DOC, record::ALL),
    ("Flag", flag::DOC, flag::ALL),
    ("Form", form::DOC, form::ALL),
    ("Scheme", scheme::DOC, scheme::ALL),
];
const AFTER_ERRORS: &[Section] = &[
    ("Chunk", chunk::DOC, chunk::ALL),
    ("Proxy", proxy::DOC, proxy::ALL),
    ("Sni", sni::DOC, sni::ALL),
    ("Rewrite", rewrite::DOC, rewrite::ALL),
    ("Icap", icap::DOC, icap::ALL),
    ("IcapMethod", icap_method::DOC, icap_method::ALL),
    ("IcapFlag", icap_flag::DOC, icap_flag::ALL),
];

/// Renders the TypeScript mirror of the ABI (`src/native/abi.generated.ts`).
pub fn render_typescript() -> String {
    let mut s = String::from(
        "// Generated from crates/exaproxy-http/src/abi.rs by scripts/gen-abi.mjs (npm run build). DO NOT EDIT:\n\
         // change abi.rs and run `node scripts/gen-abi.mjs`; `npm run check` fails while this file differs.\n\n",
    );
    for section in BEFORE_METHODS {
        object(&mut s, section);
    }
    object(&mut s, &("Method", method::DOC, method::ALL));
    list(&mut s, "METHOD_NAMES", METHODS.iter().map(|(_, n)| *n));
    object(&mut s, &("Header", header::DOC, header::ALL));
    list(&mut s, "HEADER_NAMES", HEADERS.iter().map(|(_, n)| *n));
    let _ = writeln!(s, "export const NEED_MORE = {NEED_MORE};\n");
    object(&mut s, &("ErrorCode", error::DOC, error::ALL));
    s.push_str("/** Indexed by error code: [name, HTTP status, meaning]. */\n");
    s.push_str("export const ERROR_INFO: readonly (readonly [string, number, string])[] = [\n  ['NONE', 0, ''],\n");
    for (_, name, status, meaning) in ERRORS {
        let _ = writeln!(s, "  [{}, {status}, {}],", quote(name), quote(meaning));
    }
    s.push_str("];\n\n");
    for section in AFTER_ERRORS {
        object(&mut s, section);
    }
    s.truncate(s.trim_end().len());
    s.push('\n');
    s
}

/// `export const Name = { KEY: value, … } as const;`, each with its doc comment.
fn object(s: &mut String, (name, doc, all): &Section) {
    comment(s, "", doc);
    let _ = writeln!(s, "export const {name} = {{");
    for (key, value, doc) in *all {
        comment(s, "  ", doc);
        let _ = writeln!(s, "  {key}: {value},");
    }
    s.push_str("} as const;\n\n");
}

/// `export const NAME: readonly string[] = ['a', …];`
fn list<'a>(s: &mut String, name: &str, items: impl Iterator<Item = &'a str>) {
    let items: Vec<String> = items.map(quote).collect();
    let _ = writeln!(
        s,
        "export const {name}: readonly string[] = [{}];\n",
        items.join(", ")
    );
}

/// A `/** … */` comment from rustdoc lines (each starts with a space), or nothing.
fn comment(s: &mut String, indent: &str, doc: &str) {
    let text = doc
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !text.is_empty() {
        let _ = writeln!(s, "{indent}/** {} */", text.replace("*/", "*\\/"));
    }
}

/// A single-quoted TypeScript string.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_and_header_keys_are_their_tokens() {
        // TS code reads Method.X_MS_ENUMATTS and METHOD_NAMES[id]: both must name the same id.
        for (all, table) in [(method::ALL, METHODS), (header::ALL, HEADERS)] {
            assert_eq!(all.len(), table.len());
            for ((key, id, _), (table_id, text)) in all.iter().zip(table) {
                assert_eq!(*id, u64::from(*table_id));
                assert_eq!(*key, text.to_ascii_uppercase().replace('-', "_"));
            }
        }
    }

    #[test]
    fn rendering_quotes_and_documents() {
        assert_eq!(quote("it's \\"), "'it\\'s \\\\'");
        let ts = render_typescript();
        assert!(ts.contains("  X_MS_ENUMATTS: 27,\n"));
        assert!(ts.contains("  /** in: max head bytes (over it: 431). */\n  LIMIT_HEAD: 0,\n"));
        assert!(ts.contains("  ['OUTPUT_TOO_SMALL', 500, 'the output buffer is too small'],\n"));
        assert!(ts.ends_with("} as const;\n"));
    }
}
