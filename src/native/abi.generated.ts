// Generated from crates/exaproxy-http/src/abi.rs by scripts/gen-abi.mjs (npm run build). DO NOT EDIT:
// change abi.rs and run `node scripts/gen-abi.mjs`; `npm run check` fails while this file differs.

/** Slot indices of the head table. */
export const Slot = {
  /** in: max head bytes (over it: 431). */
  LIMIT_HEAD: 0,
  /** in: max request-target bytes (over it: 414). */
  LIMIT_TARGET: 1,
  /** in: max header lines (over it: 431; also capped by the table length). */
  LIMIT_HEADERS: 2,
  /** out: `Flag` bits. */
  FLAGS: 3,
  /** out: `Method` id (request); `Method.OTHER` for an extension method. */
  METHOD: 4,
  /** out: minor version, 0 or 1. */
  VERSION: 5,
  /** out: status code (response). */
  STATUS: 6,
  /** out, request: first byte of the method (after ignored leading CRLFs). */
  METHOD_START: 7,
  /** out, request: one past the method token. */
  METHOD_END: 8,
  /** out: request-target span. */
  TARGET_START: 9,
  TARGET_END: 10,
  /** out: `Form` of the request-target. */
  FORM: 11,
  /** out: `Scheme` of an absolute-form target. */
  SCHEME: 12,
  /** out: host span: the target's authority host, else the Host header's; IPv6 literals without their brackets. */
  HOST_START: 13,
  HOST_END: 14,
  /** out: explicit port, or 0 when none was given. */
  PORT: 15,
  /** out: path-and-query span (origin-form part); empty means "/" (for CONNECT and `*` it is empty). */
  PATH_START: 16,
  PATH_END: 17,
  /** out, response: reason-phrase span. */
  REASON_START: 18,
  REASON_END: 19,
  /** out: Content-Length, low 32 bits (valid with `Flag.CONTENT_LENGTH`). */
  LENGTH_LO: 20,
  /** out: Content-Length, high bits (a length is at most 2^53 - 1). */
  LENGTH_HI: 21,
  /** out: number of header records that follow. */
  HEADER_COUNT: 22,
  /** out: one past the blank line that ends the head (= start + consumed). */
  HEAD_END: 23,
  /** out, on error: offset of the offending byte. */
  ERROR_POS: 24,
  /** out, on error: the HTTP status to answer with. */
  ERROR_STATUS: 25,
  /** out, with `Flag.CHUNKED_PARAMETERS`: one past the `chunked` token, where the rewritten head cuts its Transfer-Encoding line. */
  CHUNKED_END: 26,
  /** out, `read_request` / `read_response`: bytes of the rewritten head written to `out`; 0 when it was not written (the head is incomplete or invalid, or did not fit). */
  REWRITTEN: 27,
  /** First header record. */
  HEADERS: 32,
} as const;

/** Fields of one header record, relative to `slot::HEADERS + record::SIZE * i`. */
export const Record = {
  NAME_START: 0,
  NAME_END: 1,
  VALUE_START: 2,
  VALUE_END: 3,
  /** `Header` id of the name (0: any other name). */
  NAME_ID: 4,
  /** Slots per header record. */
  SIZE: 5,
} as const;

