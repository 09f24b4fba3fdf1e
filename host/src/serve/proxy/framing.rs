//! The request head's checks before any policy runs, and the headers that
//! never cross the proxy.
//!
//! hyper refuses by itself (HTTP/1.1): a malformed request line or header
//! (obs-fold, a space before the colon, control bytes: 400), differing
//! duplicate `Content-Length` values or one that is not a number (400), a
//! `Transfer-Encoding` whose last coding is not `chunked` or any
//! `Transfer-Encoding` in HTTP/1.0 (400), more than 100 headers or a head
//! over ~400 KB (431). It accepts a bare LF as line end, and a request with
//! both `Transfer-Encoding: chunked` and `Content-Length`: the chunked framing
//! wins, `Content-Length` is dropped and the connection closes after the
//! answer (RFC 9112 section 6.3), so nothing sent after the body is read as
//! another request. The origin gets each request written anew (CRLF line ends,
//! one `Content-Length` for the body read), never the client's bytes.
//!
//! [`check_head`] adds: no `CONNECT` (405: the proxy does not tunnel), only
//! the `chunked` transfer coding (501), exactly one Host that agrees with an
//! authority in the request target (400), a Host for HTTP/1.1 and HTTP/2
//! (400); HTTP/2 requests get a `host` header from `:authority` and their
//! `cookie` fields joined, so policies and the origin see what HTTP/1.1 gives.

use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version, header};

/// Hop-by-hop headers, never forwarded (nor any header `Connection` names).
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Why a request head is refused: the status and a short reason for the
/// client.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    /// 400, 405 or 501.
    pub status: StatusCode,
    /// Said in the JSON answer.
    pub reason: &'static str,
}

fn reject(status: StatusCode, reason: &'static str) -> Rejection {
    Rejection { status, reason }
}

/// Checks the head and normalises it (see the module docs); returns the host
/// the tenant is picked by (empty for an HTTP/1.0 request without Host).
pub fn check_head(parts: &mut Parts) -> Result<String, Rejection> {
    if parts.method == Method::CONNECT {
        return Err(reject(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not supported",
        ));
    }
    check_transfer_encoding(&parts.headers)?;
    let host = host_of(parts)?;
    if parts.version == Version::HTTP_2 {
        join_cookies(&mut parts.headers);
    }
    Ok(host)
}

/// Only one `Transfer-Encoding` field, saying exactly `chunked`: a body the
/// proxy decoded must not reach the origin still coded (e.g. `gzip, chunked`).
fn check_transfer_encoding(headers: &HeaderMap) -> Result<(), Rejection> {
    let mut values = headers.get_all(header::TRANSFER_ENCODING).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(()),
        (Some(v), None) if v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked") => Ok(()),
        _ => Err(reject(
            StatusCode::NOT_IMPLEMENTED,
            "only Transfer-Encoding: chunked is supported",
        )),
    }
}

fn host_of(parts: &mut Parts) -> Result<String, Rejection> {
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(reject(StatusCode::BAD_REQUEST, "more than one Host header"));
    }
    let host = match host {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| reject(StatusCode::BAD_REQUEST, "Host is not ASCII"))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let authority = parts.uri.authority().map(|a| a.as_str().to_string());
    match (host, authority) {
        (Some(h), Some(a)) if !h.eq_ignore_ascii_case(&a) => Err(reject(
            StatusCode::BAD_REQUEST,
            "Host differs from the authority of the request target",
        )),
        (Some(h), _) => Ok(h),
        (None, Some(a)) => {
            // HTTP/2 carries the host in `:authority` (absolute-form HTTP/1.1
            // in the target): give it as Host, as HTTP/1.1 does.
            if let Ok(v) = HeaderValue::from_str(&a) {
                parts.headers.insert(header::HOST, v);
            }
            Ok(a)
        }
        (None, None) if parts.version <= Version::HTTP_10 => Ok(String::new()),
        (None, None) => Err(reject(StatusCode::BAD_REQUEST, "no Host header")),
    }
}

