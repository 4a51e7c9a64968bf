//! The request-smuggling / desync corpus of `fixtures/smuggling` (format in its
//! README) against the parsers.
//!
//! Each case is walked as the proxy walks a connection: parse a head, skip its body
//! by the framing the head gives (Content-Length bytes, or the chunked scanner),
//! parse the next head, … until the bytes end or something is refused. The walk
//! must give the case's verdict, the number of messages before it, each message's
//! framing (with the de-chunked body length), the stage of a refusal (head or
//! body) and the flags the case names.
//!
//! Then the same walk over every prefix of the bytes must never disagree: a prefix
//! gives "need more" or the very same refusal (a decision depends only on the bytes
//! before it), and every chunked body also gives the same result fed one byte per
//! call.
//!
//! A case with `known:` documents a disagreement with the RFC that the parser has
//! today: the walk must give the `known` verdict (so a fixed parser makes the note
//! fail and get removed), and the test prints it.

use std::fmt;
use std::path::{Path, PathBuf};

use exaproxy_http::abi::{chunk, error, flag, method, record, slot, ERRORS, METHODS};
use exaproxy_http::{parse_request, parse_response, scan_chunked};

const TABLE: usize = slot::HEADERS + record::SIZE * 100;
/// What `{origin}` stands for here (the end-to-end test uses its origin's port).
const ORIGIN: &str = "127.0.0.1:8080";

const FLAG_NAMES: &[(&str, u32)] = &[
    ("VERSION_11", flag::VERSION_11),
    ("CONTENT_LENGTH", flag::CONTENT_LENGTH),
    ("CHUNKED", flag::CHUNKED),
    ("CONNECTION_CLOSE", flag::CONNECTION_CLOSE),
    ("CONNECTION_KEEP_ALIVE", flag::CONNECTION_KEEP_ALIVE),
    ("CONNECTION_UPGRADE", flag::CONNECTION_UPGRADE),
    ("UPGRADE", flag::UPGRADE),
    ("EXPECT_CONTINUE", flag::EXPECT_CONTINUE),
    ("EXPECT_OTHER", flag::EXPECT_OTHER),
    ("HOST_HEADER", flag::HOST_HEADER),
    ("BODY_NONE", flag::BODY_NONE),
    ("BODY_UNTIL_CLOSE", flag::BODY_UNTIL_CLOSE),
    ("TUNNEL", flag::TUNNEL),
    ("IS_UPGRADE", flag::IS_UPGRADE),
    ("INTERIM", flag::INTERIM),
    ("CHUNKED_PARAMETERS", flag::CHUNKED_PARAMETERS),
];

// ── the model ────────────────────────────────────────────────────────────────

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Request,
    /// A response to a request with this method id.
    Response(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Head,
    Body,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Accept,
    Reject(u32, Stage),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    /// De-chunked body length.
    Chunked(u64),
    Close,
    Tunnel,
    Interim,
}

struct Case {
    file: String,
    line: usize,
    name: String,
    kind: Kind,
    expect: Verdict,
    messages: usize,
    framing: Vec<Framing>,
    /// (must be set, bit)
    flags: Vec<(bool, u32)>,
    known: Option<(Verdict, String)>,
    data: Vec<u8>,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} `{}`", self.file, self.line, self.name)
    }
}

fn error_name(code: u32) -> &'static str {
    ERRORS.get(code as usize - 1).map_or("?", |e| e.1)
}

fn show_verdict(v: Verdict) -> String {
    match v {
        Verdict::Accept => "accept".into(),
        Verdict::Reject(code, Stage::Head) => format!("reject {}", error_name(code)),
        Verdict::Reject(code, Stage::Body) => format!("reject {} (body)", error_name(code)),
    }
}

// ── loading ──────────────────────────────────────────────────────────────────

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/smuggling")
}