/** Flag bits in `slot::FLAGS`. */
export const Flag = {
  /** HTTP/1.1 (else HTTP/1.0). */
  VERSION_11: 1,
  /** A valid Content-Length was given (`LENGTH_LO`/`LENGTH_HI`). */
  CONTENT_LENGTH: 2,
  /** The body is chunked (Transfer-Encoding ends in `chunked`). */
  CHUNKED: 4,
  /** `Connection: close` (or `Proxy-Connection: close`). */
  CONNECTION_CLOSE: 8,
  /** `Connection: keep-alive` (or `Proxy-Connection: keep-alive`). */
  CONNECTION_KEEP_ALIVE: 16,
  /** `Connection` lists `upgrade`. */
  CONNECTION_UPGRADE: 32,
  /** An `Upgrade` header is present. */
  UPGRADE: 64,
  /** `Expect: 100-continue`. */
  EXPECT_CONTINUE: 128,
  /** An `Expect` header other than `100-continue`. */
  EXPECT_OTHER: 256,
  /** A `Host` header is present. */
  HOST_HEADER: 512,
  /** The message has no body at all (a request without CL/TE; a response to HEAD, 1xx, 204, 304). */
  BODY_NONE: 1024,
  /** Response: the body runs until the server closes the connection (RFC 9112 §6.3 rule 8). */
  BODY_UNTIL_CLOSE: 2048,
  /** Response: after this head the connection becomes a tunnel (2xx to CONNECT, 101). */
  TUNNEL: 4096,
  /** Request: the head is a complete WebSocket/other upgrade request (Connection: upgrade + Upgrade). */
  IS_UPGRADE: 8192,
  /** Output of `rewrite_response`: the client connection stays open after this response. */
  KEEP_ALIVE: 16384,
  /** Response: an interim 1xx response (other than 101); the final response follows. */
  INTERIM: 32768,
  /** The final `chunked` coding carried parameters (`chunked;custom_param`): the rewritten head forwards the Transfer-Encoding line cut at `slot::CHUNKED_END`. */
  CHUNKED_PARAMETERS: 65536,
} as const;

/** Request-target forms (RFC 9112 §3.2). */
export const Form = {
  ORIGIN: 0,
  ABSOLUTE: 1,
  AUTHORITY: 2,
  ASTERISK: 3,
} as const;

/** Schemes of an absolute-form target. */
export const Scheme = {
  NONE: 0,
  HTTP: 1,
  HTTPS: 2,
  /** Any other syntactically valid scheme (`ftp:`, …): policy decides. */
  OTHER: 3,
} as const;

/** Method ids; `METHODS` gives each one's exact token. */
export const Method = {
  OTHER: 0,
  GET: 1,
  HEAD: 2,
  POST: 3,
  PUT: 4,
  DELETE: 5,
  CONNECT: 6,
  OPTIONS: 7,
  TRACE: 8,
  PATCH: 9,
  BCOPY: 10,
  BDELETE: 11,
  BMOVE: 12,
  BPROPFIND: 13,
  BPROPPATCH: 14,
  COPY: 15,
  LOCK: 16,
  MKCOL: 17,
  MOVE: 18,
  NOTIFY: 19,
  POLL: 20,
  PROPFIND: 21,
  PROPPATCH: 22,
  SEARCH: 23,
  SUBSCRIBE: 24,
  UNLOCK: 25,
  UNSUBSCRIBE: 26,
  X_MS_ENUMATTS: 27,
} as const;

export const METHOD_NAMES: readonly string[] = ['OTHER', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'BCOPY', 'BDELETE', 'BMOVE', 'BPROPFIND', 'BPROPPATCH', 'COPY', 'LOCK', 'MKCOL', 'MOVE', 'NOTIFY', 'POLL', 'PROPFIND', 'PROPPATCH', 'SEARCH', 'SUBSCRIBE', 'UNLOCK', 'UNSUBSCRIBE', 'X-MS-ENUMATTS'];

/** Well-known header name ids, as written in `record::NAME_ID`. */
export const Header = {
  OTHER: 0,
  HOST: 1,
  CONTENT_LENGTH: 2,
  TRANSFER_ENCODING: 3,
  CONNECTION: 4,
  KEEP_ALIVE: 5,
  PROXY_CONNECTION: 6,
  PROXY_AUTHENTICATE: 7,
  PROXY_AUTHORIZATION: 8,
  TE: 9,
  TRAILER: 10,
  UPGRADE: 11,
  VIA: 12,
  X_FORWARDED_FOR: 13,
  EXPECT: 14,
  MAX_FORWARDS: 15,
  FORWARDED: 16,
  DATE: 17,
  SERVER: 18,
  CONTENT_TYPE: 19,
  USER_AGENT: 20,
  X_PROXY_VERSION: 21,
  REFERER: 22,
  LOCATION: 23,
  COOKIE: 24,
  SET_COOKIE: 25,
  SEC_WEBSOCKET_KEY: 26,
  X_REAL_IP: 27,
} as const;

