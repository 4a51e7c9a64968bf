//! The numbers shared with TypeScript: table slots, flag bits, ids and error codes.
//!
//! This file is the one source of truth for the Rust ↔ TypeScript boundary. Every
//! number here is **append-only**: a value, once released, never changes meaning.
//! `tests/abi.rs` renders `src/native/abi.generated.ts` from these tables and fails
//! when the committed file differs (`UPDATE_ABI=1 cargo test` rewrites it).
//!
//! # The head table
//!
//! JS owns a `Uint32Array` ("the table"), pooled and reused. JS writes the three
//! limits once; every parse call overwrites the rest. All offsets are absolute
//! positions in the caller's buffer (the parse call receives a start offset, so a
//! pipelined request can be parsed in place without slicing).
//!
//! ```text
//!  slot  0 LIMIT_HEAD      in   max head bytes (over it: 431)
//!  slot  1 LIMIT_TARGET    in   max request-target bytes (over it: 414)
//!  slot  2 LIMIT_HEADERS   in   max header lines (over it: 431; also capped by the table length)
//!  slot  3 FLAGS           out  FLAG_* bits
//!  slot  4 METHOD          out  METHOD_* id (request) — METHOD_OTHER for an extension method
//!  slot  5 VERSION         out  minor version: 0 or 1
//!  slot  6 STATUS          out  status code (response)
//!  slot  7 METHOD_START    out  request: first byte of the method (after ignored leading CRLFs)
//!  slot  8 METHOD_END      out  request: one past the method token
//!  slot  9 TARGET_START    out  request-target span
//!  slot 10 TARGET_END
//!  slot 11 FORM            out  FORM_* of the request-target
//!  slot 12 SCHEME          out  SCHEME_* of an absolute-form target
//!  slot 13 HOST_START      out  host span: the target's authority host, else the Host header's;
//!  slot 14 HOST_END             IPv6 literals without their brackets
//!  slot 15 PORT            out  explicit port, or 0 when none was given
//!  slot 16 PATH_START      out  path-and-query span (origin-form part); empty means "/"
//!  slot 17 PATH_END             (for CONNECT and `*` it is empty)
//!  slot 18 REASON_START    out  response: reason-phrase span
//!  slot 19 REASON_END
//!  slot 20 LENGTH_LO       out  Content-Length, low 32 bits (valid with FLAG_CONTENT_LENGTH)
//!  slot 21 LENGTH_HI       out  Content-Length, high bits (a length is at most 2^53 - 1)
//!  slot 22 HEADER_COUNT    out  number of header records that follow
//!  slot 23 HEAD_END        out  one past the blank line that ends the head (= start + consumed)
//!  slot 24 ERROR_POS       out  on error: offset of the offending byte
//!  slot 25 ERROR_STATUS    out  on error: the HTTP status to answer with
//!  slot 26..31             reserved
//!  slot 32 + 5*i           header record i: NAME_START, NAME_END, VALUE_START, VALUE_END, NAME_ID
//! ```
//!
//! Header values are trimmed of surrounding whitespace. Records keep the original
//! order; the original bytes (case included) stay in the caller's buffer.

/// Slot indices of the head table.
pub mod slot {
    pub const LIMIT_HEAD: usize = 0;
    pub const LIMIT_TARGET: usize = 1;
    pub const LIMIT_HEADERS: usize = 2;
    pub const FLAGS: usize = 3;
    pub const METHOD: usize = 4;
    pub const VERSION: usize = 5;
    pub const STATUS: usize = 6;
    pub const METHOD_START: usize = 7;
    pub const METHOD_END: usize = 8;
    pub const TARGET_START: usize = 9;
    pub const TARGET_END: usize = 10;
    pub const FORM: usize = 11;
    pub const SCHEME: usize = 12;
    pub const HOST_START: usize = 13;
    pub const HOST_END: usize = 14;
    pub const PORT: usize = 15;
    pub const PATH_START: usize = 16;
    pub const PATH_END: usize = 17;
    pub const REASON_START: usize = 18;
    pub const REASON_END: usize = 19;
    pub const LENGTH_LO: usize = 20;
    pub const LENGTH_HI: usize = 21;
    pub const HEADER_COUNT: usize = 22;
    pub const HEAD_END: usize = 23;
    pub const ERROR_POS: usize = 24;
    pub const ERROR_STATUS: usize = 25;
    /// First header record.
    pub const HEADERS: usize = 32;
}

