//! `rewrite_request` / `rewrite_response`: golden outputs on tables made by the
//! real parsers, every output re-parsed, every too-small output buffer tried,
//! and a mutation test of the "a parsed head always rewrites to a parsable
//! head" property.

mod common;
use common::Rng;

use exaproxy_http::abi::{error, flag, method, record, rewrite, slot};
use exaproxy_http::{
    parse_request, parse_response, read_request, read_response, rewrite_request, rewrite_response,
    ForwardedFor, Plan, PlanOptions,
};

const TABLE: usize = slot::HEADERS + record::SIZE * 100;
const TOO_SMALL: i32 = -(error::OUTPUT_TOO_SMALL as i32);
const KEEP: u32 = rewrite::UPSTREAM_KEEP_ALIVE;

fn plan(edit: impl FnOnce(&mut PlanOptions)) -> Plan {
    let mut options = PlanOptions {
        via: Some("exaproxy".into()),
        ..PlanOptions::default()
    };
    edit(&mut options);
    assert_eq!(options.validate(), Ok(()));
    Plan::new(&options)
}

fn parsed_request(buf: &[u8], start: usize) -> Vec<u32> {
    let mut table = vec![0u32; TABLE];
    let n = parse_request(buf, start, &mut table);
    assert!(
        n > 0,
        "parse_request gave {n} for {:?}",
        String::from_utf8_lossy(buf)
    );
    table
}

/// Rewrites the request that starts at `start` in `buf`, checks that the output
/// parses again and that every shorter output buffer is refused cleanly.
fn request_at(plan: &Plan, buf: &[u8], start: usize, ip: &str, bits: u32) -> String {
    let table = parsed_request(buf, start);
    let mut out = vec![0u8; 8192];
    let n = rewrite_request(plan, buf, &table, &mut out, ip.as_bytes(), bits);
    assert!(n > 0, "rewrite_request gave {n}");
    let n = n as usize;
    for len in 0..n {
        let mut short = vec![0u8; len];
        assert_eq!(
            rewrite_request(plan, buf, &table, &mut short, ip.as_bytes(), bits),
            TOO_SMALL,
            "out of {len} bytes"
        );
    }
    let mut exact = vec![0u8; n];
    assert_eq!(
        rewrite_request(plan, buf, &table, &mut exact, ip.as_bytes(), bits),
        n as i32
    );
    // read_request: the same parse and the same head, in one call.
    let mut both = vec![0u32; TABLE];
    let mut joined = vec![0u8; n];
    let consumed = read_request(
        plan,
        buf,
        start,
        &mut both,
        &mut joined,
        ip.as_bytes(),
        bits,
    );
    assert_eq!(consumed as u32, table[slot::HEAD_END] - start as u32);
    assert_eq!(
        both[slot::REWRITTEN] as usize,
        n,
        "read_request wrote the same length"
    );
    assert_eq!(joined, exact, "read_request wrote the same head");
    assert_eq!(both[..slot::REWRITTEN], table[..slot::REWRITTEN]);
    let mut short = vec![0u8; n - 1];
    assert_eq!(
        read_request(plan, buf, start, &mut both, &mut short, ip.as_bytes(), bits),
        consumed
    );
    assert_eq!(
        both[slot::REWRITTEN],
        0,
        "a head that does not fit is not written"
    );
    assert_eq!(exact, out[..n]);
    let mut again = vec![0u32; TABLE];
    assert_eq!(
        parse_request(&out[..n], 0, &mut again),
        n as i32,
        "the output must parse"
    );
    String::from_utf8(out[..n].to_vec()).unwrap()
}

fn request(plan: &Plan, input: &str, ip: &str, bits: u32) -> String {
    request_at(plan, input.as_bytes(), 0, ip, bits)
}

