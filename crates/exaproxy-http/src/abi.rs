//! The numbers shared with TypeScript: table slots, flag bits, ids and error codes.
//!
//! This file is the one source of truth for the Rust ↔ TypeScript boundary: each
//! number is written once, below, and `src/native/abi.generated.ts` is rendered from
//! these declarations by `scripts/gen-abi.mjs` (run by `npm run build`; `npm run
//! check` fails when the committed file differs). Every number is **append-only**:
//! a value, once released, never changes meaning.
//!
//! # The head table
//!
//! JS owns a `Uint32Array` ("the table"), pooled and reused. JS writes the three
//! limits once (the `in` slots of [`slot`]); every parse call overwrites the rest.
//! All offsets are absolute positions in the caller's buffer (the parse call
//! receives a start offset, so a pipelined request can be parsed in place without
//! slicing). Slots 27..31 are reserved; header record `i` starts at
//! `slot::HEADERS + record::SIZE * i`.
//!
//! Header values are trimmed of surrounding whitespace. Records keep the original
//! order; the original bytes (case included) stay in the caller's buffer.

#[macro_use]
mod declare;
mod icap_table;
mod typescript;

pub use icap_table::{icap, icap_flag, icap_method};

pub use typescript::render_typescript;

constants! {
    /// Slot indices of the head table.
    pub mod slot: usize {
        /// in: max head bytes (over it: 431).
        LIMIT_HEAD = 0,
        /// in: max request-target bytes (over it: 414).
        LIMIT_TARGET = 1,
        /// in: max header lines (over it: 431; also capped by the table length).
        LIMIT_HEADERS = 2,
        /// out: `Flag` bits.
        FLAGS = 3,
        /// out: `Method` id (request); `Method.OTHER` for an extension method.
        METHOD = 4,
        /// out: minor version, 0 or 1.
        VERSION = 5,
        /// out: status code (response).
        STATUS = 6,
        /// out, request: first byte of the method (after ignored leading CRLFs).
        METHOD_START = 7,
        /// out, request: one past the method token.
        METHOD_END = 8,
        /// out: request-target span.
        TARGET_START = 9,
        TARGET_END = 10,
        /// out: `Form` of the request-target.
        FORM = 11,
        /// out: `Scheme` of an absolute-form target.
        SCHEME = 12,
        /// out: host span: the target's authority host, else the Host header's;
        /// IPv6 literals without their brackets.
        HOST_START = 13,
        HOST_END = 14,
        /// out: explicit port, or 0 when none was given.
        PORT = 15,
        /// out: path-and-query span (origin-form part); empty means "/" (for CONNECT
        /// and `*` it is empty).
        PATH_START = 16,
        PATH_END = 17,
        /// out, response: reason-phrase span.
        REASON_START = 18,
        REASON_END = 19,
        /// out: Content-Length, low 32 bits (valid with `Flag.CONTENT_LENGTH`).
        LENGTH_LO = 20,
        /// out: Content-Length, high bits (a length is at most 2^53 - 1).
        LENGTH_HI = 21,
        /// out: number of header records that follow.
        HEADER_COUNT = 22,
        /// out: one past the blank line that ends the head (= start + consumed).
        HEAD_END = 23,
        /// out, on error: offset of the offending byte.
        ERROR_POS = 24,
        /// out, on error: the HTTP status to answer with.
        ERROR_STATUS = 25,
        /// out, with `Flag.CHUNKED_PARAMETERS`: one past the `chunked` token, where the
        /// rewritten head cuts its Transfer-Encoding line.
        CHUNKED_END = 26,
        /// out, `read_request` / `read_response`: bytes of the rewritten head written to `out`; 0 when it
        /// was not written (the head is incomplete or invalid, or did not fit).
        REWRITTEN = 27,
        /// First header record.
        HEADERS = 32,
    }
}

constants! {
    /// Fields of one header record, relative to `slot::HEADERS + record::SIZE * i`.
    pub mod record: usize {
        NAME_START = 0,
        NAME_END = 1,
        VALUE_START = 2,
        VALUE_END = 3,
        /// `Header` id of the name (0: any other name).
        NAME_ID = 4,
        /// Slots per header record.
        SIZE = 5,
    }
}