/// Fields of one header record, relative to `slot::HEADERS + RECORD * i`.
pub mod record {
    pub const NAME_START: usize = 0;
    pub const NAME_END: usize = 1;
    pub const VALUE_START: usize = 2;
    pub const VALUE_END: usize = 3;
    pub const NAME_ID: usize = 4;
    /// Slots per header record.
    pub const SIZE: usize = 5;
}

/// Flag bits in `slot::FLAGS`.
pub mod flag {
    /// HTTP/1.1 (else HTTP/1.0).
    pub const VERSION_11: u32 = 1 << 0;
    /// A valid Content-Length was given (`LENGTH_LO`/`LENGTH_HI`).
    pub const CONTENT_LENGTH: u32 = 1 << 1;
    /// The body is chunked (Transfer-Encoding ends in `chunked`).
    pub const CHUNKED: u32 = 1 << 2;
    /// `Connection: close` (or `Proxy-Connection: close`).
    pub const CONNECTION_CLOSE: u32 = 1 << 3;
    /// `Connection: keep-alive` (or `Proxy-Connection: keep-alive`).
    pub const CONNECTION_KEEP_ALIVE: u32 = 1 << 4;
    /// `Connection` lists `upgrade`.
    pub const CONNECTION_UPGRADE: u32 = 1 << 5;
    /// An `Upgrade` header is present.
    pub const UPGRADE: u32 = 1 << 6;
    /// `Expect: 100-continue`.
    pub const EXPECT_CONTINUE: u32 = 1 << 7;
    /// An `Expect` header other than `100-continue`.
    pub const EXPECT_OTHER: u32 = 1 << 8;
    /// A `Host` header is present.
    pub const HOST_HEADER: u32 = 1 << 9;
    /// The message has no body at all (a request without CL/TE; a response to HEAD, 1xx, 204, 304).
    pub const BODY_NONE: u32 = 1 << 10;
    /// Response: the body runs until the server closes the connection (RFC 9112 §6.3 rule 8).
    pub const BODY_UNTIL_CLOSE: u32 = 1 << 11;
    /// Response: after this head the connection becomes a tunnel (2xx to CONNECT, 101).
    pub const TUNNEL: u32 = 1 << 12;
    /// Request: the head is a complete WebSocket/other upgrade request (Connection: upgrade + Upgrade).
    pub const IS_UPGRADE: u32 = 1 << 13;
    /// Output of `rewrite_response`: the client connection stays open after this response.
    pub const KEEP_ALIVE: u32 = 1 << 14;
    /// Response: an interim 1xx response (other than 101); the final response follows.
    pub const INTERIM: u32 = 1 << 15;
}

/// Request-target forms (RFC 9112 §3.2).
pub mod form {
    pub const ORIGIN: u32 = 0;
    pub const ABSOLUTE: u32 = 1;
    pub const AUTHORITY: u32 = 2;
    pub const ASTERISK: u32 = 3;
}

/// Schemes of an absolute-form target.
pub mod scheme {
    pub const NONE: u32 = 0;
    pub const HTTP: u32 = 1;
    pub const HTTPS: u32 = 2;
    /// Any other syntactically valid scheme (`ftp:`, …): policy decides.
    pub const OTHER: u32 = 3;
}