export const HEADER_NAMES: readonly string[] = ['other', 'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'via', 'x-forwarded-for', 'expect', 'max-forwards', 'forwarded', 'date', 'server', 'content-type', 'user-agent', 'x-proxy-version', 'referer', 'location', 'cookie', 'set-cookie', 'sec-websocket-key', 'x-real-ip'];

export const NEED_MORE = 0;

/** Error code constants (a failed call returns `-code`). */
export const ErrorCode = {
  /** malformed request line */
  REQUEST_LINE: 1,
  /** invalid method token */
  METHOD: 2,
  /** invalid request-target */
  TARGET: 3,
  /** HTTP version not supported */
  VERSION_UNSUPPORTED: 4,
  /** malformed HTTP version */
  VERSION: 5,
  /** request head larger than the limit */
  HEAD_TOO_LARGE: 6,
  /** request-target longer than the limit */
  TARGET_TOO_LONG: 7,
  /** more header fields than the limit */
  TOO_MANY_HEADERS: 8,
  /** invalid byte in a header field name */
  HEADER_NAME: 9,
  /** invalid byte in a header field value */
  HEADER_VALUE: 10,
  /** obsolete line folding */
  OBS_FOLD: 11,
  /** whitespace between a field name and its colon */
  SPACE_BEFORE_COLON: 12,
  /** CR not followed by LF */
  BARE_CR: 13,
  /** LF not preceded by CR */
  BARE_LF: 14,
  /** both Content-Length and Transfer-Encoding */
  CONTENT_LENGTH_AND_TRANSFER_ENCODING: 15,
  /** several Content-Length values */
  CONTENT_LENGTH_MULTIPLE: 16,
  /** Content-Length is not a decimal number in range */
  CONTENT_LENGTH_INVALID: 17,
  /** the last transfer coding is not chunked */
  TRANSFER_ENCODING_NOT_CHUNKED: 18,
  /** chunked applied more than once */
  TRANSFER_ENCODING_CHUNKED_TWICE: 19,
  /** HTTP/1.1 request without Host */
  HOST_MISSING: 20,
  /** more than one Host */
  HOST_MULTIPLE: 21,
  /** invalid Host */
  HOST_INVALID: 22,
  /** malformed response status line */
  STATUS_LINE: 23,
  /** invalid chunk size */
  CHUNK_SIZE: 24,
  /** chunk size too large */
  CHUNK_SIZE_OVERFLOW: 25,
  /** invalid or oversized chunk extension */
  CHUNK_EXTENSION: 26,
  /** chunk data not followed by CRLF */
  CHUNK_DATA_END: 27,
  /** invalid or oversized trailer section */
  TRAILERS: 28,
  /** invalid PROXY protocol header */
  PROXY_PROTOCOL: 29,
  /** not a TLS ClientHello */
  NOT_TLS: 30,
  /** malformed TLS ClientHello */
  TLS_RECORD: 31,
  /** the output buffer is too small */
  OUTPUT_TOO_SMALL: 32,
  /** malformed ICAP request line */
  ICAP_REQUEST_LINE: 33,
  /** ICAP method other than OPTIONS, REQMOD, RESPMOD */
  ICAP_METHOD: 34,
  /** invalid ICAP URI */
  ICAP_URI: 35,
  /** ICAP version other than ICAP/1.0 */
  ICAP_VERSION: 36,
  /** ICAP REQMOD or RESPMOD without Encapsulated */
  ICAP_ENCAPSULATED_MISSING: 37,
  /** invalid Encapsulated list (names, order or offsets) */
  ICAP_ENCAPSULATED: 38,
  /** a repeated Encapsulated or Preview, a Preview that is not a number, or Content-Length/Transfer-Encoding in an ICAP head */
  ICAP_HEADER: 39,
  /** an encapsulated HTTP head that does not end where the next section starts */
  ICAP_SECTION: 40,
} as const;

/** Indexed by error code: [name, HTTP status, meaning]. */
export const ERROR_INFO: readonly (readonly [string, number, string])[] = [
  ['NONE', 0, ''],
  ['REQUEST_LINE', 400, 'malformed request line'],
  ['METHOD', 400, 'invalid method token'],
  ['TARGET', 400, 'invalid request-target'],
  ['VERSION_UNSUPPORTED', 505, 'HTTP version not supported'],
  ['VERSION', 400, 'malformed HTTP version'],
  ['HEAD_TOO_LARGE', 431, 'request head larger than the limit'],
  ['TARGET_TOO_LONG', 414, 'request-target longer than the limit'],
  ['TOO_MANY_HEADERS', 431, 'more header fields than the limit'],
  ['HEADER_NAME', 400, 'invalid byte in a header field name'],
  ['HEADER_VALUE', 400, 'invalid byte in a header field value'],
  ['OBS_FOLD', 400, 'obsolete line folding'],
  ['SPACE_BEFORE_COLON', 400, 'whitespace between a field name and its colon'],
  ['BARE_CR', 400, 'CR not followed by LF'],
  ['BARE_LF', 400, 'LF not preceded by CR'],
  ['CONTENT_LENGTH_AND_TRANSFER_ENCODING', 400, 'both Content-Length and Transfer-Encoding'],
  ['CONTENT_LENGTH_MULTIPLE', 400, 'several Content-Length values'],
  ['CONTENT_LENGTH_INVALID', 400, 'Content-Length is not a decimal number in range'],
  ['TRANSFER_ENCODING_NOT_CHUNKED', 400, 'the last transfer coding is not chunked'],
  ['TRANSFER_ENCODING_CHUNKED_TWICE', 400, 'chunked applied more than once'],
  ['HOST_MISSING', 400, 'HTTP/1.1 request without Host'],
  ['HOST_MULTIPLE', 400, 'more than one Host'],
  ['HOST_INVALID', 400, 'invalid Host'],
  ['STATUS_LINE', 502, 'malformed response status line'],
  ['CHUNK_SIZE', 400, 'invalid chunk size'],
  ['CHUNK_SIZE_OVERFLOW', 400, 'chunk size too large'],
  ['CHUNK_EXTENSION', 400, 'invalid or oversized chunk extension'],
  ['CHUNK_DATA_END', 400, 'chunk data not followed by CRLF'],
  ['TRAILERS', 400, 'invalid or oversized trailer section'],
  ['PROXY_PROTOCOL', 400, 'invalid PROXY protocol header'],
  ['NOT_TLS', 400, 'not a TLS ClientHello'],
  ['TLS_RECORD', 400, 'malformed TLS ClientHello'],
  ['OUTPUT_TOO_SMALL', 500, 'the output buffer is too small'],
  ['ICAP_REQUEST_LINE', 400, 'malformed ICAP request line'],
  ['ICAP_METHOD', 501, 'ICAP method other than OPTIONS, REQMOD, RESPMOD'],
  ['ICAP_URI', 400, 'invalid ICAP URI'],
  ['ICAP_VERSION', 505, 'ICAP version other than ICAP/1.0'],
  ['ICAP_ENCAPSULATED_MISSING', 400, 'ICAP REQMOD or RESPMOD without Encapsulated'],
  ['ICAP_ENCAPSULATED', 400, 'invalid Encapsulated list (names, order or offsets)'],
  ['ICAP_HEADER', 400, 'a repeated Encapsulated or Preview, a Preview that is not a number, or Content-Length/Transfer-Encoding in an ICAP head'],
  ['ICAP_SECTION', 400, 'an encapsulated HTTP head that does not end where the next section starts'],
];

/** The chunked scanner's state: a `Uint32Array` of `chunk::SIZE` slots kept by the caller per message, zeroed at the start of each chunked body. */
export const Chunk = {
  /** Scanner phase (`PHASE_*`). */
  PHASE: 0,
  /** Bytes left in the current chunk's data, low 32 bits. */
  REMAINING_LO: 1,
  /** … high bits. */
  REMAINING_HI: 2,
  /** Bytes seen in the current size line / extension / trailer section (to bound them). */
  COUNT: 3,
  /** Slots in the state array. */
  SIZE: 8,
  /** The body ended (last chunk and trailer section complete). */
  PHASE_DONE: 255,
} as const;

/** The PROXY protocol result table: a `Uint32Array` of `proxy::SIZE` slots. Addresses are written as big-endian 32-bit words (IPv4 uses word 0 only). */
export const Proxy = {
  /** 1 or 2. */
  VERSION: 0,
  /** 1 = PROXY (use the addresses), 0 = LOCAL / UNKNOWN (use the socket's). */
  COMMAND: 1,
  /** 4, 6, or 0 when the addresses are not given. */
  FAMILY: 2,
  SRC_PORT: 3,
  DST_PORT: 4,
  /** Source address, 4 words. */
  SRC_ADDR: 5,
  /** Destination address, 4 words. */
  DST_ADDR: 9,
  /** v2 AUTHORITY TLV span (0, 0 when absent). */
  AUTHORITY_START: 13,
  AUTHORITY_END: 14,
  SIZE: 16,
} as const;

/** The TLS ClientHello peek result table: a `Uint32Array` of `sni::SIZE` slots. */
export const Sni = {
  /** Span of the server name (0, 0 when the hello carries none). */
  NAME_START: 0,
  NAME_END: 1,
  /** Length of the whole first record (header included). */
  RECORD_LEN: 2,
  SIZE: 4,
} as const;

/** Per-request bits given to `rewrite_request` / `rewrite_response` by the caller. */
export const Rewrite = {
  /** The request may keep its Upgrade (policy allows this upgrade). */
  ALLOW_UPGRADE: 1,
  /** Ask the upstream to keep the connection open (adds `Connection: keep-alive` to HTTP/1.0). */
  UPSTREAM_KEEP_ALIVE: 2,
  /** Response: the client asked to keep its connection (decided from the request's flags). */
  CLIENT_KEEP_ALIVE: 4,
  /** Response: the client spoke HTTP/1.0. */
  CLIENT_HTTP_10: 8,
  /** Request: the next hop is a proxy (a parent): the target goes in absolute-form, an origin-form one written `http://` + the Host value + the path. */
  ABSOLUTE_FORM: 16,
} as const;

/** The ICAP request table: a `Uint32Array` of `icap::SIZE` slots, filled by `parse_icap_request` (the encapsulated HTTP request head goes into a head table). Offsets are absolute positions in the caller's buffer; spans are (0, 0) when absent. */
export const Icap = {
  /** in: max bytes of the ICAP head and the encapsulated heads together (0: 65536). */
  LIMIT_HEAD: 0,
  /** out: `IcapMethod` id. */
  METHOD: 1,
  /** out: `IcapFlag` bits. */
  FLAGS: 2,
  /** out: the ICAP URI span. */
  URI_START: 3,
  URI_END: 4,
  /** out: the service: the URI's path and query (from its first `/`). */
  SERVICE_START: 5,
  SERVICE_END: 6,
  /** out: `Preview` bytes (valid with `IcapFlag.PREVIEW`). */
  PREVIEW: 7,
  /** out: one past the ICAP head's blank line (where encapsulated offsets count from). */
  HEAD_END: 8,
  /** out: the req-hdr section span. */
  REQ_HDR_START: 9,
  REQ_HDR_END: 10,
  /** out: the res-hdr section span. */
  RES_HDR_START: 11,
  RES_HDR_END: 12,
  /** out: where the (chunked) body starts, or the message ends with null-body (= start + consumed). */
  BODY: 13,
  /** out: `X-Client-IP` value span. */
  CLIENT_IP_START: 14,
  CLIENT_IP_END: 15,
  /** out: `X-Authenticated-User` value span. */
  USER_START: 16,
  USER_END: 17,
  /** out: `X-Authenticated-Groups` value span. */
  GROUPS_START: 18,
  GROUPS_END: 19,
  /** out, on error: offset of the offending byte. */
  ERROR_POS: 20,
  /** out, on error: the ICAP status to answer with. */
  ERROR_STATUS: 21,
  SIZE: 24,
} as const;

/** ICAP methods (RFC 3507 §4.3.2). */
export const IcapMethod = {
  OPTIONS: 1,
  REQMOD: 2,
  RESPMOD: 3,
} as const;

/** Flag bits in `icap::FLAGS`. */
export const IcapFlag = {
  /** `Allow` lists 204. */
  ALLOW_204: 1,
  /** A `Preview` header was given. */
  PREVIEW: 2,
  /** `Connection: close`. */
  CONNECTION_CLOSE: 4,
  /** Encapsulated has req-hdr (parsed into the head table for REQMOD and RESPMOD). */
  REQ_HDR: 8,
  /** Encapsulated has res-hdr. */
  RES_HDR: 16,
  /** The message ends with a chunked req-body, res-body or opt-body at `BODY`. */
  BODY: 32,
} as const;