/// HTTP/2 may split `cookie` into several fields; HTTP/1.1 has one, joined
/// by `; ` (RFC 9113 section 8.2.3).
fn join_cookies(headers: &mut HeaderMap) {
    let values: Vec<&[u8]> = headers
        .get_all(header::COOKIE)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    if values.len() < 2 {
        return;
    }
    let joined = values.join(&b"; "[..]);
    if let Ok(v) = HeaderValue::from_bytes(&joined) {
        headers.insert(header::COOKIE, v);
    }
}

/// Removes the hop-by-hop headers and those the `Connection` header names
/// (never `host`). One pass over the names first: most requests and
/// responses carry none, and then nothing is hashed, parsed or allocated.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // A `Connection` header, the only one naming others, is hop-by-hop too.
    if !headers.keys().any(|n| HOP_BY_HOP.contains(&n.as_str())) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .filter(|n| n != header::HOST)
        .collect();
    for name in named {
        headers.remove(name);
    }
    for h in HOP_BY_HOP {
        headers.remove(*h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(version: Version, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().version(version).uri(uri);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn status(version: Version, uri: &str, headers: &[(&str, &str)]) -> Option<u16> {
        check_head(&mut parts(version, uri, headers))
            .err()
            .map(|r| r.status.as_u16())
    }

    #[test]
    fn host_comes_from_the_header_or_the_authority() {
        let mut p = parts(Version::HTTP_11, "/x", &[("host", "Shop.Test")]);
        assert_eq!(check_head(&mut p).unwrap(), "Shop.Test");

        let mut p = parts(Version::HTTP_2, "https://shop.test/x", &[]);
        assert_eq!(check_head(&mut p).unwrap(), "shop.test");
        assert_eq!(p.headers["host"], "shop.test", "HTTP/2 gets a host header");

        let mut p = parts(Version::HTTP_10, "/", &[]);
        assert_eq!(check_head(&mut p).unwrap(), "", "HTTP/1.0 may omit Host");
        let h2_same = [("host", "SHOP.test")];
        assert_eq!(
            status(Version::HTTP_2, "https://shop.test/", &h2_same),
            None
        );
    }

    #[test]
    fn ambiguous_hosts_are_refused() {
        let two = [("host", "a.test"), ("host", "b.test")];
        assert_eq!(status(Version::HTTP_11, "/", &two), Some(400));
        let other = [("host", "b.test")];
        assert_eq!(
            status(Version::HTTP_11, "http://a.test/", &other),
            Some(400)
        );
        assert_eq!(
            status(Version::HTTP_2, "https://a.test/", &other),
            Some(400)
        );
        assert_eq!(status(Version::HTTP_11, "/", &[]), Some(400));
    }

    #[test]
    fn connect_and_unknown_codings_are_refused() {
        let mut p = parts(Version::HTTP_11, "a.test:443", &[("host", "a.test:443")]);
        p.method = Method::CONNECT;
        assert_eq!(check_head(&mut p).unwrap_err().status, 405);
        let h = |te: &'static str| [("host", "a.test"), ("transfer-encoding", te)];
        assert_eq!(status(Version::HTTP_11, "/", &h("chunked")), None);
        assert_eq!(status(Version::HTTP_11, "/", &h(" Chunked ")), None);
        assert_eq!(
            status(Version::HTTP_11, "/", &h("gzip, chunked")),
            Some(501)
        );
        let twice = [
            ("host", "a.test"),
            ("transfer-encoding", "chunked"),
            ("transfer-encoding", "chunked"),
        ];
        assert_eq!(status(Version::HTTP_11, "/", &twice), Some(501));
    }

    #[test]
    fn http2_cookies_are_joined() {
        let c = [("cookie", "a=1"), ("cookie", "b=2")];
        let mut p = parts(Version::HTTP_2, "https://a.test/", &c);
        check_head(&mut p).unwrap();
        assert_eq!(p.headers.get_all("cookie").iter().count(), 1);
        assert_eq!(p.headers["cookie"], "a=1; b=2");
    }

    #[test]
    fn hop_by_hop_headers_are_stripped() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("close, X-Secret, host"),
        );
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("host", HeaderValue::from_static("a.test"));
        h.insert("x-keep", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        let left: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["host", "x-keep"]);
        // Nothing hop-by-hop: nothing changes.
        let before = h.clone();
        strip_hop_by_hop(&mut h);
        assert_eq!(h, before);
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h, before, "a lone hop-by-hop header goes too");
    }
}