/// Method ids, with their exact token. `METHODS[i].0 == i`.
pub const METHODS: &[(u32, &str)] = &[
    (0, "OTHER"),
    (1, "GET"),
    (2, "HEAD"),
    (3, "POST"),
    (4, "PUT"),
    (5, "DELETE"),
    (6, "CONNECT"),
    (7, "OPTIONS"),
    (8, "TRACE"),
    (9, "PATCH"),
    // WebDAV, as ExaProxy lists them (reference §2, feature 18).
    (10, "BCOPY"),
    (11, "BDELETE"),
    (12, "BMOVE"),
    (13, "BPROPFIND"),
    (14, "BPROPPATCH"),
    (15, "COPY"),
    (16, "LOCK"),
    (17, "MKCOL"),
    (18, "MOVE"),
    (19, "NOTIFY"),
    (20, "POLL"),
    (21, "PROPFIND"),
    (22, "PROPPATCH"),
    (23, "SEARCH"),
    (24, "SUBSCRIBE"),
    (25, "UNLOCK"),
    (26, "UNSUBSCRIBE"),
    (27, "X-MS-ENUMATTS"),
];

/// Method id constants, for readable Rust code.
pub mod method {
    pub const OTHER: u32 = 0;
    pub const GET: u32 = 1;
    pub const HEAD: u32 = 2;
    pub const POST: u32 = 3;
    pub const PUT: u32 = 4;
    pub const DELETE: u32 = 5;
    pub const CONNECT: u32 = 6;
    pub const OPTIONS: u32 = 7;
    pub const TRACE: u32 = 8;
    pub const PATCH: u32 = 9;
    /// Ids at or above this one are WebDAV methods.
    pub const FIRST_WEBDAV: u32 = 10;
}

/// Well-known header names (lower case) and their ids in `record::NAME_ID`.
/// Id 0 is any other name. `HEADERS[i].0 == i`.
pub const HEADERS: &[(u32, &str)] = &[
    (0, "other"),
    (1, "host"),
    (2, "content-length"),
    (3, "transfer-encoding"),
    (4, "connection"),
    (5, "keep-alive"),
    (6, "proxy-connection"),
    (7, "proxy-authenticate"),
    (8, "proxy-authorization"),
    (9, "te"),
    (10, "trailer"),
    (11, "upgrade"),
    (12, "via"),
    (13, "x-forwarded-for"),
    (14, "expect"),
    (15, "max-forwards"),
    (16, "forwarded"),
    (17, "date"),
    (18, "server"),
    (19, "content-type"),
    (20, "user-agent"),
    (21, "x-proxy-version"),
    (22, "referer"),
    (23, "location"),
    (24, "cookie"),
    (25, "set-cookie"),
    (26, "sec-websocket-key"),
    (27, "x-real-ip"),
];

/// Header id constants, for readable Rust code.
pub mod header {
    pub const OTHER: u32 = 0;
    pub const HOST: u32 = 1;
    pub const CONTENT_LENGTH: u32 = 2;
    pub const TRANSFER_ENCODING: u32 = 3;
    pub const CONNECTION: u32 = 4;
    pub const KEEP_ALIVE: u32 = 5;
    pub const PROXY_CONNECTION: u32 = 6;
    pub const PROXY_AUTHENTICATE: u32 = 7;
    pub const PROXY_AUTHORIZATION: u32 = 8;
    pub const TE: u32 = 9;
    pub const TRAILER: u32 = 10;
    pub const UPGRADE: u32 = 11;
    pub const VIA: u32 = 12;
    pub const X_FORWARDED_FOR: u32 = 13;
    pub const EXPECT: u32 = 14;
    pub const MAX_FORWARDS: u32 = 15;
    pub const FORWARDED: u32 = 16;
    pub const DATE: u32 = 17;
    pub const SERVER: u32 = 18;
    pub const CONTENT_TYPE: u32 = 19;
    pub const USER_AGENT: u32 = 20;
    pub const X_PROXY_VERSION: u32 = 21;
    pub const REFERER: u32 = 22;
    pub const LOCATION: u32 = 23;
    pub const COOKIE: u32 = 24;
    pub const SET_COOKIE: u32 = 25;
    pub const SEC_WEBSOCKET_KEY: u32 = 26;
    pub const X_REAL_IP: u32 = 27;
}

/// Parse results other than "complete": a parse call returns the number of bytes
/// consumed (> 0) when complete, `NEED_MORE` (0), or `-code` for an error below.
pub const NEED_MORE: i32 = 0;

