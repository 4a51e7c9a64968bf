//! The rewriting rules as the configuration gives them ([`PlanOptions`]), checked
//! and compiled once into a [`Plan`]: everything that depends only on the
//! configuration is prepared here, so that rewriting a message allocates nothing.

use crate::abi::header;
use crate::known::header_id;

/// What to do with `X-Forwarded-For` on requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ForwardedFor {
    /// Add a line with the client address after any existing ones.
    #[default]
    Append,
    /// Remove existing lines and add ours.
    Replace,
    /// Leave the header as the client sent it.
    Leave,
}

/// The rewriting rules, as the configuration gives them.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// `Via` pseudonym (for `Via: 1.1 <pseudonym>`); `None` adds no Via.
    pub via: Option<String>,
    /// Also add `Via` to responses.
    pub via_response: bool,
    pub forwarded_for: ForwardedFor,
    /// Forward `Proxy-Authorization` instead of removing it.
    pub pass_proxy_authorization: bool,
    /// Header names (any case) removed from requests.
    pub remove_request: Vec<String>,
    /// Header lines added to requests.
    pub add_request: Vec<(String, String)>,
    /// Header names (any case) removed from responses.
    pub remove_response: Vec<String>,
    /// Header lines added to responses.
    pub add_response: Vec<(String, String)>,
}

/// Whether `name` is a field name (1*tchar, RFC 9110 §5.1).
fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `value` can be sent as a field value: no CR, LF, NUL or other
/// control byte (HTAB aside), no surrounding whitespace.
fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7F))
        && !value.first().is_some_and(|&b| b == b' ' || b == b'\t')
        && !value.last().is_some_and(|&b| b == b' ' || b == b'\t')
}

impl PlanOptions {
    /// Checks every option that ends up in a header line. Returns one line
    /// naming the option, the value and what is accepted. [`Plan::new`] skips
    /// what this rejects, so a bad option can never inject a line.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(via) = &self.via {
            if via.is_empty() || !is_field_value(via.as_bytes()) {
                return Err(format!(
                    "rewrite option via: {via:?} is not a valid Via pseudonym; use visible characters and spaces, without control characters"
                ));
            }
        }
        for (option, names) in [
            ("removeRequest", &self.remove_request),
            ("removeResponse", &self.remove_response),
        ] {
            for name in names {
                if !is_token(name.as_bytes()) {
                    return Err(format!(
                        "rewrite option {option}: {name:?} is not a header name; use letters, digits and !#$%&'*+-.^_`|~"
                    ));
                }
            }
        }
        for (option, lines) in [
            ("addRequest", &self.add_request),
            ("addResponse", &self.add_response),
        ] {
            for (name, value) in lines {
                if !is_token(name.as_bytes()) {
                    return Err(format!(
                        "rewrite option {option}: {name:?} is not a header name; use letters, digits and !#$%&'*+-.^_`|~"
                    ));
                }
                if !is_field_value(value.as_bytes()) {
                    return Err(format!(
                        "rewrite option {option}: the value {value:?} of {name} has a control character or surrounding spaces; remove them"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A header name to remove: its well-known id, or its lower-case bytes when it
/// has none (id 0), so most comparisons are one integer compare.
#[derive(Clone, Debug)]
pub(super) struct Removal {
    id: u32,
    lower: Vec<u8>,
}

impl Removal {
    fn compile(names: &[String]) -> Vec<Removal> {
        names
            .iter()
            .filter(|n| is_token(n.as_bytes()))
            .map(|n| Removal {
                id: header_id(n.as_bytes()),
                lower: n.to_ascii_lowercase().into_bytes(),
            })
            .collect()
    }
}

/// Whether a header with `id` and `name` is in `list`.
pub(super) fn listed(list: &[Removal], id: u32, name: &[u8]) -> bool {
    list.iter().any(|r| {
        if r.id != header::OTHER {
            r.id == id
        } else {
            id == header::OTHER && r.lower.len() == name.len() && r.lower.eq_ignore_ascii_case(name)
        }
    })
}

/// `Name: value\r\n` lines, concatenated; invalid entries are skipped.
fn lines(pairs: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in pairs {
        if is_token(name.as_bytes()) && is_field_value(value.as_bytes()) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// A compiled plan.
#[derive(Debug, Default)]
pub struct Plan {
    /// `Via: 1.0 <pseudonym>\r\n` and `Via: 1.1 …` (empty: no Via).
    pub(super) via: [Vec<u8>; 2],
    pub(super) via_response: bool,
    pub(super) forwarded_for: ForwardedFor,
    pub(super) pass_proxy_authorization: bool,
    pub(super) remove_request: Vec<Removal>,
    pub(super) remove_response: Vec<Removal>,
    pub(super) add_request: Vec<u8>,
    pub(super) add_response: Vec<u8>,
}

impl Plan {
    /// Compiles `options`. Entries [`PlanOptions::validate`] rejects are skipped.
    pub fn new(options: &PlanOptions) -> Plan {
        let via_line = |minor: &str| match &options.via {
            Some(p) if !p.is_empty() && is_field_value(p.as_bytes()) => {
                format!("Via: 1.{minor} {p}\r\n").into_bytes()
            }
            _ => Vec::new(),
        };
        Plan {
            via: [via_line("0"), via_line("1")],
            via_response: options.via_response,
            forwarded_for: options.forwarded_for,
            pass_proxy_authorization: options.pass_proxy_authorization,
            remove_request: Removal::compile(&options.remove_request),
            remove_response: Removal::compile(&options.remove_response),
            add_request: lines(&options.add_request),
            add_response: lines(&options.add_response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated_and_bad_ones_skipped() {
        let good = PlanOptions {
            via: Some("exaproxy".into()),
            add_request: vec![("X-A".into(), "1\tb".into())],
            remove_response: vec!["Server".into()],
            ..PlanOptions::default()
        };
        assert_eq!(good.validate(), Ok(()));
        let injections = [
            PlanOptions {
                via: Some("p\r\nX-Evil: 1".into()),
                ..PlanOptions::default()
            },
            PlanOptions {
                via: Some(String::new()),
                ..PlanOptions::default()
            },
            PlanOptions {
                add_request: vec![("X-A".into(), "1\r\nX-Evil: 1".into())],
                ..PlanOptions::default()
            },
            PlanOptions {
                add_response: vec![("X A".into(), "1".into())],
                ..PlanOptions::default()
            },
            PlanOptions {
                add_response: vec![("X-A".into(), " 1".into())],
                ..PlanOptions::default()
            },
            PlanOptions {
                remove_request: vec!["Bad:Name".into()],
                ..PlanOptions::default()
            },
        ];
        for options in injections {
            let message = options.validate().unwrap_err();
            assert!(message.starts_with("rewrite option "), "{message}");
            let plan = Plan::new(&options);
            assert!(plan.via.iter().all(Vec::is_empty));
            assert!(plan.add_request.is_empty() && plan.add_response.is_empty());
            assert!(plan.remove_request.is_empty());
        }
    }

    #[test]
    fn removal_compares_ids_or_lower_case_names() {
        let list = Removal::compile(&["X-Custom".into(), "SERVER".into()]);
        assert!(listed(&list, header::OTHER, b"x-CUSTOM"));
        assert!(listed(&list, header::SERVER, b"Server"));
        assert!(!listed(&list, header::OTHER, b"x-custom2"));
        assert!(!listed(&list, header::VIA, b"Via"));
    }
}
