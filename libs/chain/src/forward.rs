//! The header list sent to the origin for an allowed request.

use crate::Header;

/// What the WAF knows about the request beyond its headers.
#[derive(Debug, Clone, Copy)]
pub struct Forwarding<'a> {
    /// The WAF's request id (`x-request-id`).
    pub request_id: &'a str,
    /// The scheme the client used: `http` or `https` (`x-forwarded-proto`).
    pub proto: &'a str,
    /// The client's address when the runtime gives it (`x-forwarded-for`).
    pub client_ip: Option<&'a str>,
}

/// The origin's request headers: the client's (names lowercased; the caller
/// has dropped hop-by-hop ones), minus the chain's removals, with the chain's
/// additions replacing same-named headers, then `x-request-id`,
/// `x-forwarded-host` (the client's `host`), `x-forwarded-proto` set by the WAF
/// (a client's values replaced) and the client address appended to
/// `x-forwarded-for` when known.
pub fn forward_headers(
    client: &[Header],
    remove: &[String],
    add: &[Header],
    f: &Forwarding<'_>,
) -> Vec<Header> {
    const OWN: [&str; 3] = ["x-request-id", "x-forwarded-host", "x-forwarded-proto"];
    let host = client
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone());
    let mut out: Vec<Header> = client
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| !remove.iter().any(|r| r.eq_ignore_ascii_case(n)))
        .filter(|(n, _)| !add.iter().any(|(a, _)| a.eq_ignore_ascii_case(n)))
        .collect();
    out.extend(add.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())));
    out.retain(|(n, _)| !OWN.contains(&n.as_str()));
    out.push(("x-request-id".into(), f.request_id.as_bytes().to_vec()));
    if let Some(host) = host {
        out.push(("x-forwarded-host".into(), host));
    }
    out.push(("x-forwarded-proto".into(), f.proto.as_bytes().to_vec()));
    if let Some(ip) = f.client_ip {
        append_forwarded_for(&mut out, ip);
    }
    out
}

/// Appends `ip` to the (single, comma-joined) `x-forwarded-for`.
fn append_forwarded_for(out: &mut Vec<Header>, ip: &str) {
    let prev: Vec<Vec<u8>> = out
        .iter()
        .filter(|(n, _)| n == "x-forwarded-for")
        .map(|(_, v)| v.clone())
        .collect();
    out.retain(|(n, _)| n != "x-forwarded-for");
    let mut joined = prev.join(&b", "[..]);
    if !joined.is_empty() {
        joined.extend_from_slice(b", ");
    }
    joined.extend_from_slice(ip.as_bytes());
    out.push(("x-forwarded-for".into(), joined));
}