fn load_all() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("fixtures/smuggling is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures/smuggling/*.txt");
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("fixture file is UTF-8 text");
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        cases.extend(parse_file(&file, &text));
    }
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    for pair in names.windows(2) {
        assert_ne!(pair[0], pair[1], "case name used twice");
    }
    cases
}

fn parse_file(file: &str, text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut current: Option<(usize, Vec<(usize, &str)>)> = None;
    let mut flush = |current: &mut Option<(usize, Vec<(usize, &str)>)>| {
        if let Some((line, lines)) = current.take() {
            cases.push(parse_case(file, line, &lines));
        }
    };
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("===") {
            flush(&mut current);
            current = Some((n + 1, vec![(n + 1, line)]));
        } else if line.starts_with('#') {
            continue;
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push((n + 1, line));
        } else {
            assert!(
                line.trim().is_empty(),
                "{file}:{}: text before the first case",
                n + 1
            );
        }
    }
    flush(&mut current);
    cases
}

fn parse_case(file: &str, line: usize, lines: &[(usize, &str)]) -> Case {
    let at = |n: usize| format!("{file}:{n}");
    let name = lines[0].1.trim_start_matches('=').trim().to_string();
    assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'),
        "{}: case name {name:?} must be [a-z0-9-]+",
        at(line)
    );
    let mut why = None;
    let mut kind = Kind::Request;
    let mut expect = None;
    let mut messages = None;
    let mut framing = None;
    let mut stage = Stage::Head;
    let mut flags = Vec::new();
    let mut known = None;
    let mut data_at = None;
    for (i, &(n, l)) in lines.iter().enumerate().skip(1) {
        if l.trim().is_empty() {
            continue;
        }
        let (key, value) = l
            .split_once(':')
            .unwrap_or_else(|| panic!("{}: expected `key: value`", at(n)));
        let value = value.trim();
        match key {
            "why" => why = Some(value.to_string()),
            "kind" => {
                kind = parse_kind(value).unwrap_or_else(|| panic!("{}: bad kind {value:?}", at(n)))
            }
            "expect" => {
                expect = Some(
                    parse_verdict(value)
                        .unwrap_or_else(|| panic!("{}: bad expect {value:?}", at(n))),
                )
            }
            "messages" => {
                messages = Some(
                    value
                        .parse::<usize>()
                        .unwrap_or_else(|_| panic!("{}: bad messages", at(n))),
                )
            }
            "framing" => {
                framing = Some(
                    value
                        .split(',')
                        .map(|f| {
                            parse_framing(f.trim())
                                .unwrap_or_else(|| panic!("{}: bad framing {f:?}", at(n)))
                        })
                        .collect::<Vec<_>>(),
                )
            }
            "stage" => {
                stage = match value {
                    "head" => Stage::Head,
                    "body" => Stage::Body,
                    _ => panic!("{}: bad stage {value:?}", at(n)),
                }
            }
            "flags" => {
                for item in value.split_whitespace() {
                    let (set, name) = match item.split_at(1) {
                        ("+", name) => (true, name),
                        ("-", name) => (false, name),
                        _ => panic!("{}: flag {item:?} must start with + or -", at(n)),
                    };
                    let bit = FLAG_NAMES
                        .iter()
                        .find(|(n, _)| *n == name)
                        .unwrap_or_else(|| panic!("{}: unknown flag {name:?}", at(n)))
                        .1;
                    flags.push((set, bit));
                }
            }
            "known" => {
                let (verdict, reason) = value
                    .split_once(" -- ")
                    .unwrap_or_else(|| panic!("{}: known needs `verdict -- why`", at(n)));
                let v = parse_verdict(verdict.trim())
                    .unwrap_or_else(|| panic!("{}: bad known verdict", at(n)));
                known = Some((v, reason.trim().to_string()));
            }
            "e2e" => {
                let ok = value
                    .strip_prefix("answer ")
                    .is_some_and(|s| s.parse::<u16>().is_ok())
                    || value
                        .strip_prefix("forward ")
                        .is_some_and(|s| s.parse::<usize>().is_ok())
                    || value.starts_with("skip ");
                assert!(ok, "{}: bad e2e {value:?}", at(n));
            }
            "data" => {
                assert!(
                    value.is_empty(),
                    "{}: the bytes start on the line after `data:`",
                    at(n)
                );
                data_at = Some(i + 1);
                break;
            }
            _ => panic!("{}: unknown key {key:?}", at(n)),
        }
    }
    let data_at = data_at.unwrap_or_else(|| panic!("{}: no `data:`", at(line)));
    let mut raw = String::new();
    for &(n, l) in &lines[data_at..] {
        assert!(
            !l.ends_with([' ', '\t']),
            "{}: data line ends in whitespace: write \\x20 or \\t",
            at(n)
        );
        raw.push_str(l);
    }
    assert!(
        why.is_some_and(|w: String| !w.is_empty()),
        "{}: `why:` is required",
        at(line)
    );
    let mut expect = expect.unwrap_or_else(|| panic!("{}: `expect:` is required", at(line)));
    if let Verdict::Reject(code, _) = expect {
        expect = Verdict::Reject(code, stage);
    } else {
        assert_eq!(stage, Stage::Head, "{}: `stage:` is for rejects", at(line));
    }
    if let Some((Verdict::Reject(code, _), _)) = known {
        known.as_mut().unwrap().0 = Verdict::Reject(code, stage);
    }
    let accept_like = |v: Verdict| v == Verdict::Accept;
    let messages = messages.unwrap_or(if accept_like(known.as_ref().map_or(expect, |k| k.0)) {
        1
    } else {
        0
    });
    let framing = framing.unwrap_or_else(|| vec![Framing::None; messages]);
    assert_eq!(
        framing.len(),
        messages,
        "{}: one framing per message",
        at(line)
    );
    Case {
        file: file.to_string(),
        line,
        name,
        kind,
        expect,
        messages,
        framing,
        flags,
        known,
        data: unescape(&expand_repeats(&raw), ORIGIN)
            .unwrap_or_else(|e| panic!("{}: {e}", at(line))),
    }
}