/// Rewrites a response to a request of `request_method`; returns the output
/// and whether the client connection stays open.
fn response(plan: &Plan, input: &str, request_method: u32, bits: u32) -> (String, bool) {
    let buf = input.as_bytes();
    let mut table = vec![0u32; TABLE];
    let consumed = parse_response(buf, 0, &mut table, request_method);
    assert!(consumed > 0, "parse_response gave {consumed} for {input:?}");
    let flags_before = table[slot::FLAGS];
    let mut out = vec![0u8; 8192];
    let n = rewrite_response(plan, buf, &mut table, &mut out, bits);
    assert!(n > 0, "rewrite_response gave {n}");
    let n = n as usize;
    let keep_alive = table[slot::FLAGS] & flag::KEEP_ALIVE != 0;
    // read_response: the same parse and the same head, in one call.
    let mut both = vec![0u32; TABLE];
    let mut joined = vec![0u8; 8192];
    assert_eq!(
        read_response(plan, buf, 0, &mut both, request_method, &mut joined, bits),
        consumed
    );
    assert_eq!(
        both[slot::REWRITTEN] as usize,
        n,
        "read_response wrote the same length"
    );
    assert_eq!(joined[..n], out[..n], "read_response wrote the same head");
    assert_eq!(
        both[..slot::REWRITTEN],
        table[..slot::REWRITTEN],
        "the same slots and flags"
    );
    let mut short = vec![0u8; n - 1];
    assert_eq!(
        read_response(plan, buf, 0, &mut both, request_method, &mut short, bits),
        consumed
    );
    assert_eq!(
        both[slot::REWRITTEN],
        0,
        "a head that does not fit is not written"
    );
    assert_eq!(
        table[slot::FLAGS] & !flag::KEEP_ALIVE,
        flags_before & !flag::KEEP_ALIVE,
        "only KEEP_ALIVE changes"
    );
    for len in 0..n {
        let mut short = vec![0u8; len];
        assert_eq!(
            rewrite_response(plan, buf, &mut table, &mut short, bits),
            TOO_SMALL,
            "out of {len} bytes"
        );
    }
    // The decision is the same when the flag was set beforehand (it is cleared).
    table[slot::FLAGS] |= flag::KEEP_ALIVE;
    assert_eq!(
        rewrite_response(plan, buf, &mut table, &mut out, bits),
        n as i32
    );
    assert_eq!(table[slot::FLAGS] & flag::KEEP_ALIVE != 0, keep_alive);
    let mut again = vec![0u32; TABLE];
    assert_eq!(
        parse_response(&out[..n], 0, &mut again, request_method),
        n as i32,
        "the output must parse"
    );
    (String::from_utf8(out[..n].to_vec()).unwrap(), keep_alive)
}

// ---------------------------------------------------------------------------
// Requests

#[test]
fn browser_request_through_a_forward_proxy() {
    let input = "GET http://example.com/path/page.html?q=1&r=%20 HTTP/1.1\r\n\
        Host: example.com\r\n\
        User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n\
        Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
        Accept-Language: en-US,en;q=0.5\r\n\
        Accept-Encoding: gzip, deflate\r\n\
        Proxy-Connection: keep-alive\r\n\
        Connection: keep-alive\r\n\
        Upgrade-Insecure-Requests: 1\r\n\
        Cookie: a=b; c=d\r\n\
        \r\n";
    assert_eq!(
        request(&plan(|_| {}), input, "192.0.2.7", KEEP),
        "GET /path/page.html?q=1&r=%20 HTTP/1.1\r\n\
        Host: example.com\r\n\
        User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n\
        Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
        Accept-Language: en-US,en;q=0.5\r\n\
        Accept-Encoding: gzip, deflate\r\n\
        Upgrade-Insecure-Requests: 1\r\n\
        Cookie: a=b; c=d\r\n\
        Via: 1.1 exaproxy\r\n\
        X-Forwarded-For: 192.0.2.7\r\n\
        \r\n"
    );
}

#[test]
fn curl_request_through_a_forward_proxy() {
    // Captured from `curl -x http://127.0.0.1:<port> -U user:pass 'http://example.test/a/b?c=d'`
    // (curl 7.88.1).
    let input = "GET http://example.test/a/b?c=d HTTP/1.1\r\nHost: example.test\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n";
    assert_eq!(
        request(&plan(|_| {}), input, "127.0.0.1", KEEP),
        "GET /a/b?c=d HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nVia: 1.1 exaproxy\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n"
    );
}

#[test]
fn reverse_proxy_request_keeps_its_target_and_host() {
    let input = "POST /api/v1/items?x=1 HTTP/1.1\r\nHost: backend.test:8080\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    // The body is not part of the head: the rewrite stops at the blank line.
    assert_eq!(
        request(&plan(|o| o.via = None), input, "10.1.2.3", KEEP),
        "POST /api/v1/items?x=1 HTTP/1.1\r\nHost: backend.test:8080\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n"
    );
}