/// Error codes: `(code, NAME, HTTP status to answer with, one-line meaning)`.
/// Append-only. `ERRORS[i].0 == i + 1`.
pub const ERRORS: &[(u32, &str, u16, &str)] = &[
    (1, "REQUEST_LINE", 400, "malformed request line"),
    (2, "METHOD", 400, "invalid method token"),
    (3, "TARGET", 400, "invalid request-target"),
    (4, "VERSION_UNSUPPORTED", 505, "HTTP version not supported"),
    (5, "VERSION", 400, "malformed HTTP version"),
    (
        6,
        "HEAD_TOO_LARGE",
        431,
        "request head larger than the limit",
    ),
    (
        7,
        "TARGET_TOO_LONG",
        414,
        "request-target longer than the limit",
    ),
    (
        8,
        "TOO_MANY_HEADERS",
        431,
        "more header fields than the limit",
    ),
    (9, "HEADER_NAME", 400, "invalid byte in a header field name"),
    (
        10,
        "HEADER_VALUE",
        400,
        "invalid byte in a header field value",
    ),
    (11, "OBS_FOLD", 400, "obsolete line folding"),
    (
        12,
        "SPACE_BEFORE_COLON",
        400,
        "whitespace between a field name and its colon",
    ),
    (13, "BARE_CR", 400, "CR not followed by LF"),
    (14, "BARE_LF", 400, "LF not preceded by CR"),
    (
        15,
        "CONTENT_LENGTH_AND_TRANSFER_ENCODING",
        400,
        "both Content-Length and Transfer-Encoding",
    ),
    (
        16,
        "CONTENT_LENGTH_MULTIPLE",
        400,
        "several Content-Length values",
    ),
    (
        17,
        "CONTENT_LENGTH_INVALID",
        400,
        "Content-Length is not a decimal number in range",
    ),
    (
        18,
        "TRANSFER_ENCODING_NOT_CHUNKED",
        400,
        "the last transfer coding is not chunked",
    ),
    (
        19,
        "TRANSFER_ENCODING_CHUNKED_TWICE",
        400,
        "chunked applied more than once",
    ),
    (20, "HOST_MISSING", 400, "HTTP/1.1 request without Host"),
    (21, "HOST_MULTIPLE", 400, "more than one Host"),
    (22, "HOST_INVALID", 400, "invalid Host"),
    (23, "STATUS_LINE", 502, "malformed response status line"),
    (24, "CHUNK_SIZE", 400, "invalid chunk size"),
    (25, "CHUNK_SIZE_OVERFLOW", 400, "chunk size too large"),
    (
        26,
        "CHUNK_EXTENSION",
        400,
        "invalid or oversized chunk extension",
    ),
    (27, "CHUNK_DATA_END", 400, "chunk data not followed by CRLF"),
    (28, "TRAILERS", 400, "invalid or oversized trailer section"),
    (29, "PROXY_PROTOCOL", 400, "invalid PROXY protocol header"),
    (30, "NOT_TLS", 400, "not a TLS ClientHello"),
    (31, "TLS_RECORD", 400, "malformed TLS ClientHello"),
    (
        32,
        "OUTPUT_TOO_SMALL",
        500,
        "the output buffer is too small",
    ),
];

