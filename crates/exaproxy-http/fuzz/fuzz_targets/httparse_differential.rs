//! libFuzzer target: `parse_request` against `httparse` (an independent parser) on
//! the same bytes. The first byte is skipped, as the parse_request target's mode byte
//! is, so that target's corpus means the same requests here (with default limits).
//!
//! Every input lands in one category: both refuse, both ask for more, both accept the
//! same head (consumed length, method, target, version, header names and values), or
//! a disagreement. A disagreement must be listed, with the reason, in
//! fixtures/fuzz/httparse-differences.txt (where exaproxy is stricter on purpose);
//! any other disagreement fails, with its category and the input. `npm run fuzz` also
//! replays the whole parse_request corpus through this target.
#![no_main]

use exaproxy_http::abi::{record, slot, ERRORS, NEED_MORE};
use exaproxy_http::parse_request;
use libfuzzer_sys::fuzz_target;

/// The listed disagreements: `category | reason` lines (a `*` in the category stands
/// for any error name), `#` comments.
const LISTED: &str = include_str!("../../../../fixtures/fuzz/httparse-differences.txt");

fn listed(category: &str) -> bool {
    LISTED
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(" | "))
        .any(|(c, reason)| matches(c.trim(), category) && !reason.trim().is_empty())
}

/// `pattern` is the category, or holds one `*` standing for any error name.
fn matches(pattern: &str, category: &str) -> bool {
    match pattern.split_once('*') {
        Some((head, tail)) => {
            category.len() >= head.len() + tail.len()
                && category.starts_with(head)
                && category.ends_with(tail)
        }
        None => pattern == category,
    }
}

/// The category of `input`, or None when both parsers agree.
fn disagreement(input: &[u8]) -> Option<String> {
    let mut t = vec![0u32; slot::HEADERS + record::SIZE * 100];
    let ours = parse_request(input, 0, &mut t);
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut headers);
    let theirs = req.parse(input);
    let name = || ERRORS[(-ours - 1) as usize].1;
    let category = match (ours, &theirs) {
        (n, Ok(httparse::Status::Complete(m))) if n > 0 => {
            let span = |a: usize, b: usize| &input[t[a] as usize..t[b] as usize];
            let field = if *m != n as usize {
                "consumed length"
            } else if req.method.map(str::as_bytes)
                != Some(span(slot::METHOD_START, slot::METHOD_END))
            {
                "method"
            } else if req.path.map(str::as_bytes)
                != Some(span(slot::TARGET_START, slot::TARGET_END))
            {
                "target"
            } else if req.version.map(u32::from) != Some(t[slot::VERSION]) {
                "version"
            } else if req.headers.len() != t[slot::HEADER_COUNT] as usize {
                "header count"
            } else if req.headers.iter().enumerate().any(|(i, h)| {
                let r = slot::HEADERS + i * record::SIZE;
                h.name.as_bytes() != span(r, r + 1)
            }) {
                "header name"
            } else if req.headers.iter().enumerate().any(|(i, h)| {
                let r = slot::HEADERS + i * record::SIZE;
                h.value.trim_ascii() != span(r + 2, r + 3)
            }) {
                "header value"
            } else {
                return None;
            };
            format!("both accept, {field} differs")
        }
        (n, Ok(httparse::Status::Partial)) if n > 0 => {
            "exaproxy accepts, httparse asks for more".into()
        }
        (n, Err(e)) if n > 0 => format!("exaproxy accepts, httparse refuses: {e}"),
        (NEED_MORE, Ok(httparse::Status::Partial)) => return None,
        (NEED_MORE, Ok(httparse::Status::Complete(_))) => {
            "exaproxy asks for more, httparse accepts".into()
        }
        (NEED_MORE, Err(e)) => format!("exaproxy asks for more, httparse refuses: {e}"),
        (_, Err(_)) => return None,
        (_, Ok(httparse::Status::Complete(_))) => {
            format!("exaproxy refuses {}, httparse accepts", name())
        }
        (_, Ok(httparse::Status::Partial)) => {
            format!("exaproxy refuses {}, httparse asks for more", name())
        }
    };
    Some(category)
}

/// `HTTPARSE_DIFFERENCES=list`: print each disagreement's category instead of failing
/// (to survey a corpus: `npm run fuzz -- --differences`).
fn survey() -> bool {
    static SURVEY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SURVEY.get_or_init(|| std::env::var("HTTPARSE_DIFFERENCES").is_ok_and(|v| v == "list"))
}

fuzz_target!(|data: &[u8]| {
    let Some((_, input)) = data.split_first() else {
        return;
    };
    if let Some(category) = disagreement(input) {
        if survey() {
            eprintln!(
                "difference: {category}: {:?}",
                String::from_utf8_lossy(input)
            );
            return;
        }
        assert!(
            listed(&category),
            "not listed in fixtures/fuzz/httparse-differences.txt: {category}: {:?}",
            String::from_utf8_lossy(input)
        );
    }
});
