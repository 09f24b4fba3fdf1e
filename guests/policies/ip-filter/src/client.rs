//! Who is the client? The connection's peer, or — only when that peer is a
//! trusted proxy — the right-most `X-Forwarded-For` entry that is not itself a
//! trusted proxy.
//!
//! Walking from the right matters: every proxy appends the address it saw, so
//! the entries left of the first untrusted one were written by the client and
//! prove nothing.

use crate::config::find;
use edgewaf_sdk::Request;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Where the effective client address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The TCP peer.
    Peer,
    /// An `X-Forwarded-For` entry written by a trusted proxy.
    ForwardedFor,
}

/// Why no client address could be determined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The host gave a peer address that is not an IP address.
    BadPeer(String),
    /// A trusted proxy forwarded an entry that is not an IP address.
    BadForwardedFor(String),
}

/// The effective client address of `req`; `header` is where trusted proxies
/// put it (`x-forwarded-for`, or a one-address header like `cf-connecting-ip`).
pub fn effective_client(
    req: &Request,
    trusted: &[IpNet],
    header: &str,
) -> Result<(IpAddr, Source), ClientError> {
    let addr = &req.connection.client_addr;
    let peer = parse_addr(addr).ok_or_else(|| ClientError::BadPeer(addr.clone()))?;
    if trusted.is_empty() || find(trusted, &peer).is_none() {
        return Ok((peer, Source::Peer));
    }
    // All X-Forwarded-For headers (or the configured one) form one list, in
    // the order received.
    let entries: Vec<String> = req
        .header_all(header)
        .flat_map(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect();
    let mut nearest_trusted = None;
    for entry in entries.iter().rev() {
        let ip = parse_addr(entry).ok_or_else(|| ClientError::BadForwardedFor(entry.clone()))?;
        if find(trusted, &ip).is_none() {
            return Ok((ip, Source::ForwardedFor));
        }
        nearest_trusted = Some(ip);
    }
    // Every hop is a trusted proxy: the farthest one is the best we know.
    Ok(match nearest_trusted {
        Some(ip) => (ip, Source::ForwardedFor),
        None => (peer, Source::Peer),
    })
}

/// Parses `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, `192.0.2.1:8443`,
/// `[2001:db8::1]:443` and `fe80::1%eth0`; IPv4-mapped IPv6 becomes IPv4.
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let ip = if let Ok(ip) = s.parse::<IpAddr>() {
        ip
    } else if let Ok(sa) = s.parse::<SocketAddr>() {
        sa.ip()
    } else if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        inner.parse::<IpAddr>().ok()?
    } else if let Some((ip, _zone)) = s.split_once('%') {
        ip.parse::<IpAddr>().ok()?
    } else {
        return None;
    };
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: &str = "x-forwarded-for";

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|s| crate::config::parse_net(s).unwrap())
            .collect()
    }

    fn req(peer: &str, xff: &[&str]) -> Request {
        let mut b = Request::builder().client(peer);
        for v in xff {
            b = b.header("x-forwarded-for", *v);
        }
        b.build()
    }

    #[test]
    fn parses_address_forms() {
        assert_eq!(parse_addr("192.0.2.1"), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(
            parse_addr(" 2001:db8::1 "),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_addr("[2001:db8::1]"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_addr("192.0.2.1:8443"),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            parse_addr("[2001:db8::1]:443"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(parse_addr("fe80::1%eth0"), Some("fe80::1".parse().unwrap()));
        assert_eq!(
            parse_addr("::ffff:203.0.113.9"),
            Some("203.0.113.9".parse().unwrap())
        );
        for bad in [
            "",
            "unknown",
            "example.com",
            "1.2.3",
            "1.2.3.4.5",
            "[1.2.3.4",
        ] {
            assert_eq!(parse_addr(bad), None, "{bad}");
        }
    }

    #[test]
    fn xff_ignored_without_trusted_proxies() {
        let r = req("198.51.100.20", &["203.0.113.5"]);
        assert_eq!(
            effective_client(&r, &[], XFF),
            Ok(("198.51.100.20".parse().unwrap(), Source::Peer))
        );
    }

    #[test]
    fn xff_ignored_from_untrusted_peer() {
        let r = req("198.51.100.20", &["203.0.113.5"]);
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            effective_client(&r, &t, XFF).unwrap().0,
            "198.51.100.20".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn right_most_untrusted_entry_wins() {
        // The client forged "1.1.1.1"; the trusted chain appended the real one.
        let r = req("10.0.0.2", &["1.1.1.1, 203.0.113.5, 10.0.0.9"]);
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            effective_client(&r, &t, XFF),
            Ok(("203.0.113.5".parse().unwrap(), Source::ForwardedFor))
        );
    }

    #[test]
    fn several_headers_form_one_list() {
        let r = req("10.0.0.2", &["1.1.1.1", "2001:db8::7", "10.0.0.9"]);
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            effective_client(&r, &t, XFF).unwrap().0,
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn all_trusted_gives_the_farthest_hop() {
        let r = req("10.0.0.2", &["10.0.0.7, 10.0.0.9"]);
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            effective_client(&r, &t, XFF).unwrap().0,
            "10.0.0.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn trusted_peer_without_xff_is_the_client() {
        let r = req("10.0.0.2", &[]);
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            effective_client(&r, &t, XFF),
            Ok(("10.0.0.2".parse().unwrap(), Source::Peer))
        );
    }

    #[test]
    fn entries_with_ports_and_mapped_addresses() {
        let r = req(
            "10.0.0.2",
            &["[2001:db8::5]:5123, ::ffff:203.0.113.8, 10.0.0.3:80"],
        );
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            effective_client(&r, &t, XFF).unwrap().0,
            "203.0.113.8".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn garbage_in_the_trusted_part_is_an_error() {
        let r = req("10.0.0.2", &["203.0.113.5, unknown"]);
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            effective_client(&r, &t, XFF),
            Err(ClientError::BadForwardedFor("unknown".into()))
        );
        // Garbage left of the first untrusted entry is never looked at.
        let r = req("10.0.0.2", &["<script>, 203.0.113.5"]);
        assert_eq!(
            effective_client(&r, &t, XFF).unwrap().0,
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn configured_single_address_header() {
        let t = nets(&["10.0.0.0/8"]);
        let r = Request::builder()
            .client("10.0.0.2")
            .header("x-forwarded-for", "198.51.100.1")
            .header("cf-connecting-ip", "203.0.113.4")
            .build();
        assert_eq!(
            effective_client(&r, &t, "cf-connecting-ip").unwrap().0,
            "203.0.113.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            effective_client(&r, &t, XFF).unwrap().0,
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn bad_peer_is_an_error() {
        let r = req("not-an-ip", &[]);
        assert_eq!(
            effective_client(&r, &[], XFF),
            Err(ClientError::BadPeer("not-an-ip".into()))
        );
    }
}
