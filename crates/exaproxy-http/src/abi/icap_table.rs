//! The ICAP request table, its method ids and flags (declared here to keep abi.rs short;
//! re-exported by it, and rendered into abi.generated.ts with the rest).

constants! {
    /// The ICAP request table: a `Uint32Array` of `icap::SIZE` slots, filled by
    /// `parse_icap_request` (the encapsulated HTTP request head goes into a head table).
    /// Offsets are absolute positions in the caller's buffer; spans are (0, 0) when absent.
    pub mod icap: usize {
        /// in: max bytes of the ICAP head and the encapsulated heads together (0: 65536).
        LIMIT_HEAD = 0,
        /// out: `IcapMethod` id.
        METHOD = 1,
        /// out: `IcapFlag` bits.
        FLAGS = 2,
        /// out: the ICAP URI span.
        URI_START = 3,
        URI_END = 4,
        /// out: the service: the URI's path and query (from its first `/`).
        SERVICE_START = 5,
        SERVICE_END = 6,
        /// out: `Preview` bytes (valid with `IcapFlag.PREVIEW`).
        PREVIEW = 7,
        /// out: one past the ICAP head's blank line (where encapsulated offsets count from).
        HEAD_END = 8,
        /// out: the req-hdr section span.
        REQ_HDR_START = 9,
        REQ_HDR_END = 10,
        /// out: the res-hdr section span.
        RES_HDR_START = 11,
        RES_HDR_END = 12,
        /// out: where the (chunked) body starts, or the message ends with null-body (= start + consumed).
        BODY = 13,
        /// out: `X-Client-IP` value span.
        CLIENT_IP_START = 14,
        CLIENT_IP_END = 15,
        /// out: `X-Authenticated-User` value span.
        USER_START = 16,
        USER_END = 17,
        /// out: `X-Authenticated-Groups` value span.
        GROUPS_START = 18,
        GROUPS_END = 19,
        /// out, on error: offset of the offending byte.
        ERROR_POS = 20,
        /// out, on error: the ICAP status to answer with.
        ERROR_STATUS = 21,
        SIZE = 24,
    }
}

constants! {
    /// ICAP methods (RFC 3507 §4.3.2).
    pub mod icap_method: u32 {
        OPTIONS = 1,
        REQMOD = 2,
        RESPMOD = 3,
    }
}

constants! {
    /// Flag bits in `icap::FLAGS`.
    pub mod icap_flag: u32 {
        /// `Allow` lists 204.
        ALLOW_204 = 1 << 0,
        /// A `Preview` header was given.
        PREVIEW = 1 << 1,
        /// `Connection: close`.
        CONNECTION_CLOSE = 1 << 2,
        /// Encapsulated has req-hdr (parsed into the head table for REQMOD and RESPMOD).
        REQ_HDR = 1 << 3,
        /// Encapsulated has res-hdr.
        RES_HDR = 1 << 4,
        /// The message ends with a chunked req-body, res-body or opt-body at `BODY`.
        BODY = 1 << 5,
    }
}