constants! {
    /// Flag bits in `slot::FLAGS`.
    pub mod flag: u32 {
        /// HTTP/1.1 (else HTTP/1.0).
        VERSION_11 = 1 << 0,
        /// A valid Content-Length was given (`LENGTH_LO`/`LENGTH_HI`).
        CONTENT_LENGTH = 1 << 1,
        /// The body is chunked (Transfer-Encoding ends in `chunked`).
        CHUNKED = 1 << 2,
        /// `Connection: close` (or `Proxy-Connection: close`).
        CONNECTION_CLOSE = 1 << 3,
        /// `Connection: keep-alive` (or `Proxy-Connection: keep-alive`).
        CONNECTION_KEEP_ALIVE = 1 << 4,
        /// `Connection` lists `upgrade`.
        CONNECTION_UPGRADE = 1 << 5,
        /// An `Upgrade` header is present.
        UPGRADE = 1 << 6,
        /// `Expect: 100-continue`.
        EXPECT_CONTINUE = 1 << 7,
        /// An `Expect` header other than `100-continue`.
        EXPECT_OTHER = 1 << 8,
        /// A `Host` header is present.
        HOST_HEADER = 1 << 9,
        /// The message has no body at all (a request without CL/TE; a response to HEAD, 1xx, 204, 304).
        BODY_NONE = 1 << 10,
        /// Response: the body runs until the server closes the connection (RFC 9112 §6.3 rule 8).
        BODY_UNTIL_CLOSE = 1 << 11,
        /// Response: after this head the connection becomes a tunnel (2xx to CONNECT, 101).
        TUNNEL = 1 << 12,
        /// Request: the head is a complete WebSocket/other upgrade request (Connection: upgrade + Upgrade).
        IS_UPGRADE = 1 << 13,
        /// Output of `rewrite_response`: the client connection stays open after this response.
        KEEP_ALIVE = 1 << 14,
        /// Response: an interim 1xx response (other than 101); the final response follows.
        INTERIM = 1 << 15,
        /// The final `chunked` coding carried parameters (`chunked;custom_param`): the
        /// rewritten head forwards the Transfer-Encoding line cut at `slot::CHUNKED_END`.
        CHUNKED_PARAMETERS = 1 << 16,
    }
}

constants! {
    /// Request-target forms (RFC 9112 §3.2).
    pub mod form: u32 {
        ORIGIN = 0,
        ABSOLUTE = 1,
        AUTHORITY = 2,
        ASTERISK = 3,
    }
}

constants! {
    /// Schemes of an absolute-form target.
    pub mod scheme: u32 {
        NONE = 0,
        HTTP = 1,
        HTTPS = 2,
        /// Any other syntactically valid scheme (`ftp:`, …): policy decides.
        OTHER = 3,
    }
}

names! {
    /// Method ids; `METHODS` gives each one's exact token.
    pub mod method;
    /// Method ids with their exact token. `METHODS[i].0 == i`.
    pub const METHODS {
        OTHER = 0 "OTHER",
        GET = 1 "GET",
        HEAD = 2 "HEAD",
        POST = 3 "POST",
        PUT = 4 "PUT",
        DELETE = 5 "DELETE",
        CONNECT = 6 "CONNECT",
        OPTIONS = 7 "OPTIONS",
        TRACE = 8 "TRACE",
        PATCH = 9 "PATCH",
        // WebDAV, as ExaProxy lists them (ExaProxy's list of WebDAV methods).
        BCOPY = 10 "BCOPY",
        BDELETE = 11 "BDELETE",
        BMOVE = 12 "BMOVE",
        BPROPFIND = 13 "BPROPFIND",
        BPROPPATCH = 14 "BPROPPATCH",
        COPY = 15 "COPY",
        LOCK = 16 "LOCK",
        MKCOL = 17 "MKCOL",
        MOVE = 18 "MOVE",
        NOTIFY = 19 "NOTIFY",
        POLL = 20 "POLL",
        PROPFIND = 21 "PROPFIND",
        PROPPATCH = 22 "PROPPATCH",
        SEARCH = 23 "SEARCH",
        SUBSCRIBE = 24 "SUBSCRIBE",
        UNLOCK = 25 "UNLOCK",
        UNSUBSCRIBE = 26 "UNSUBSCRIBE",
        X_MS_ENUMATTS = 27 "X-MS-ENUMATTS",
    }
    /// Ids at or above this one are WebDAV methods.
    pub const FIRST_WEBDAV: u32 = BCOPY;
}