#[test]
fn absolute_form_targets() {
    let p = plan(|o| o.via = None);
    let cases = [
        // Host replaced by the target's authority, port as written.
        (
            "GET http://a.test:8080 HTTP/1.1\r\nhost: b.test\r\nX: 1\r\n\r\n",
            "GET / HTTP/1.1\r\nhost: a.test:8080\r\nX: 1\r\n\r\n",
        ),
        // A query right after the authority, a fragment dropped.
        (
            "GET http://a.test?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "GET /?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n",
        ),
        (
            "GET http://a.test/p#frag HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "GET /p HTTP/1.1\r\nHost: a.test\r\n\r\n",
        ),
        // IPv6 keeps its brackets in Host.
        (
            "GET http://[2001:db8::1]:8080/x HTTP/1.1\r\nHost: other\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n",
        ),
        (
            "GET http://[::1]/ HTTP/1.1\r\nHost: [::1]\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n",
        ),
        // OPTIONS to a bare authority becomes `OPTIONS *` (RFC 9112 §3.2.4).
        (
            "OPTIONS http://www.example.org:8001 HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
        ),
        (
            "OPTIONS http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "OPTIONS / HTTP/1.1\r\nHost: a.test\r\n\r\n",
        ),
        // Other schemes and upper case are the policy's business: same rewrite.
        (
            "GET HTTPS://A.Test/ HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: A.Test\r\n\r\n",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(request(&p, input, "", KEEP), expected, "{input:?}");
    }
}

#[test]
fn to_a_parent_proxy_the_target_stays_absolute() {
    let p = plan(|o| o.via = None);
    let bits = KEEP | rewrite::ABSOLUTE_FORM;
    let cases = [
        // Absolute-form kept (the fragment still dropped); Host still the target's authority;
        // the client's Proxy-Authorization never goes on.
        (
            "GET http://a.test:8080/p?q#frag HTTP/1.1\r\nHost: b.test\r\nProxy-Authorization: Basic eDp5\r\n\r\n",
            "GET http://a.test:8080/p?q HTTP/1.1\r\nHost: a.test:8080\r\n\r\n",
        ),
        (
            "OPTIONS http://www.example.org:8001 HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
            "OPTIONS http://www.example.org:8001 HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
        ),
        // Origin-form (an intercepted request): http:// and the Host value in front.
        (
            "GET /x?y HTTP/1.1\r\nHost: c.test:81\r\n\r\n",
            "GET http://c.test:81/x?y HTTP/1.1\r\nHost: c.test:81\r\n\r\n",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(request(&p, input, "", bits), expected, "{input:?}");
    }
}

#[test]
fn http_10_without_host_gets_one_and_keep_alive() {
    let input = "GET http://a.test/x HTTP/1.0\r\nAccept: */*\r\n\r\n";
    assert_eq!(
        request(&plan(|_| {}), input, "127.0.0.1", KEEP),
        "GET /x HTTP/1.0\r\nHost: a.test\r\nAccept: */*\r\nConnection: keep-alive\r\nVia: 1.0 exaproxy\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n"
    );
    // Without UPSTREAM_KEEP_ALIVE an HTTP/1.0 request closes by default: nothing added.
    assert_eq!(
        request(&plan(|o| o.via = None), input, "", 0),
        "GET /x HTTP/1.0\r\nHost: a.test\r\nAccept: */*\r\n\r\n"
    );
    // An HTTP/1.1 request that will not be reused says so.
    assert_eq!(
        request(
            &plan(|o| o.via = None),
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "",
            0
        ),
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn hop_by_hop_fields_are_removed() {
    let input = "GET / HTTP/1.1\r\n\
        Host: a.test\r\n\
        Connection: close, X-Foo\r\n\
        X-Foo: 1\r\n\
        Keep-Alive: timeout=5\r\n\
        x-bar: 2\r\n\
        TE: trailers\r\n\
        Trailer: Expires\r\n\
        Upgrade: h2c\r\n\
        Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\
        Proxy-Authenticate: Basic\r\n\
        Proxy-Connection: keep-alive\r\n\
        CONNECTION:  X-BAR ,, keep-alive\r\n\
        X-Keep: 3\r\n\
        X-Foo-Bar: 4\r\n\
        \r\n";
    assert_eq!(
        request(&plan(|o| o.via = None), input, "", KEEP),
        "GET / HTTP/1.1\r\nHost: a.test\r\nX-Keep: 3\r\nX-Foo-Bar: 4\r\n\r\n"
    );
    // Proxy-Authorization may be passed on.
    assert_eq!(
        request(&plan(|o| { o.via = None; o.pass_proxy_authorization = true }), input, "", KEEP),
        "GET / HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nX-Keep: 3\r\nX-Foo-Bar: 4\r\n\r\n"
    );
}

#[test]
fn connection_cannot_remove_framing_or_host() {
    let input = "POST /f HTTP/1.1\r\nHost: a.test\r\nConnection: Content-Length, host, Transfer-Encoding, X-A\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc";
    assert_eq!(
        request(&plan(|o| o.via = None), input, "", KEEP),
        "POST /f HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\n"
    );
    let chunked = "POST /f HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n";
    assert_eq!(
        request(&plan(|o| o.via = None), chunked, "", KEEP),
        "POST /f HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
}

#[test]
fn chunked_parameters_are_cut_from_the_forwarded_transfer_encoding() {
    let p = plan(|o| o.via = None);
    let input = "POST /f HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip\r\nX-A: 1\r\nTransfer-Encoding: chunked ; custom_param;q=\"a, b\" \r\nX-B: 2\r\n\r\n";
    assert_eq!(
        request(&p, input, "", KEEP),
        "POST /f HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n"
    );
    let response_head =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;custom_param\r\nX-B: 2\r\n\r\n";
    assert_eq!(
        response(&p, response_head, method::GET, CLIENT_KEEP).0,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n"
    );
}

#[test]
fn forwarded_for_modes() {
    let input = "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nAccept: */*\r\nx-forwarded-for: 10.0.0.2\r\n\r\n";
    let with = |mode| {
        plan(|o| {
            o.via = None;
            o.forwarded_for = mode
        })
    };
    assert_eq!(
        request(&with(ForwardedFor::Append), input, "192.0.2.1", KEEP),
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nAccept: */*\r\nx-forwarded-for: 10.0.0.2\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n"
    );
    assert_eq!(
        request(&with(ForwardedFor::Replace), input, "2001:db8::7", KEEP),
        "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nX-Forwarded-For: 2001:db8::7\r\n\r\n"
    );
    assert_eq!(
        request(&with(ForwardedFor::Leave), input, "192.0.2.1", KEEP),
        input
    );
    // No client address: nothing to add (Replace still removes).
    assert_eq!(request(&with(ForwardedFor::Append), input, "", KEEP), input);
    assert_eq!(
        request(&with(ForwardedFor::Replace), input, "", KEEP),
        "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"
    );
    // A client address that would break the head is refused, not written.
    let table = parsed_request(input.as_bytes(), 0);
    let mut out = [0u8; 512];
    for ip in ["1.2.3.4\r\nX-Evil: 1", "1.2.3.4 ", "\0"] {
        assert_eq!(
            rewrite_request(
                &with(ForwardedFor::Append),
                input.as_bytes(),
                &table,
                &mut out,
                ip.as_bytes(),
                0
            ),
            -(error::HEADER_VALUE as i32)
        );
    }
}

#[test]
fn websocket_upgrade_allowed_or_not() {
    let input = "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Ws\r\nX-Ws: 1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let p = plan(|o| o.via = None);
    assert_eq!(
        request(&p, input, "", rewrite::ALLOW_UPGRADE | KEEP),
        "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nConnection: upgrade\r\n\r\n"
    );
    assert_eq!(
        request(&p, input, "", KEEP),
        "GET /chat HTTP/1.1\r\nHost: ws.test\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    // ALLOW_UPGRADE without an upgrade request changes nothing.
    let plain = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n";
    assert_eq!(
        request(&p, plain, "", rewrite::ALLOW_UPGRADE | KEEP),
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    );
}

#[test]
fn max_forwards() {
    let p = plan(|o| o.via = None);
    let cases = [
        (
            "OPTIONS * HTTP/1.1\r\nHost: a\r\nMax-Forwards: 10\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: a\r\nMax-Forwards: 9\r\n\r\n",
        ),
        (
            "TRACE / HTTP/1.1\r\nHost: a\r\nmax-forwards: 1\r\nX: y\r\n\r\n",
            "TRACE / HTTP/1.1\r\nHost: a\r\nmax-forwards: 0\r\nX: y\r\n\r\n",
        ),
        (
            "TRACE / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0100\r\n\r\n",
            "TRACE / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 99\r\n\r\n",
        ),
        // Zero is the caller's to answer; non-numbers and other methods are left alone.
        (
            "OPTIONS / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\n\r\n",
            "OPTIONS / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\n\r\n",
        ),
        (
            "OPTIONS / HTTP/1.1\r\nHost: a\r\nMax-Forwards: ten\r\n\r\n",
            "OPTIONS / HTTP/1.1\r\nHost: a\r\nMax-Forwards: ten\r\n\r\n",
        ),
        (
            "GET / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 5\r\n\r\n",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(request(&p, input, "", KEEP), expected, "{input:?}");
    }
}

#[test]
fn configured_removals_and_additions() {
    let p = plan(|o| {
        o.remove_request = vec!["user-agent".into(), "X-CUSTOM".into(), "Via".into()];
        o.add_request = vec![
            ("X-Proxy".into(), "exaproxy".into()),
            ("X-Empty".into(), String::new()),
        ];
    });
    let input = "GET / HTTP/1.1\r\nHost: a\r\nUSER-AGENT: curl\r\nx-custom: 1\r\nX-Custom-2: 2\r\nVia: 1.1 upstream\r\n\r\n";
    // Removal applies to the client's lines; our own Via is still added.
    assert_eq!(
        request(&p, input, "::1", KEEP),
        "GET / HTTP/1.1\r\nHost: a\r\nX-Custom-2: 2\r\nVia: 1.1 exaproxy\r\nX-Forwarded-For: ::1\r\nX-Proxy: exaproxy\r\nX-Empty: \r\n\r\n"
    );
}

#[test]
fn existing_via_is_kept_and_ours_appended() {
    let input = "GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 fred, 1.1 p.example.net\r\n\r\n";
    assert_eq!(
        request(&plan(|_| {}), input, "", KEEP),
        "GET / HTTP/1.1\r\nHost: a\r\nVia: 1.0 fred, 1.1 p.example.net\r\nVia: 1.1 exaproxy\r\n\r\n"
    );
}

#[test]
fn other_forms_and_bytes_are_kept_exactly() {
    let p = plan(|o| o.via = None);
    let connect =
        "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nProxy-Connection: keep-alive\r\n\r\n";
    assert_eq!(
        request(&p, connect, "", KEEP),
        "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n"
    );
    // Case, inner and trailing whitespace, obs-text and order are untouched.
    let odd = "PROPFIND /dav/ HTTP/1.1\r\nhOsT: a\r\nX-Mixed:  v  \r\nX-Latin: caf\u{e9}\r\nDepth: 1\r\n\r\n";
    assert_eq!(request(&p, odd, "", KEEP), odd);
    // Empty lines before the request line are not forwarded.
    assert_eq!(
        request(&p, "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "", KEEP),
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    );
}

#[test]
fn pipelined_request_at_an_offset() {
    let buf = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET http://b.test/2 HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n";
    let second = 28;
    assert_eq!(&buf[second..second + 3], b"GET");
    assert_eq!(
        request_at(&plan(|_| {}), buf, second, "", KEEP),
        "GET /2 HTTP/1.1\r\nHost: b.test\r\nVia: 1.1 exaproxy\r\n\r\n"
    );
}

// ---------------------------------------------------------------------------
// Responses

const CLIENT_KEEP: u32 = rewrite::CLIENT_KEEP_ALIVE;

#[test]
fn response_keep_alive_decisions() {
    let p = plan(|o| o.via = None);
    let sized = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    assert_eq!(
        response(&p, sized, method::GET, CLIENT_KEEP),
        (
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n".into(),
            true
        )
    );
    assert_eq!(
        response(&p, sized, method::GET, CLIENT_KEEP | rewrite::CLIENT_HTTP_10),
        ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n".into(), true)
    );
    assert_eq!(
        response(&p, sized, method::GET, 0),
        ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\n".into(), false)
    );
    // A body that ends when the server closes ends the client connection too.
    let until_close = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n";
    assert_eq!(
        response(&p, until_close, method::GET, CLIENT_KEEP),
        (
            "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n".into(),
            false
        )
    );
    // Chunked, HEAD and 204/304 responses have a known end.
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(response(&p, chunked, method::GET, CLIENT_KEEP).1);
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    assert!(response(&p, head, method::HEAD, CLIENT_KEEP).1);
    assert_eq!(
        response(
            &p,
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
            method::GET,
            CLIENT_KEEP
        ),
        (
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n".into(),
            true
        )
    );
    // The server closing its side does not close the client's.
    let server_closes = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        response(&p, server_closes, method::GET, CLIENT_KEEP),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(), true)
    );
}

#[test]
fn response_hop_by_hop_fields_are_removed() {
    let input = "HTTP/1.1 200 OK\r\n\
        Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n\
        Connection: keep-alive, X-Internal\r\n\
        Keep-Alive: timeout=5, max=100\r\n\
        X-Internal: secret\r\n\
        Upgrade: h2c\r\n\
        Trailer: Expires\r\n\
        TE: trailers\r\n\
        Proxy-Connection: keep-alive\r\n\
        Transfer-Encoding: chunked\r\n\
        Connection: Transfer-Encoding\r\n\
        Proxy-Authenticate: Basic realm=\"x\"\r\n\
        \r\n";
    assert_eq!(
        response(&plan(|o| o.via = None), input, method::GET, CLIENT_KEEP),
        (
            "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nTransfer-Encoding: chunked\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n".into(),
            true
        )
    );
}

#[test]
fn tunnels_and_interim_responses() {
    let p = plan(|o| o.via = None);
    let switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert_eq!(
        response(&p, switching, method::GET, CLIENT_KEEP),
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nConnection: upgrade\r\n\r\n".into(),
            false
        )
    );
    assert_eq!(
        response(
            &p,
            "HTTP/1.1 200 Connection established\r\n\r\n",
            method::CONNECT,
            CLIENT_KEEP
        ),
        ("HTTP/1.1 200 Connection established\r\n\r\n".into(), false)
    );
    // An interim response says nothing about the connection, which must stay
    // open for the final response even when the client will not keep it.
    for bits in [0, CLIENT_KEEP] {
        assert_eq!(
            response(&p, "HTTP/1.1 100 Continue\r\n\r\n", method::POST, bits),
            ("HTTP/1.1 100 Continue\r\n\r\n".into(), true)
        );
    }
    assert_eq!(
        response(
            &p,
            "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
            method::GET,
            0
        ),
        (
            "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n".into(),
            true
        )
    );
}

#[test]
fn response_via_and_configured_lines() {
    let p = plan(|o| {
        o.via_response = true;
        o.remove_response = vec!["server".into(), "X-Powered-By".into()];
        o.add_response = vec![("X-Cache".into(), "MISS from exaproxy".into())];
    });
    let input = "HTTP/1.0 404 Not Found\r\nServer: Apache\r\nx-powered-by: PHP\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        response(&p, input, method::GET, CLIENT_KEEP | rewrite::CLIENT_HTTP_10),
        (
            "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\nVia: 1.0 exaproxy\r\nX-Cache: MISS from exaproxy\r\n\r\n".into(),
            true
        )
    );
    // A status line without a reason gets its SP back; no Via without via_response.
    assert_eq!(
        response(
            &plan(|_| {}),
            "HTTP/1.1 204\r\n\r\n",
            method::DELETE,
            CLIENT_KEEP
        ),
        ("HTTP/1.1 204 \r\n\r\n".into(), true)
    );
}

// ---------------------------------------------------------------------------
// Property: whatever parses, rewrites into something that parses.

const FIELDS: &[&str] = &[
    "Host: a.test\r\n",
    "Connection: close\r\n",
    "Connection: upgrade, x-a\r\n",
    "Connection: keep-alive, host, content-length\r\n",
    "Upgrade: websocket\r\n",
    "X-A: 1\r\n",
    "x-b: 2\r\n",
    "Keep-Alive: 5\r\n",
    "TE: trailers\r\n",
    "Trailer: x\r\n",
    "Proxy-Authorization: Basic x\r\n",
    "Proxy-Connection: keep-alive\r\n",
    "X-Forwarded-For: 10.0.0.1\r\n",
    "Max-Forwards: 3\r\n",
    "Via: 1.1 x\r\n",
    "Content-Length: 0\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Server: s\r\n",
    "Expect: 100-continue\r\n",
];

const REQUEST_LINES: &[&str] = &[
    "GET / HTTP/1.1\r\n",
    "GET http://h.test:81/p?q HTTP/1.1\r\n",
    "GET http://[::1] HTTP/1.0\r\n",
    "OPTIONS * HTTP/1.1\r\n",
    "OPTIONS http://o.test HTTP/1.1\r\n",
    "TRACE /t HTTP/1.0\r\n",
    "CONNECT h.test:443 HTTP/1.1\r\n",
    "POST /f HTTP/1.1\r\n",
];

const STATUS_LINES: &[&str] = &[
    "HTTP/1.1 200 OK\r\n",
    "HTTP/1.0 200 OK\r\n",
    "HTTP/1.1 101 Switching Protocols\r\n",
    "HTTP/1.1 100 Continue\r\n",
    "HTTP/1.1 204\r\n",
    "HTTP/1.1 302 Found\r\n",
];

/// The names of the fields in a parsed head, lower case, in order.
fn names(buf: &[u8], table: &[u32]) -> Vec<String> {
    (0..table[slot::HEADER_COUNT] as usize)
        .map(|i| {
            let r = slot::HEADERS + i * record::SIZE;
            String::from_utf8_lossy(&buf[table[r] as usize..table[r + 1] as usize])
                .to_ascii_lowercase()
        })
        .collect()
}

#[test]
fn every_parsed_head_rewrites_into_a_parsable_head() {
    let plans = [
        plan(|_| {}),
        plan(|o| {
            o.via = None;
            o.via_response = true;
            o.forwarded_for = ForwardedFor::Replace;
            o.pass_proxy_authorization = true;
            o.remove_request = vec!["x-a".into()];
            o.remove_response = vec!["server".into()];
            o.add_request = vec![("X-Added".into(), "1".into())];
            o.add_response = vec![("X-Added".into(), "2".into())];
        }),
        plan(|o| o.forwarded_for = ForwardedFor::Leave),
    ];
    let mut rng = Rng(0x5EED);
    let (mut requests, mut responses) = (0, 0);
    for round in 0..4000 {
        let is_request = round % 2 == 0;
        let mut head = if is_request {
            REQUEST_LINES[rng.below(REQUEST_LINES.len())].to_string()
        } else {
            STATUS_LINES[rng.below(STATUS_LINES.len())].to_string()
        };
        for _ in 0..rng.below(7) {
            head.push_str(FIELDS[rng.below(FIELDS.len())]);
        }
        head.push_str("\r\n");
        let buf = head.as_bytes();
        let p = &plans[rng.below(plans.len())];
        let bits = rng.next() as u32 & 0xF;
        let mut table = vec![0u32; TABLE];
        let mut out = vec![0u8; 4096];
        if is_request {
            if parse_request(buf, 0, &mut table) <= 0 {
                continue;
            }
            requests += 1;
            let n = rewrite_request(p, buf, &table, &mut out, b"192.0.2.1", bits);
            assert!(n > 0, "{head:?}");
            let mut again = vec![0u32; TABLE];
            assert_eq!(
                parse_request(&out, 0, &mut again),
                n,
                "{head:?} -> {:?}",
                String::from_utf8_lossy(&out[..n as usize])
            );
            let kept = names(&out, &again);
            // No hop-by-hop field survives, except an allowed upgrade's.
            let upgrade =
                table[slot::FLAGS] & flag::IS_UPGRADE != 0 && bits & rewrite::ALLOW_UPGRADE != 0;
            for name in &kept {
                assert!(
                    !["keep-alive", "te", "trailer", "proxy-connection"].contains(&name.as_str()),
                    "{head:?}"
                );
                if name == "upgrade" {
                    assert!(upgrade, "{head:?}");
                }
            }
            // Framing survives untouched.
            let framing = flag::CONTENT_LENGTH | flag::CHUNKED | flag::BODY_NONE;
            assert_eq!(
                again[slot::FLAGS] & framing,
                table[slot::FLAGS] & framing,
                "{head:?}"
            );
            assert_eq!(again[slot::LENGTH_LO], table[slot::LENGTH_LO]);
        } else {
            if parse_response(buf, 0, &mut table, method::GET) <= 0 {
                continue;
            }
            responses += 1;
            let n = rewrite_response(p, buf, &mut table, &mut out, bits);
            assert!(n > 0, "{head:?}");
            let mut again = vec![0u32; TABLE];
            assert_eq!(
                parse_response(&out, 0, &mut again, method::GET),
                n,
                "{head:?}"
            );
            let status = again[slot::STATUS];
            let connection_lines = names(&out, &again)
                .iter()
                .filter(|n| *n == "connection")
                .count();
            assert!(connection_lines <= 1);
            if table[slot::FLAGS] & flag::KEEP_ALIVE == 0
                && status != 101
                && table[slot::FLAGS] & flag::TUNNEL == 0
            {
                assert_ne!(again[slot::FLAGS] & flag::CONNECTION_CLOSE, 0, "{head:?}");
            }
        }
    }
    assert!(requests > 500 && responses > 500, "{requests} {responses}");
}

#[test]
fn connection_option_lists_are_bounded() {
    let names: Vec<String> = (0..32).map(|i| format!("x-{i}")).collect();
    let mut input = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, {}\r\n",
        names.join(", ")
    );
    input.push_str("X-31: dropped\r\nX-32: kept\r\n\r\n");
    let p = plan(|o| o.via = None);
    assert_eq!(
        request(&p, &input, "", KEEP),
        "GET / HTTP/1.1\r\nHost: a\r\nX-32: kept\r\n\r\n"
    );
    // One more name than the bound is refused rather than half applied.
    let over = input.replace("close, ", "close, x-32, ");
    let table = parsed_request(over.as_bytes(), 0);
    let mut out = [0u8; 1024];
    assert_eq!(
        rewrite_request(&p, over.as_bytes(), &table, &mut out, b"", KEEP),
        -(error::TOO_MANY_HEADERS as i32)
    );
}

#[test]
fn read_response_writes_nothing_for_an_incomplete_or_invalid_head() {
    let plan = Plan::default();
    let mut out = vec![0u8; 8192];
    let mut table = vec![0u32; TABLE];
    let whole = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert!(read_response(&plan, whole, 0, &mut table, method::GET, &mut out, 0) > 0);
    assert!(table[slot::REWRITTEN] > 0);
    // Each later call starts from nothing: an incomplete head leaves no length behind.
    assert_eq!(
        read_response(&plan, &whole[..20], 0, &mut table, method::GET, &mut out, 0),
        0
    );
    assert_eq!(table[slot::REWRITTEN], 0);
    let bad = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok";
    assert!(read_response(&plan, bad, 0, &mut table, method::GET, &mut out, 0) < 0);
    assert_eq!(table[slot::REWRITTEN], 0);
}

#[test]
fn read_request_writes_nothing_for_an_incomplete_or_invalid_head_or_a_bad_address() {
    let plan = Plan::default();
    let mut out = vec![0u8; 8192];
    let mut table = vec![0u32; TABLE];
    let whole = b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(
        read_request(&plan, whole, 0, &mut table, &mut out, b"192.0.2.1", 0),
        whole.len() as i32
    );
    assert!(table[slot::REWRITTEN] > 0);
    assert_eq!(
        read_request(
            &plan,
            &whole[..20],
            0,
            &mut table,
            &mut out,
            b"192.0.2.1",
            0
        ),
        0
    );
    assert_eq!(table[slot::REWRITTEN], 0);
    let bad = b"GET http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(read_request(&plan, bad, 0, &mut table, &mut out, b"192.0.2.1", 0) < 0);
    assert_eq!(table[slot::REWRITTEN], 0);
    // Parsed, but the address cannot go in X-Forwarded-For: nothing written.
    assert_eq!(
        read_request(
            &plan,
            whole,
            0,
            &mut table,
            &mut out,
            b"192.0.2.1\r\nX: y",
            0
        ),
        whole.len() as i32
    );
    assert_eq!(table[slot::REWRITTEN], 0);
}