/// Error code constants, for readable Rust code.
pub mod error {
    pub const REQUEST_LINE: u32 = 1;
    pub const METHOD: u32 = 2;
    pub const TARGET: u32 = 3;
    pub const VERSION_UNSUPPORTED: u32 = 4;
    pub const VERSION: u32 = 5;
    pub const HEAD_TOO_LARGE: u32 = 6;
    pub const TARGET_TOO_LONG: u32 = 7;
    pub const TOO_MANY_HEADERS: u32 = 8;
    pub const HEADER_NAME: u32 = 9;
    pub const HEADER_VALUE: u32 = 10;
    pub const OBS_FOLD: u32 = 11;
    pub const SPACE_BEFORE_COLON: u32 = 12;
    pub const BARE_CR: u32 = 13;
    pub const BARE_LF: u32 = 14;
    pub const CONTENT_LENGTH_AND_TRANSFER_ENCODING: u32 = 15;
    pub const CONTENT_LENGTH_MULTIPLE: u32 = 16;
    pub const CONTENT_LENGTH_INVALID: u32 = 17;
    pub const TRANSFER_ENCODING_NOT_CHUNKED: u32 = 18;
    pub const TRANSFER_ENCODING_CHUNKED_TWICE: u32 = 19;
    pub const HOST_MISSING: u32 = 20;
    pub const HOST_MULTIPLE: u32 = 21;
    pub const HOST_INVALID: u32 = 22;
    pub const STATUS_LINE: u32 = 23;
    pub const CHUNK_SIZE: u32 = 24;
    pub const CHUNK_SIZE_OVERFLOW: u32 = 25;
    pub const CHUNK_EXTENSION: u32 = 26;
    pub const CHUNK_DATA_END: u32 = 27;
    pub const TRAILERS: u32 = 28;
    pub const PROXY_PROTOCOL: u32 = 29;
    pub const NOT_TLS: u32 = 30;
    pub const TLS_RECORD: u32 = 31;
    pub const OUTPUT_TOO_SMALL: u32 = 32;
}

/// The chunked scanner's state: a `Uint32Array` of `chunk::SIZE` slots kept by the
/// caller per message, zeroed at the start of each chunked body.
pub mod chunk {
    /// Scanner phase (`PHASE_*`).
    pub const PHASE: usize = 0;
    /// Bytes left in the current chunk's data, low 32 bits.
    pub const REMAINING_LO: usize = 1;
    /// … high bits.
    pub const REMAINING_HI: usize = 2;
    /// Bytes seen in the current size line / extension / trailer section (to bound them).
    pub const COUNT: usize = 3;
    /// Slots in the state array.
    pub const SIZE: usize = 8;

    /// The body ended (last chunk and trailer section complete).
    pub const PHASE_DONE: u32 = 0xFF;
}

/// The PROXY protocol result table: a `Uint32Array` of `proxy::SIZE` slots.
/// Addresses are written as big-endian 32-bit words (IPv4 uses word 0 only).
pub mod proxy {
    /// 1 or 2.
    pub const VERSION: usize = 0;
    /// 1 = PROXY (use the addresses), 0 = LOCAL / UNKNOWN (use the socket's).
    pub const COMMAND: usize = 1;
    /// 4, 6, or 0 when the addresses are not given.
    pub const FAMILY: usize = 2;
    pub const SRC_PORT: usize = 3;
    pub const DST_PORT: usize = 4;
    pub const SRC_ADDR: usize = 5; // 4 words
    pub const DST_ADDR: usize = 9; // 4 words
    /// v2 AUTHORITY TLV span (0, 0 when absent).
    pub const AUTHORITY_START: usize = 13;
    pub const AUTHORITY_END: usize = 14;
    pub const SIZE: usize = 16;
}

/// The TLS ClientHello peek result table: a `Uint32Array` of `sni::SIZE` slots.
pub mod sni {
    /// Span of the server name (0, 0 when the hello carries none).
    pub const NAME_START: usize = 0;
    pub const NAME_END: usize = 1;
    /// Length of the whole first record (header included).
    pub const RECORD_LEN: usize = 2;
    pub const SIZE: usize = 4;
}

/// Per-request bits given to `rewrite_request` / `rewrite_response` by the caller.
pub mod rewrite {
    /// The request may keep its Upgrade (policy allows this upgrade).
    pub const ALLOW_UPGRADE: u32 = 1 << 0;
    /// Ask the upstream to keep the connection open (adds `Connection: keep-alive` to HTTP/1.0).
    pub const UPSTREAM_KEEP_ALIVE: u32 = 1 << 1;
    /// Response: the client asked to keep its connection (decided from the request's flags).
    pub const CLIENT_KEEP_ALIVE: u32 = 1 << 2;
    /// Response: the client spoke HTTP/1.0.
    pub const CLIENT_HTTP_10: u32 = 1 << 3;
}

const _: () = assert!(slot::HEADERS > slot::ERROR_STATUS);
const _: () = assert!(METHODS.len() == method::FIRST_WEBDAV as usize + 18);
const _: () = assert!(ERRORS.len() == error::OUTPUT_TOO_SMALL as usize);