names! {
    /// Well-known header name ids, as written in `record::NAME_ID`.
    pub mod header;
    /// Well-known header names (lower case) and their ids in `record::NAME_ID`.
    /// Id 0 is any other name. `HEADERS[i].0 == i`.
    pub const HEADERS {
        OTHER = 0 "other",
        HOST = 1 "host",
        CONTENT_LENGTH = 2 "content-length",
        TRANSFER_ENCODING = 3 "transfer-encoding",
        CONNECTION = 4 "connection",
        KEEP_ALIVE = 5 "keep-alive",
        PROXY_CONNECTION = 6 "proxy-connection",
        PROXY_AUTHENTICATE = 7 "proxy-authenticate",
        PROXY_AUTHORIZATION = 8 "proxy-authorization",
        TE = 9 "te",
        TRAILER = 10 "trailer",
        UPGRADE = 11 "upgrade",
        VIA = 12 "via",
        X_FORWARDED_FOR = 13 "x-forwarded-for",
        EXPECT = 14 "expect",
        MAX_FORWARDS = 15 "max-forwards",
        FORWARDED = 16 "forwarded",
        DATE = 17 "date",
        SERVER = 18 "server",
        CONTENT_TYPE = 19 "content-type",
        USER_AGENT = 20 "user-agent",
        X_PROXY_VERSION = 21 "x-proxy-version",
        REFERER = 22 "referer",
        LOCATION = 23 "location",
        COOKIE = 24 "cookie",
        SET_COOKIE = 25 "set-cookie",
        SEC_WEBSOCKET_KEY = 26 "sec-websocket-key",
        X_REAL_IP = 27 "x-real-ip",
    }
}

/// Parse results other than "complete": a parse call returns the number of bytes
/// consumed (> 0) when complete, `NEED_MORE` (0), or `-code` for an error below.
pub const NEED_MORE: i32 = 0;

errors! {
    /// Error code constants (a failed call returns `-code`).
    pub mod error;
    /// Error codes: `(code, NAME, HTTP status to answer with, one-line meaning)`.
    /// Append-only. `ERRORS[i].0 == i + 1`.
    pub const ERRORS {
        REQUEST_LINE = 1, 400, "malformed request line";
        METHOD = 2, 400, "invalid method token";
        TARGET = 3, 400, "invalid request-target";
        VERSION_UNSUPPORTED = 4, 505, "HTTP version not supported";
        VERSION = 5, 400, "malformed HTTP version";
        HEAD_TOO_LARGE = 6, 431, "request head larger than the limit";
        TARGET_TOO_LONG = 7, 414, "request-target longer than the limit";
        TOO_MANY_HEADERS = 8, 431, "more header fields than the limit";
        HEADER_NAME = 9, 400, "invalid byte in a header field name";
        HEADER_VALUE = 10, 400, "invalid byte in a header field value";
        OBS_FOLD = 11, 400, "obsolete line folding";
        SPACE_BEFORE_COLON = 12, 400, "whitespace between a field name and its colon";
        BARE_CR = 13, 400, "CR not followed by LF";
        BARE_LF = 14, 400, "LF not preceded by CR";
        CONTENT_LENGTH_AND_TRANSFER_ENCODING = 15, 400, "both Content-Length and Transfer-Encoding";
        CONTENT_LENGTH_MULTIPLE = 16, 400, "several Content-Length values";
        CONTENT_LENGTH_INVALID = 17, 400, "Content-Length is not a decimal number in range";
        TRANSFER_ENCODING_NOT_CHUNKED = 18, 400, "the last transfer coding is not chunked";
        TRANSFER_ENCODING_CHUNKED_TWICE = 19, 400, "chunked applied more than once";
        HOST_MISSING = 20, 400, "HTTP/1.1 request without Host";
        HOST_MULTIPLE = 21, 400, "more than one Host";
        HOST_INVALID = 22, 400, "invalid Host";
        STATUS_LINE = 23, 502, "malformed response status line";
        CHUNK_SIZE = 24, 400, "invalid chunk size";
        CHUNK_SIZE_OVERFLOW = 25, 400, "chunk size too large";
        CHUNK_EXTENSION = 26, 400, "invalid or oversized chunk extension";
        CHUNK_DATA_END = 27, 400, "chunk data not followed by CRLF";
        TRAILERS = 28, 400, "invalid or oversized trailer section";
        PROXY_PROTOCOL = 29, 400, "invalid PROXY protocol header";
        NOT_TLS = 30, 400, "not a TLS ClientHello";
        TLS_RECORD = 31, 400, "malformed TLS ClientHello";
        OUTPUT_TOO_SMALL = 32, 500, "the output buffer is too small";
        ICAP_REQUEST_LINE = 33, 400, "malformed ICAP request line";
        ICAP_METHOD = 34, 501, "ICAP method other than OPTIONS, REQMOD, RESPMOD";
        ICAP_URI = 35, 400, "invalid ICAP URI";
        ICAP_VERSION = 36, 505, "ICAP version other than ICAP/1.0";
        ICAP_ENCAPSULATED_MISSING = 37, 400, "ICAP REQMOD or RESPMOD without Encapsulated";
        ICAP_ENCAPSULATED = 38, 400, "invalid Encapsulated list (names, order or offsets)";
        ICAP_HEADER = 39, 400, "a repeated Encapsulated or Preview, a Preview that is not a number, or Content-Length/Transfer-Encoding in an ICAP head";
        ICAP_SECTION = 40, 400, "an encapsulated HTTP head that does not end where the next section starts";
    }
}

