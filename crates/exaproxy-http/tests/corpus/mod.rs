//! Reader for the llhttp conformance corpus: `$LLHTTP_CORPUS`, else `../shared/corpora/llhttp`
//! beside the repository. Each case is an ```http block, a `<!-- meta={...} -->` line and a
//! ```log block of llhttp's callbacks. Shared by `conformance.rs`, `differential.rs`, `fuzz.rs`
//! and `split.rs`.
//!
//! The corpus is not part of the repository, so a fresh clone may not have it: the tests that
//! need it then say so in one line and pass, and those that only take seeds from it run on
//! their own inputs. Under `CI=true` its absence is a failure, so CI never passes without it.
#![allow(dead_code)]

pub mod locate;
pub use locate::corpus_dir;

#[derive(Clone, Debug)]
pub struct Case {
    /// `request/invalid.md`
    pub file: String,
    /// 1-based line of the meta comment.
    pub line: usize,
    /// The nearest headings, joined with " / ".
    pub name: String,
    /// meta `type`, e.g. `request`, `response-lenient-keep-alive`.
    pub kind: String,
    pub pause: bool,
    pub skip_body: bool,
    pub input: Vec<u8>,
    pub log: Log,
}

impl Case {
    pub fn id(&self) -> String {
        format!("{}:{} ({})", self.file, self.line, self.name)
    }
    pub fn is_response(&self) -> bool {
        self.kind.starts_with("response")
    }
    /// The lenient flag of the meta type, if any (`keep-alive`, `headers`, …).
    pub fn lenient_flag(&self) -> Option<&str> {
        let rest = self
            .kind
            .strip_prefix("request-")
            .or_else(|| self.kind.strip_prefix("response-"))?;
        rest.strip_prefix("lenient-")
    }
}

/// One message of the log: what llhttp reported between `message begin` and the
/// end of its head.
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub method: String,
    pub url: String,
    pub version: String,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    /// The `headers complete` line, when reached.
    pub complete: Option<Complete>,
    /// An error reported before the head completed: (offset, code, reason).
    pub head_error: Option<(usize, u32, String)>,
    /// An error (or pause) reported after the head: (offset, code, reason).
    pub later_error: Option<(usize, u32, String)>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Complete {
    pub offset: usize,
    pub status: Option<u32>,
    pub flags: u32,
    pub content_length: u64,
}

/// llhttp's flag bits in `headers complete flags=` (hex).
pub mod llflag {
    pub const CONNECTION_KEEP_ALIVE: u32 = 1 << 0;
    pub const CONNECTION_CLOSE: u32 = 1 << 1;
    pub const CONNECTION_UPGRADE: u32 = 1 << 2;
    pub const CHUNKED: u32 = 1 << 3;
    pub const UPGRADE: u32 = 1 << 4;
    pub const CONTENT_LENGTH: u32 = 1 << 5;
    pub const TRANSFER_ENCODING: u32 = 1 << 9;
}

#[derive(Clone, Debug, Default)]
pub struct Log {
    pub messages: Vec<Message>,
}

/// Reads every case of `dir/sub/*.md`, sorted by file name; none without the corpus.
pub fn read_cases(sub: &str) -> Vec<Case> {
    let Some(dir) = corpus_dir() else {
        return Vec::new();
    };
    let dir = dir.join(sub);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = format!("{sub}/{}", path.file_name().unwrap().to_string_lossy());
        cases.extend(parse_file(&file, &text));
    }
    cases
}

fn parse_file(file: &str, text: &str) -> Vec<Case> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut cases = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(level) = heading_level(line) {
            headings.retain(|(l, _)| *l < level);
            headings.push((level, line.trim_start_matches('#').trim().to_string()));
        }
        if let Some(meta) = line.trim().strip_prefix("<!-- meta=") {
            let meta = meta.trim_end_matches("-->").trim();
            let meta_line = i + 1;
            let (http, after_http) = code_block(&lines, i + 1, "http");
            let (log, after_log) = code_block(&lines, after_http, "log");
            i = after_log;
            let name = headings
                .iter()
                .map(|(_, h)| h.as_str())
                .collect::<Vec<_>>()
                .join(" / ");
            cases.push(Case {
                file: file.to_string(),
                line: meta_line,
                name,
                kind: json_string(meta, "type").unwrap_or_default(),
                pause: meta.contains("\"pause\""),
                skip_body: meta.contains("\"skipBody\": true"),
                input: decode_input(&http),
                log: parse_log(&log),
            });
            continue;
        }
        i += 1;
    }
    cases
}

fn heading_level(line: &str) -> Option<usize> {
    let n = line.bytes().take_while(|&b| b == b'#').count();
    (n > 0 && line.as_bytes().get(n) == Some(&b' ')).then_some(n)
}

/// The lines of the next ```lang block from `from`; returns them and the line after it.
fn code_block(lines: &[&str], from: usize, lang: &str) -> (Vec<String>, usize) {
    let fence = format!("```{lang}");
    let mut i = from;
    while i < lines.len() && lines[i].trim_end() != fence {
        i += 1;
    }
    assert!(i < lines.len(), "no ```{lang} block after line {from}");
    i += 1;
    let mut body = Vec::new();
    while i < lines.len() && lines[i].trim_end() != "```" {
        body.push(lines[i].trim_end_matches('\r').to_string());
        i += 1;
    }
    (body, i + 1)
}

