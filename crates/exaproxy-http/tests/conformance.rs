//! Conformance against the llhttp test corpus (`../shared/corpora/llhttp` or `$LLHTTP_CORPUS`;
//! skipped in one line without it, a failure under `CI=true`: see `corpus/mod.rs`).
//!
//! Every case of `request/*.md` and `response/*.md` is classified:
//! - **agreed**: strict case, and we agree with llhttp on accept/reject; when both
//!   accept, on method, target, version, status, header names and values, and
//!   body framing (Content-Length value, chunked) of every head we can reach
//!   (pipelined messages are followed while their body length is known).
//! - **agreed with Host injected**: llhttp does not require Host in HTTP/1.1; we do
//!   (RFC 9112 §3.2: a server MUST answer 400). Such a case is parsed again with a
//!   `Host` line added after the request line and must then agree on everything.
//! - **rejected as lenient**: llhttp accepts it only with a lenient flag (meta type
//!   `*-lenient-*`, or any case of a `lenient-*.md` file): we must reject it.
//! - **allow-listed**: listed in [`ALLOW`] with the reason we knowingly differ.
//! - **skipped by rule**: outside the head parser's scope, by the rules of [`skip_rule`].
//!
//! Any other outcome fails the test, with the case's file, line and title.

mod corpus;

use corpus::{llflag, read_cases, Case, Message};
use exaproxy_http::abi::{error, flag, header, method, record, slot, METHODS, NEED_MORE};
use exaproxy_http::{parse_request, parse_response};

/// Cases where we knowingly differ from llhttp's strict mode, each with why.
/// Matched on file and title; each entry must match a case that really differs.
const ALLOW: &[(&str, &str, &str)] = &[
    (
        "request/uri.md",
        "`host:port` and basic auth",
        "userinfo in an http(s) target is an error for us (RFC 9110 §4.2.4: a recipient SHOULD treat it as \
         an error; it hides the real host from filters and logs)",
    ),
    (
        "request/invalid.md",
        "HTTP protocol and ANNOUNCE method",
        "any tchar method is a valid HTTP method (RFC 9110 §9.1); llhttp reserves ANNOUNCE to RTSP. Which \
         methods to forward is policy, decided on METHOD / METHOD_OTHER",
    ),
    (
        "request/method.md",
        "M-SEARCH request",
        "asterisk-form is for OPTIONS only (RFC 9112 §3.2.4); SSDP's `M-SEARCH *` is multicast UDP, never \
         proxied",
    ),
    (
        "request/sample.md",
        "No HTTP version",
        "a request line without a version is HTTP/0.9, which a proxy must not accept (no headers, no framing)",
    ),
    (
        "response/sample.md",
        "HTTP version 0.9",
        "`HTTP/0.9` in a status line is no HTTP/1.x response; the client gets 502 (VERSION_UNSUPPORTED)",
    ),
];

/// Cases outside the scope of a head parser. Returns the rule's reason.
fn skip_rule(case: &Case) -> Option<&'static str> {
    if case.file.ends_with("/pausing.md") || case.pause {
        // llhttp's pause/resume API: no counterpart in a parser that returns a result.
        return Some("pausing (llhttp API)");
    }
    if case.kind.ends_with("-finish") {
        // llhttp_finish(): what EOF means in each state; the proxy decides that from flags.
        return Some("llhttp_finish / EOF semantics");
    }
    let first_line = case
        .input
        .split(|&b| b == b'\n')
        .find(|l| !l.is_empty() && *l != b"\r")
        .unwrap_or(b"");
    let text = String::from_utf8_lossy(first_line);
    if text.contains("RTSP/")
        || text.contains("ICE/")
        || text.starts_with("SOURCE ")
        || text.starts_with("PRI ")
    {
        // Not HTTP/1.x: RTSP, Icecast (ICE/SOURCE) and the HTTP/2 preface.
        return Some("RTSP / ICE / SOURCE / HTTP/2");
    }
    if let Some(flag) = case.lenient_flag() {
        // Lenience about what happens after a head: connection reuse after
        // `Connection: close`, and chunked-body syntax (scan_chunked's job).
        if matches!(
            flag,
            "keep-alive"
                | "data-after-close"
                | "spaces-after-chunk-size"
                | "optional-crlf-after-chunk"
        ) {
            return Some("lenient flag about the body or connection reuse");
        }
        // The bare CR of this case is inside a chunk-size line, after a valid head.
        if case
            .name
            .ends_with("Chunk header not terminated by CRLF (lenient)")
        {
            return Some("lenient flag about the body or connection reuse");
        }
    }
    None
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Agreed { host_injected: bool },
    RejectedAsLenient,
    Skipped(&'static str),
    Disagree(String),
}