fn parse_kind(value: &str) -> Option<Kind> {
    if value == "request" {
        return Some(Kind::Request);
    }
    let m = value.strip_prefix("response ")?;
    METHODS
        .iter()
        .find(|(_, name)| *name == m)
        .map(|(id, _)| Kind::Response(*id))
}

fn parse_verdict(value: &str) -> Option<Verdict> {
    if value == "accept" {
        return Some(Verdict::Accept);
    }
    let name = value.strip_prefix("reject ")?.trim();
    let (code, ..) = ERRORS.iter().find(|e| e.1 == name)?;
    Some(Verdict::Reject(*code, Stage::Head))
}

fn parse_framing(value: &str) -> Option<Framing> {
    let (word, n) = value
        .split_once(' ')
        .map_or((value, None), |(w, n)| (w, n.parse::<u64>().ok()));
    Some(match (word, n) {
        ("none", None) => Framing::None,
        ("length", Some(n)) => Framing::Length(n),
        ("chunked", Some(n)) => Framing::Chunked(n),
        ("close", None) => Framing::Close,
        ("tunnel", None) => Framing::Tunnel,
        ("interim", None) => Framing::Interim,
        _ => return None,
    })
}

/// `{repeat N}text{/repeat}` → text N times (before unescaping).
fn expand_repeats(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(open) = rest.find("{repeat ") {
        out.push_str(&rest[..open]);
        let after = &rest[open + "{repeat ".len()..];
        let close = after.find('}').expect("{repeat N} is closed");
        let times: usize = after[..close]
            .trim()
            .parse()
            .expect("{repeat N}: N is a number");
        let body_and_rest = &after[close + 1..];
        let end = body_and_rest
            .find("{/repeat}")
            .expect("{repeat} has its {/repeat}");
        out.push_str(&body_and_rest[..end].repeat(times));
        rest = &body_and_rest[end + "{/repeat}".len()..];
    }
    out.push_str(rest);
    out
}