/// Renders the TypeScript mirror of this file (`src/native/abi.generated.ts`).
pub fn render_typescript() -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    s.push_str("// Auto-generated from crates/exaproxy-http/src/abi.rs by `cargo test` (UPDATE_ABI=1). DO NOT EDIT.\n\n");
    fn section(s: &mut String, name: &str, pairs: &[(&str, u64)]) {
        let _ = writeln!(s, "export const {name} = {{");
        for (k, v) in pairs {
            let _ = writeln!(s, "  {k}: {v},");
        }
        s.push_str("} as const;\n\n");
    }
    section(
        &mut s,
        "Slot",
        &[
            ("LIMIT_HEAD", slot::LIMIT_HEAD as u64),
            ("LIMIT_TARGET", slot::LIMIT_TARGET as u64),
            ("LIMIT_HEADERS", slot::LIMIT_HEADERS as u64),
            ("FLAGS", slot::FLAGS as u64),
            ("METHOD", slot::METHOD as u64),
            ("VERSION", slot::VERSION as u64),
            ("STATUS", slot::STATUS as u64),
            ("METHOD_START", slot::METHOD_START as u64),
            ("METHOD_END", slot::METHOD_END as u64),
            ("TARGET_START", slot::TARGET_START as u64),
            ("TARGET_END", slot::TARGET_END as u64),
            ("FORM", slot::FORM as u64),
            ("SCHEME", slot::SCHEME as u64),
            ("HOST_START", slot::HOST_START as u64),
            ("HOST_END", slot::HOST_END as u64),
            ("PORT", slot::PORT as u64),
            ("PATH_START", slot::PATH_START as u64),
            ("PATH_END", slot::PATH_END as u64),
            ("REASON_START", slot::REASON_START as u64),
            ("REASON_END", slot::REASON_END as u64),
            ("LENGTH_LO", slot::LENGTH_LO as u64),
            ("LENGTH_HI", slot::LENGTH_HI as u64),
            ("HEADER_COUNT", slot::HEADER_COUNT as u64),
            ("HEAD_END", slot::HEAD_END as u64),
            ("ERROR_POS", slot::ERROR_POS as u64),
            ("ERROR_STATUS", slot::ERROR_STATUS as u64),
            ("HEADERS", slot::HEADERS as u64),
        ],
    );
    section(
        &mut s,
        "Record",
        &[
            ("NAME_START", record::NAME_START as u64),
            ("NAME_END", record::NAME_END as u64),
            ("VALUE_START", record::VALUE_START as u64),
            ("VALUE_END", record::VALUE_END as u64),
            ("NAME_ID", record::NAME_ID as u64),
            ("SIZE", record::SIZE as u64),
        ],
    );
    section(
        &mut s,
        "Flag",
        &[
            ("VERSION_11", flag::VERSION_11 as u64),
            ("CONTENT_LENGTH", flag::CONTENT_LENGTH as u64),
            ("CHUNKED", flag::CHUNKED as u64),
            ("CONNECTION_CLOSE", flag::CONNECTION_CLOSE as u64),
            ("CONNECTION_KEEP_ALIVE", flag::CONNECTION_KEEP_ALIVE as u64),
            ("CONNECTION_UPGRADE", flag::CONNECTION_UPGRADE as u64),
            ("UPGRADE", flag::UPGRADE as u64),
            ("EXPECT_CONTINUE", flag::EXPECT_CONTINUE as u64),
            ("EXPECT_OTHER", flag::EXPECT_OTHER as u64),
            ("HOST_HEADER", flag::HOST_HEADER as u64),
            ("BODY_NONE", flag::BODY_NONE as u64),
            ("BODY_UNTIL_CLOSE", flag::BODY_UNTIL_CLOSE as u64),
            ("TUNNEL", flag::TUNNEL as u64),
            ("IS_UPGRADE", flag::IS_UPGRADE as u64),
            ("KEEP_ALIVE", flag::KEEP_ALIVE as u64),
            ("INTERIM", flag::INTERIM as u64),
        ],
    );
    section(
        &mut s,
        "Form",
        &[
            ("ORIGIN", form::ORIGIN as u64),
            ("ABSOLUTE", form::ABSOLUTE as u64),
            ("AUTHORITY", form::AUTHORITY as u64),
            ("ASTERISK", form::ASTERISK as u64),
        ],
    );
    section(
        &mut s,
        "Scheme",
        &[
            ("NONE", scheme::NONE as u64),
            ("HTTP", scheme::HTTP as u64),
            ("HTTPS", scheme::HTTPS as u64),
            ("OTHER", scheme::OTHER as u64),
        ],
    );
    let ident = |name: &str| name.replace('-', "_");
    let methods: Vec<(String, u64)> = METHODS.iter().map(|(i, n)| (ident(n), *i as u64)).collect();
    section(
        &mut s,
        "Method",
        &methods
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        s,
        "export const METHOD_NAMES: readonly string[] = [{}];\n",
        METHODS
            .iter()
            .map(|(_, n)| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let headers: Vec<(String, u64)> = HEADERS
        .iter()
        .map(|(i, n)| (ident(n).to_uppercase(), *i as u64))
        .collect();
    section(
        &mut s,
        "Header",
        &headers
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        s,
        "export const HEADER_NAMES: readonly string[] = [{}];\n",
        HEADERS
            .iter()
            .map(|(_, n)| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(s, "export const NEED_MORE = {NEED_MORE};\n");
    let errors: Vec<(&str, u64)> = ERRORS.iter().map(|(c, n, _, _)| (*n, *c as u64)).collect();
    section(&mut s, "ErrorCode", &errors);
    s.push_str("/** Indexed by error code: [name, HTTP status, meaning]. */\n");
    s.push_str("export const ERROR_INFO: readonly (readonly [string, number, string])[] = [\n  ['NONE', 0, ''],\n");
    for (_, n, st, m) in ERRORS {
        let _ = writeln!(s, "  ['{n}', {st}, '{m}'],");
    }
    s.push_str("];\n\n");
    section(
        &mut s,
        "Chunk",
        &[
            ("PHASE", chunk::PHASE as u64),
            ("REMAINING_LO", chunk::REMAINING_LO as u64),
            ("REMAINING_HI", chunk::REMAINING_HI as u64),
            ("COUNT", chunk::COUNT as u64),
            ("SIZE", chunk::SIZE as u64),
            ("PHASE_DONE", chunk::PHASE_DONE as u64),
        ],
    );
    section(
        &mut s,
        "Proxy",
        &[
            ("VERSION", proxy::VERSION as u64),
            ("COMMAND", proxy::COMMAND as u64),
            ("FAMILY", proxy::FAMILY as u64),
            ("SRC_PORT", proxy::SRC_PORT as u64),
            ("DST_PORT", proxy::DST_PORT as u64),
            ("SRC_ADDR", proxy::SRC_ADDR as u64),
            ("DST_ADDR", proxy::DST_ADDR as u64),
            ("AUTHORITY_START", proxy::AUTHORITY_START as u64),
            ("AUTHORITY_END", proxy::AUTHORITY_END as u64),
            ("SIZE", proxy::SIZE as u64),
        ],
    );
    section(
        &mut s,
        "Sni",
        &[
            ("NAME_START", sni::NAME_START as u64),
            ("NAME_END", sni::NAME_END as u64),
            ("RECORD_LEN", sni::RECORD_LEN as u64),
            ("SIZE", sni::SIZE as u64),
        ],
    );
    section(
        &mut s,
        "Rewrite",
        &[
            ("ALLOW_UPGRADE", rewrite::ALLOW_UPGRADE as u64),
            ("UPSTREAM_KEEP_ALIVE", rewrite::UPSTREAM_KEEP_ALIVE as u64),
            ("CLIENT_KEEP_ALIVE", rewrite::CLIENT_KEEP_ALIVE as u64),
            ("CLIENT_HTTP_10", rewrite::CLIENT_HTTP_10 as u64),
        ],
    );
    s.truncate(s.trim_end().len());
    s.push('\n');
    s
}