const TABLE: usize = slot::HEADERS + record::SIZE * 100;
const INJECTED_HOST: &[u8] = b"Host: llhttp.test\r\n";

fn span(buf: &[u8], t: &[u32], a: usize, b: usize) -> String {
    String::from_utf8_lossy(&buf[t[a] as usize..t[b] as usize]).into_owned()
}

fn headers(buf: &[u8], t: &[u32], skip: usize) -> Vec<(String, String)> {
    (skip..t[slot::HEADER_COUNT] as usize)
        .map(|i| {
            let r = slot::HEADERS + i * record::SIZE;
            (span(buf, t, r, r + 1), span(buf, t, r + 2, r + 3))
        })
        .collect()
}

/// Compares one accepted head with llhttp's message; returns what differs.
fn compare(
    case: &Case,
    buf: &[u8],
    t: &[u32],
    exp: &Message,
    injected: bool,
) -> Result<(), String> {
    let Some(done) = exp.complete else {
        return Err("we accept a head llhttp never completed".into());
    };
    let mut diffs = Vec::new();
    let mut check = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            diffs.push(format!("{what}: ours {ours:?}, llhttp {theirs:?}"));
        }
    };
    let f = t[slot::FLAGS];
    check(
        "version",
        format!("1.{}", t[slot::VERSION]),
        exp.version.clone(),
    );
    if case.is_response() {
        check(
            "status",
            t[slot::STATUS].to_string(),
            done.status.unwrap_or(0).to_string(),
        );
        check(
            "reason",
            span(buf, t, slot::REASON_START, slot::REASON_END),
            exp.status_text.clone(),
        );
    } else {
        let name = span(buf, t, slot::METHOD_START, slot::METHOD_END);
        let id = METHODS
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(method::OTHER, |(i, _)| *i);
        check("method id", t[slot::METHOD].to_string(), id.to_string());
        check("method", name, exp.method.clone());
        check(
            "target",
            span(buf, t, slot::TARGET_START, slot::TARGET_END),
            exp.url.clone(),
        );
    }
    let trimmed: Vec<(String, String)> = exp
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.trim_end_matches([' ', '\t']).to_string()))
        .collect();
    check(
        "headers",
        format!("{:?}", headers(buf, t, usize::from(injected))),
        format!("{trimmed:?}"),
    );

    let has_cl = (0..t[slot::HEADER_COUNT] as usize)
        .any(|i| t[slot::HEADERS + i * record::SIZE + record::NAME_ID] == header::CONTENT_LENGTH);
    check(
        "content-length present",
        has_cl.to_string(),
        (done.flags & llflag::CONTENT_LENGTH != 0).to_string(),
    );
    if has_cl {
        let n = u64::from(t[slot::LENGTH_LO]) | (u64::from(t[slot::LENGTH_HI]) << 32);
        check(
            "content-length",
            n.to_string(),
            done.content_length.to_string(),
        );
    }
    let framed_by_fields = !case.is_response()
        || f & (flag::CHUNKED | flag::CONTENT_LENGTH | flag::BODY_UNTIL_CLOSE) != 0;
    if framed_by_fields {
        check(
            "chunked",
            (f & flag::CHUNKED != 0).to_string(),
            (done.flags & llflag::CHUNKED != 0).to_string(),
        );
    }
    for (ours, theirs, name) in [
        (
            flag::CONNECTION_CLOSE,
            llflag::CONNECTION_CLOSE,
            "Connection: close",
        ),
        (
            flag::CONNECTION_KEEP_ALIVE,
            llflag::CONNECTION_KEEP_ALIVE,
            "Connection: keep-alive",
        ),
        (
            flag::CONNECTION_UPGRADE,
            llflag::CONNECTION_UPGRADE,
            "Connection: upgrade",
        ),
    ] {
        check(
            name,
            (f & ours != 0).to_string(),
            (done.flags & theirs != 0).to_string(),
        );
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

fn parse(case: &Case, buf: &[u8], pos: usize, t: &mut [u32]) -> i32 {
    if case.is_response() {
        let m = if case.skip_body {
            method::HEAD
        } else {
            method::GET
        };
        parse_response(buf, pos, t, m)
    } else {
        parse_request(buf, pos, t)
    }
}

fn run(case: &Case) -> Outcome {
    if let Some(rule) = skip_rule(case) {
        return Outcome::Skipped(rule);
    }
    let lenient = case.lenient_flag().is_some() || case.file.contains("/lenient-");
    let input = &case.input;
    let mut t = vec![0u32; TABLE];
    let mut pos = 0;
    let mut any_injected = false;
    for (k, exp) in case.log.messages.iter().enumerate() {
        if pos >= input.len() {
            break;
        }
        let mut rc = parse(case, input, pos, &mut t);
        let mut buf: Vec<u8> = Vec::new();
        let mut injected = false;
        if rc == -(error::HOST_MISSING as i32)
            && !case.is_response()
            && exp.complete.is_some()
            && !lenient
        {
            // Add a Host line after the request line and compare everything else.
            let line_start = t[slot::METHOD_START] as usize;
            let eol = line_start
                + input[line_start..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .unwrap()
                + 2;
            buf = [&input[..eol], INJECTED_HOST, &input[eol..]].concat();
            rc = parse(case, &buf, pos, &mut t);
            injected = true;
            any_injected = true;
        }
        let view: &[u8] = if injected { &buf } else { input };
        let at = format!("message {}", k + 1);
        if rc == NEED_MORE {
            if exp.complete.is_some() || exp.head_error.is_some() {
                return Outcome::Disagree(format!(
                    "{at}: we need more bytes, llhttp {:?}",
                    exp.head_error
                ));
            }
            break;
        }
        if rc < 0 {
            if lenient {
                return Outcome::RejectedAsLenient;
            }
            if exp.head_error.is_some() {
                return Outcome::Agreed {
                    host_injected: any_injected,
                };
            }
            return Outcome::Disagree(format!(
                "{at}: we reject ({}) at {}, llhttp accepts",
                exaproxy_http::abi::ERRORS[(-rc) as usize - 1].1,
                t[slot::ERROR_POS]
            ));
        }
        if let Some((off, code, reason)) = &exp.head_error {
            if !lenient {
                return Outcome::Disagree(format!(
                    "{at}: we accept, llhttp rejects at {off}: {code} {reason}"
                ));
            }
        }
        if !lenient {
            if let Err(d) = compare(case, view, &t, exp, injected) {
                return Outcome::Disagree(format!("{at}: {d}"));
            }
        }
        // Follow the next message while the body length is known from the head.
        let f = t[slot::FLAGS];
        let consumed = rc as usize - if injected { INJECTED_HOST.len() } else { 0 };
        let body = if case.is_response() {
            if f & (flag::BODY_NONE | flag::INTERIM) != 0 {
                0
            } else if f & flag::CONTENT_LENGTH != 0 {
                u64::from(t[slot::LENGTH_LO]) as usize
            } else {
                break;
            }
        } else if f & (flag::CHUNKED | flag::IS_UPGRADE) != 0 || t[slot::METHOD] == method::CONNECT
        {
            break;
        } else if f & flag::CONTENT_LENGTH != 0 {
            u64::from(t[slot::LENGTH_LO]) as usize
        } else {
            0
        };
        if exp.later_error.is_some() {
            break;
        }
        pos += consumed + body;
    }
    if lenient {
        return Outcome::Disagree("llhttp needs a lenient flag for this case, we accept it".into());
    }
    Outcome::Agreed {
        host_injected: any_injected,
    }
}

#[test]
fn llhttp_corpus() {
    if corpus::corpus_dir().is_none() {
        return;
    }
    let mut cases = read_cases("request");
    cases.extend(read_cases("response"));
    assert!(cases.len() > 200, "only {} corpus cases found", cases.len());
    let (mut agreed, mut injected, mut lenient, mut allowed) = (0, 0, 0, 0);
    let mut skipped: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut failures = Vec::new();
    let mut allow_used = vec![false; ALLOW.len()];
    for case in &cases {
        let outcome = run(case);
        let allow = ALLOW
            .iter()
            .position(|(file, name, _)| case.file == *file && case.name.ends_with(name));
        match (outcome, allow) {
            (Outcome::Disagree(_), Some(i)) => {
                allowed += 1;
                allow_used[i] = true;
            }
            (Outcome::Disagree(d), None) => failures.push(format!("{}: {d}", case.id())),
            (other, Some(_)) => failures.push(format!("{}: allow-listed but {other:?}", case.id())),
            (
                Outcome::Agreed {
                    host_injected: true,
                },
                None,
            ) => injected += 1,
            (
                Outcome::Agreed {
                    host_injected: false,
                },
                None,
            ) => agreed += 1,
            (Outcome::RejectedAsLenient, None) => lenient += 1,
            (Outcome::Skipped(rule), None) => *skipped.entry(rule).or_default() += 1,
        }
    }
    for (i, used) in allow_used.iter().enumerate() {
        assert!(
            used,
            "allow-list entry {:?} matches no differing case",
            ALLOW[i].1
        );
    }
    let skipped_total: usize = skipped.values().sum();
    eprintln!(
        "llhttp corpus: {} cases: agreed {agreed} (+{injected} with Host injected), rejected-as-lenient {lenient}, \
         allow-listed {allowed}, skipped-by-rule {skipped_total} {skipped:?}, disagreements {}",
        cases.len(),
        failures.len()
    );
    assert_eq!(
        agreed + injected + lenient + allowed + skipped_total + failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements with llhttp:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
