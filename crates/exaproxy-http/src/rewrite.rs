//! The proxy's header rewriting, compiled once into a [`Plan`]. STUB: being written.

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

/// A compiled plan.
#[derive(Debug, Default)]
pub struct Plan {
    _options: PlanOptions,
}

impl Plan {
    pub fn new(options: &PlanOptions) -> Plan {
        Plan { _options: options.clone() }
    }
}

/// Writes the request head to send upstream into `out`. Returns bytes written or `-code`.
pub fn rewrite_request(_plan: &Plan, _buf: &[u8], _table: &[u32], _out: &mut [u8], _client_ip: &[u8], _bits: u32) -> i32 {
    0
}

/// Writes the response head to send to the client into `out`, and sets
/// `flag::KEEP_ALIVE` in the table when the client connection stays open.
pub fn rewrite_response(_plan: &Plan, _buf: &[u8], _table: &mut [u32], _out: &mut [u8], _bits: u32) -> i32 {
    0
}