constants! {
    /// The chunked scanner's state: a `Uint32Array` of `chunk::SIZE` slots kept by the
    /// caller per message, zeroed at the start of each chunked body.
    pub mod chunk: usize {
        /// Scanner phase (`PHASE_*`).
        PHASE = 0,
        /// Bytes left in the current chunk's data, low 32 bits.
        REMAINING_LO = 1,
        /// … high bits.
        REMAINING_HI = 2,
        /// Bytes seen in the current size line / extension / trailer section (to bound them).
        COUNT = 3,
        /// Slots in the state array.
        SIZE = 8,
        /// The body ended (last chunk and trailer section complete).
        PHASE_DONE: u32 = 0xFF,
    }
}

constants! {
    /// The PROXY protocol result table: a `Uint32Array` of `proxy::SIZE` slots.
    /// Addresses are written as big-endian 32-bit words (IPv4 uses word 0 only).
    pub mod proxy: usize {
        /// 1 or 2.
        VERSION = 0,
        /// 1 = PROXY (use the addresses), 0 = LOCAL / UNKNOWN (use the socket's).
        COMMAND = 1,
        /// 4, 6, or 0 when the addresses are not given.
        FAMILY = 2,
        SRC_PORT = 3,
        DST_PORT = 4,
        /// Source address, 4 words.
        SRC_ADDR = 5,
        /// Destination address, 4 words.
        DST_ADDR = 9,
        /// v2 AUTHORITY TLV span (0, 0 when absent).
        AUTHORITY_START = 13,
        AUTHORITY_END = 14,
        SIZE = 16,
    }
}

constants! {
    /// The TLS ClientHello peek result table: a `Uint32Array` of `sni::SIZE` slots.
    pub mod sni: usize {
        /// Span of the server name (0, 0 when the hello carries none).
        NAME_START = 0,
        NAME_END = 1,
        /// Length of the whole first record (header included).
        RECORD_LEN = 2,
        SIZE = 4,
    }
}

constants! {
    /// Per-request bits given to `rewrite_request` / `rewrite_response` by the caller.
    pub mod rewrite: u32 {
        /// The request may keep its Upgrade (policy allows this upgrade).
        ALLOW_UPGRADE = 1 << 0,
        /// Ask the upstream to keep the connection open (adds `Connection: keep-alive` to HTTP/1.0).
        UPSTREAM_KEEP_ALIVE = 1 << 1,
        /// Response: the client asked to keep its connection (decided from the request's flags).
        CLIENT_KEEP_ALIVE = 1 << 2,
        /// Response: the client spoke HTTP/1.0.
        CLIENT_HTTP_10 = 1 << 3,
        /// Request: the next hop is a proxy (a parent): the target goes in absolute-form, an
        /// origin-form one written `http://` + the Host value + the path.
        ABSOLUTE_FORM = 1 << 4,
    }
}

const _: () = assert!(slot::HEADERS > slot::ERROR_STATUS);
const _: () = assert!(METHODS.len() == method::FIRST_WEBDAV as usize + 18);
const _: () = assert!(ERRORS.len() == error::ICAP_SECTION as usize);
// The tables are indexed by id (by code - 1 for errors): each entry must sit at its place.
const _: () = {
    let mut i = 0;
    while i < METHODS.len() {
        assert!(METHODS[i].0 as usize == i);
        i += 1;
    }
    let mut i = 0;
    while i < HEADERS.len() {
        assert!(HEADERS[i].0 as usize == i);
        i += 1;
    }
    let mut i = 0;
    while i < ERRORS.len() {
        assert!(ERRORS[i].0 as usize == i + 1);
        i += 1;
    }
};