/// Escapes (`\r \n \t \\ \xHH \{`) and `{origin}` → bytes.
fn unescape(text: &str, origin: &str) -> Result<Vec<u8>, String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let e = *b.get(i + 1).ok_or("a lone backslash at the end")?;
                i += 2;
                match e {
                    b'r' => out.push(b'\r'),
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'\\' => out.push(b'\\'),
                    b'{' => out.push(b'{'),
                    b'x' => {
                        let hex = text.get(i..i + 2).ok_or("\\x needs two hex digits")?;
                        out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad \\x{hex}"))?);
                        i += 2;
                    }
                    other => return Err(format!("unknown escape \\{}", other as char)),
                }
            }
            b'{' => {
                if b[i..].starts_with(b"{origin}") {
                    out.extend_from_slice(origin.as_bytes());
                    i += "{origin}".len();
                } else {
                    return Err("a `{` that is not {origin}: write \\{".into());
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

// ── the walk ─────────────────────────────────────────────────────────────────

#[derive(Clone, Debug, PartialEq, Eq)]
enum End {
    /// Every byte belongs to a complete message.
    Done,
    /// The bytes stop inside a message.
    More,
    Refused(u32, Stage),
}

#[derive(Clone, Debug)]
struct Walk {
    /// (framing, flags) of each complete message.
    messages: Vec<(Framing, u32)>,
    end: End,
}

fn framing_of(kind: Kind, flags: u32, t: &[u32]) -> Framing {
    let length = u64::from(t[slot::LENGTH_LO]) | (u64::from(t[slot::LENGTH_HI]) << 32);
    match kind {
        Kind::Request if flags & flag::CHUNKED != 0 => Framing::Chunked(0),
        Kind::Request if flags & flag::CONTENT_LENGTH != 0 => Framing::Length(length),
        Kind::Request => Framing::None,
        Kind::Response(_) => {
            if flags & flag::TUNNEL != 0 {
                Framing::Tunnel
            } else if flags & flag::INTERIM != 0 {
                Framing::Interim
            } else if flags & flag::BODY_NONE != 0 {
                Framing::None
            } else if flags & flag::CONTENT_LENGTH != 0 {
                Framing::Length(length)
            } else if flags & flag::CHUNKED != 0 {
                Framing::Chunked(0)
            } else {
                assert_ne!(
                    flags & flag::BODY_UNTIL_CLOSE,
                    0,
                    "a response has one framing flag"
                );
                Framing::Close
            }
        }
    }
}

/// Scans a chunked body from `start`, whole and then one byte per call; both must
/// agree. Returns `Ok(Some(bytes))` when the body ends, `Ok(None)` when it does not.
fn scan_body(data: &[u8], start: usize) -> Result<Option<usize>, u32> {
    let mut state = [0u32; chunk::SIZE];
    let whole = scan_chunked(data, start, data.len(), &mut state);
    let whole = match whole {
        n if n < 0 => Err((-n) as u32),
        n if state[chunk::PHASE] == chunk::PHASE_DONE => Ok(Some(n as usize)),
        n => {
            assert_eq!(
                n as usize,
                data.len() - start,
                "an unfinished body consumes all it is given"
            );
            Ok(None)
        }
    };
    let mut state = [0u32; chunk::SIZE];
    let mut fed = Ok(None);
    for i in start..data.len() {
        let n = scan_chunked(data, i, i + 1, &mut state);
        if n < 0 {
            fed = Err((-n) as u32);
            break;
        }
        if state[chunk::PHASE] == chunk::PHASE_DONE {
            assert_eq!(n, 1, "the body ends on the byte that completes it");
            fed = Ok(Some(i + 1 - start));
            break;
        }
    }
    assert_eq!(
        whole, fed,
        "chunked body at {start}: whole vs one byte per call"
    );
    whole
}

/// The payload length of a chunked body the scanner accepted.
fn dechunked_length(body: &[u8]) -> u64 {
    let mut i = 0;
    let mut total = 0;
    loop {
        let mut size = 0u64;
        while let Some(d) = (body[i] as char).to_digit(16) {
            size = size * 16 + u64::from(d);
            i += 1;
        }
        while body[i] != b'\n' {
            i += 1;
        }
        i += 1;
        if size == 0 {
            return total;
        }
        total += size;
        i += size as usize + 2;
    }
}

fn walk(kind: Kind, data: &[u8]) -> Walk {
    let mut messages = Vec::new();
    let mut pos = 0;
    let end = loop {
        if pos == data.len() {
            break End::Done;
        }
        let mut t = vec![0u32; TABLE];
        let rc = match kind {
            Kind::Request => parse_request(data, pos, &mut t),
            Kind::Response(m) => parse_response(data, pos, &mut t, m),
        };
        if rc == 0 {
            break End::More;
        }
        if rc < 0 {
            break End::Refused((-rc) as u32, Stage::Head);
        }
        pos += rc as usize;
        let flags = t[slot::FLAGS];
        let mut framing = framing_of(kind, flags, &t);
        match framing {
            Framing::Length(n) => {
                if ((data.len() - pos) as u64) < n {
                    break End::More;
                }
                pos += n as usize;
            }
            Framing::Chunked(_) => match scan_body(data, pos) {
                Err(code) => break End::Refused(code, Stage::Body),
                Ok(None) => break End::More,
                Ok(Some(n)) => {
                    framing = Framing::Chunked(dechunked_length(&data[pos..pos + n]));
                    pos += n;
                }
            },
            // The rest of the connection belongs to this message.
            Framing::Close | Framing::Tunnel => pos = data.len(),
            Framing::None | Framing::Interim => {}
        }
        messages.push((framing, flags));
    };
    Walk { messages, end }
}

// ── checks ───────────────────────────────────────────────────────────────────

/// Checks one case; returns a description of what went wrong, if anything.
fn check(case: &Case) -> Result<(), String> {
    let w = walk(case.kind, &case.data);
    let got = match w.end {
        End::Done => Verdict::Accept,
        End::Refused(code, stage) => Verdict::Reject(code, stage),
        End::More => {
            return Err(format!(
                "the bytes end inside a message after {} message(s)",
                w.messages.len()
            ))
        }
    };
    let want = case.known.as_ref().map_or(case.expect, |k| k.0);
    if got != want {
        return Err(format!(
            "{} expected, the parser says {}",
            show_verdict(want),
            show_verdict(got)
        ));
    }
    if let Some((_, _)) = &case.known {
        assert_ne!(
            case.expect, want,
            "{case}: a `known` verdict equal to `expect` is no disagreement"
        );
    }
    if w.messages.len() != case.messages {
        return Err(format!(
            "{} message(s) expected before the end, got {}",
            case.messages,
            w.messages.len()
        ));
    }
    let framings: Vec<Framing> = w.messages.iter().map(|m| m.0).collect();
    if framings != case.framing {
        return Err(format!(
            "framing {:?} expected, got {framings:?}",
            case.framing
        ));
    }
    if !case.flags.is_empty() {
        let flags = w
            .messages
            .first()
            .map(|m| m.1)
            .ok_or("flags given, but no message was accepted")?;
        for &(set, bit) in &case.flags {
            let name = FLAG_NAMES.iter().find(|f| f.1 == bit).unwrap().0;
            if (flags & bit != 0) != set {
                return Err(format!(
                    "flag {name} should be {}",
                    if set { "set" } else { "clear" }
                ));
            }
        }
    }
    // Every prefix: "need more" or the same refusal, never another decision.
    for cut in cuts(case.data.len()) {
        let p = walk(case.kind, &case.data[..cut]);
        if let End::Refused(..) = p.end {
            if p.end != w.end || p.messages.len() != w.messages.len() {
                return Err(format!(
                    "cut at {cut}: {:?} after {} message(s)",
                    p.end,
                    p.messages.len()
                ));
            }
        } else if p.messages.len() > w.messages.len() {
            return Err(format!("cut at {cut}: more messages than the whole input"));
        }
    }
    Ok(())
}

/// Where to cut an input of `len` bytes: everywhere when it is small; in a large one
/// (the limit cases, tens of KiB) everywhere near both ends and every 61st byte
/// between, so the walk stays linear-ish.
fn cuts(len: usize) -> Box<dyn Iterator<Item = usize>> {
    const SMALL: usize = 4096;
    if len <= SMALL {
        return Box::new(0..len);
    }
    let edge = SMALL / 2;
    Box::new(
        (0..edge)
            .chain((edge..len - edge).step_by(61))
            .chain(len - edge..len),
    )
}

#[test]
fn smuggling_corpus() {
    let cases = load_all();
    let mut failures = Vec::new();
    let mut known = Vec::new();
    let mut per_file: Vec<(String, usize, usize, usize)> = Vec::new();
    for case in &cases {
        if let Err(why) = check(case) {
            failures.push(format!("{case}: {why}"));
        }
        if let Some((v, why)) = &case.known {
            known.push(format!(
                "{case}: RFC says {}, parser says {} -- {why}",
                show_verdict(case.expect),
                show_verdict(*v)
            ));
        }
        if per_file.last().is_none_or(|f| f.0 != case.file) {
            per_file.push((case.file.clone(), 0, 0, 0));
        }
        let entry = per_file.last_mut().unwrap();
        match case.expect {
            Verdict::Accept => entry.1 += 1,
            Verdict::Reject(..) => entry.2 += 1,
        }
        entry.3 += case.data.len();
    }
    eprintln!("smuggling corpus: {} cases", cases.len());
    for (file, accept, reject, bytes) in &per_file {
        eprintln!("  {file:24} {accept:3} accept {reject:3} reject  ({bytes} bytes)");
    }
    let requests = cases.iter().filter(|c| c.kind == Kind::Request).count();
    eprintln!(
        "  requests {requests}, responses {}",
        cases.len() - requests
    );
    eprintln!("  known disagreements: {}", known.len());
    for k in &known {
        eprintln!("    {k}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_format_is_checked() {
    // The loader's own rules, on inline text.
    assert_eq!(
        unescape(r"a\r\n\t\\\x00\{b", "o").unwrap(),
        b"a\r\n\t\\\x00{b"
    );
    assert_eq!(
        unescape("GET http://{origin}/", "h:1").unwrap(),
        b"GET http://h:1/"
    );
    assert!(unescape("{x}", "o").is_err());
    assert!(unescape(r"\q", "o").is_err());
    assert!(unescape(r"\x4", "o").is_err());
    assert_eq!(expand_repeats("a{repeat 3}bc{/repeat}d"), "abcbcbcd");
    let cases = parse_file(
        "inline",
        "# comment\n=== one\nwhy: w\nexpect: reject BARE_LF\nstage: body\ndata:\nx\\r\\n\n\ny\n",
    );
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].data, b"x\r\ny");
    assert_eq!(
        cases[0].expect,
        Verdict::Reject(error::BARE_LF, Stage::Body)
    );
    assert_eq!(cases[0].messages, 0);
    let r = std::panic::catch_unwind(|| {
        parse_file("inline", "=== two\nwhy: w\nexpect: accept\ndata:\nGET \n")
    });
    assert!(r.is_err(), "a data line ending in a space is refused");
    assert_eq!(
        parse_kind("response HEAD"),
        Some(Kind::Response(method::HEAD))
    );
    assert_eq!(
        dechunked_length(b"5;x\r\nhello\r\na\r\n0123456789\r\n0\r\n\r\n"),
        15
    );
}