fn json_string(meta: &str, key: &str) -> Option<String> {
    let at = meta.find(&format!("\"{key}\""))?;
    let rest = &meta[at + key.len() + 2..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// Applies llhttp's test-harness rules (test/md-test.ts) to an ```http block:
/// lines joined by CRLF; a `\` at the end of a line joins it to the next without
/// CRLF; then the escapes `\r`, `\n`, `\t`, `\f`, `\xHH`, `\NNN` (octal). The
/// result is a JS string, written as UTF-8 (so `\xff` is the bytes C3 BF).
pub fn decode_input(lines: &[String]) -> Vec<u8> {
    let mut joined = String::new();
    for (k, line) in lines.iter().enumerate() {
        if let Some(stripped) = line.strip_suffix('\\') {
            joined.push_str(stripped);
        } else {
            joined.push_str(line);
            if k + 1 < lines.len() {
                joined.push_str("\r\n");
            }
        }
    }
    let s = joined
        .replace("\\r", "\r")
        .replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\f", "\u{c}");
    let s = replace_escape(&s, 'x', |digits| {
        let n = digits.chars().take_while(char::is_ascii_hexdigit).count();
        (n > 0).then(|| (u32::from_str_radix(&digits[..n], 16).unwrap(), n))
    });
    let s = replace_escape(&s, '\0', |digits| {
        let n = digits
            .chars()
            .take(3)
            .take_while(|c| ('0'..='7').contains(c))
            .count();
        (n > 0).then(|| (u32::from_str_radix(&digits[..n], 8).unwrap(), n))
    });
    assert!(
        !s.contains("${"),
        "inline JavaScript in a corpus input is not supported"
    );
    s.into_bytes()
}

/// Replaces `\` + `marker` + digits (marker `\0` = no marker) by the char they encode.
fn replace_escape(s: &str, marker: char, digits: impl Fn(&str) -> Option<(u32, usize)>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let body = if marker == '\0' {
            Some(after)
        } else {
            after.strip_prefix(marker)
        };
        match body.and_then(|b| digits(b).map(|(v, n)| (v, n, b))) {
            Some((v, n, b)) => {
                out.push(char::from_u32(v).unwrap());
                rest = &b[n..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {key}="))?;
    let rest = &line[at + key.len() + 2..];
    Some(rest.split(' ').next().unwrap())
}

fn parse_log(lines: &[String]) -> Log {
    let mut log = Log::default();
    let mut last_span = String::new();
    for raw in lines {
        let line = raw.replace("\\t", "\t").replace("\\f", "\u{c}");
        if line.starts_with('/') {
            continue; // a regular expression line: not needed for the head
        }
        let offset: usize = field(&format!(" {line}"), "off")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if line.contains(" message begin") {
            log.messages.push(Message::default());
            last_span.clear();
            continue;
        }
        let Some(msg) = log.messages.last_mut() else {
            continue;
        };
        if let Some(at) = line.find(" span[") {
            let kind = &line[at + 6..line[at..].find(']').unwrap() + at];
            let value = match (line.find("=\""), line.rfind('"')) {
                (Some(a), Some(b)) if b > a + 1 => line[a + 2..b].to_string(),
                _ => match line.rsplit('=').next() {
                    Some("cr") => "\r".to_string(),
                    Some("lf") => "\n".to_string(),
                    _ => String::new(),
                },
            };
            if msg.complete.is_none() && msg.head_error.is_none() {
                let continued = last_span == kind;
                match kind {
                    "method" => msg.method.push_str(&value),
                    "url" => msg.url.push_str(&value),
                    "version" => msg.version.push_str(&value),
                    "status" => msg.status_text.push_str(&value),
                    "header_field" if continued => {
                        msg.headers.last_mut().unwrap().0.push_str(&value)
                    }
                    "header_field" => msg.headers.push((value, String::new())),
                    "header_value" => {
                        if let Some(h) = msg.headers.last_mut() {
                            h.1.push_str(&value);
                        }
                    }
                    _ => {}
                }
            }
            last_span = kind.to_string();
            continue;
        }
        last_span.clear();
        if line.contains(" headers complete") {
            msg.complete = Some(Complete {
                offset,
                status: field(&line, "status").and_then(|v| v.parse().ok()),
                flags: field(&line, "flags")
                    .map(|v| u32::from_str_radix(v, 16).unwrap())
                    .unwrap_or(0),
                content_length: field(&line, "content_length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            });
        } else if line.contains(" error code=") {
            let code: u32 = field(&line, "code").unwrap().parse().unwrap();
            let reason = line
                .split("reason=")
                .nth(1)
                .unwrap_or("")
                .trim_matches('"')
                .to_string();
            // llhttp reports some head errors (invalid Transfer-Encoding, …) from its
            // headers-complete callback, at the same offset. Errors there that are not
            // about the head: 5 data after close, 12 chunk size, 21–23 pauses.
            let at_head_end = msg.complete.is_some_and(|c| c.offset == offset)
                && !matches!(code, 5 | 12 | 21..=23);
            if (msg.complete.is_none() || at_head_end) && msg.head_error.is_none() {
                msg.head_error = Some((offset, code, reason));
            } else if msg.later_error.is_none() {
                msg.later_error = Some((offset, code, reason));
            }
        }
    }
    log
}
