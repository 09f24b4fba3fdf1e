//! Parsing helpers: headers, query strings, forms, cookies, JSON.

use crate::types::{Header, Request, Response};
use std::net::IpAddr;

/// Percent-decodes `input`; with `plus_as_space`, `+` becomes a space (forms and
/// query strings). Invalid escapes are kept as they are.
pub fn url_decode(input: &[u8], plus_as_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' if i + 2 < input.len() => match (hex_val(input[i + 1]), hex_val(input[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses `a=1&b=2` (query string or urlencoded form) into decoded pairs, in order.
/// A part without `=` gives an empty value.
pub fn parse_urlencoded(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&b| b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = match part.iter().position(|&b| b == b'=') {
                Some(p) => (&part[..p], &part[p + 1..]),
                None => (part, &b""[..]),
            };
            (lossy(&url_decode(k, true)), lossy(&url_decode(v, true)))
        })
        .collect()
}

/// Parses a `Cookie` header value into (name, value) pairs.
pub fn parse_cookies(header: &[u8]) -> Vec<(String, String)> {
    header
        .split(|&b| b == b';')
        .filter_map(|part| {
            let part = lossy(part);
            let part = part.trim();
            if part.is_empty() {
                return None;
            }
            Some(match part.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                None => (part.to_string(), String::new()),
            })
        })
        .collect()
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `s` cut to at most `max` bytes on a character boundary, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// True when `path` is `prefix` or continues it at a segment boundary.
pub fn path_under(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// A path as a server would resolve it: percent-decodes (repeatedly, up to three times), turns `\` into `/`,
/// collapses empty segments and resolves `.` and `..`.
pub fn normalise_path(raw: &str) -> String {
    let mut bytes = raw.as_bytes().to_vec();
    for _ in 0..3 {
        let decoded = url_decode(&bytes, false);
        if decoded == bytes {
            break;
        }
        bytes = decoded;
    }
    let text = String::from_utf8_lossy(&bytes).replace('\\', "/");
    let mut segments: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(text.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || (text.ends_with('/') && !segments.is_empty()) {
        out.push('/');
    }
    out
}

fn find_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice())
}

impl Request {
    /// A builder for tests and tools.
    pub fn builder() -> crate::testing::RequestBuilder {
        crate::testing::RequestBuilder::new()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }

    /// The first value of header `name` as text (invalid UTF-8 replaced).
    pub fn header_str(&self, name: &str) -> Option<String> {
        self.header(name).map(lossy)
    }

    /// Every value of header `name`, in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// The raw path (before `?`), not decoded.
    pub fn path(&self) -> &str {
        match self.target.find('?') {
            Some(i) => &self.target[..i],
            None => &self.target,
        }
    }

    /// The raw query string (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.find('?').map(|i| &self.target[i + 1..])
    }

    /// Decoded query parameters in order.
    pub fn query_params(&self) -> Vec<(String, String)> {
        self.query()
            .map(|q| parse_urlencoded(q.as_bytes()))
            .unwrap_or_default()
    }

    /// The first decoded query parameter named `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Cookies from every `Cookie` header.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.header_all("cookie").flat_map(parse_cookies).collect()
    }

    /// The `content-type` media type, lower-cased, without parameters.
    pub fn content_type(&self) -> Option<String> {
        self.header_str("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// Form fields, when the body is `application/x-www-form-urlencoded`.
    pub fn form(&self) -> Vec<(String, String)> {
        if self.content_type().as_deref() == Some("application/x-www-form-urlencoded") {
            parse_urlencoded(&self.body)
        } else {
            Vec::new()
        }
    }

    /// The body parsed as JSON, when the content type is JSON and it parses.
    pub fn json(&self) -> Option<serde_json::Value> {
        let ct = self.content_type()?;
        if ct == "application/json" || ct.ends_with("+json") {
            serde_json::from_slice(&self.body).ok()
        } else {
            None
        }
    }

    /// The client IP of the connection (not X-Forwarded-For).
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.connection.client_addr.parse().ok()
    }

    /// The value of annotation `key` set by an earlier policy.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decode_handles_plus_and_bad_escapes() {
        assert_eq!(url_decode(b"a%20b+c", true), b"a b c");
        assert_eq!(url_decode(b"a+b", false), b"a+b");
        assert_eq!(url_decode(b"%zz%4", true), b"%zz%4");
        assert_eq!(url_decode(b"%", true), b"%");
        assert_eq!(url_decode(b"%41%", true), b"A%");
    }

    #[test]
    fn urlencoded_pairs_in_order() {
        let pairs = parse_urlencoded(b"a=1&b=x%27y&flag&&c=");
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x'y".into()),
                ("flag".into(), "".into()),
                ("c".into(), "".into())
            ]
        );
    }

    #[test]
    fn cookies_split_and_trim() {
        assert_eq!(
            parse_cookies(b"sid=abc; theme = dark;;lone"),
            vec![
                ("sid".into(), "abc".into()),
                ("theme".into(), "dark".into()),
                ("lone".into(), "".into())
            ]
        );
    }

    #[test]
    fn request_accessors() {
        let req = Request::builder()
            .method("POST")
            .target("/api/x?id=7&q=a+b")
            .header("Content-Type", "application/json; charset=utf-8")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .body(r#"{"k":[1,2]}"#)
            .build();
        assert_eq!(req.path(), "/api/x");
        assert_eq!(req.query(), Some("id=7&q=a+b"));
        assert_eq!(req.query_param("q").as_deref(), Some("a b"));
        assert_eq!(req.content_type().as_deref(), Some("application/json"));
        assert_eq!(req.json().unwrap()["k"][1], 2);
        assert_eq!(req.cookies().len(), 2);
        assert!(req.form().is_empty());
    }

    #[test]
    fn shorten_respects_char_boundaries() {
        assert_eq!(shorten("héllo", 2), "h…");
        assert_eq!(shorten("abc", 3), "abc");
    }

    #[test]
    fn prefix_respects_segments() {
        assert!(path_under("/payments", "/payments"));
        assert!(path_under("/payments/1", "/payments"));
        assert!(!path_under("/paymentsx", "/payments"));
        assert!(path_under("/api/x", "/api/"));
        assert!(path_under("/anything", "/"));
        assert!(!path_under("/pay", "/payments"));
    }

    #[test]
    fn normalisation_resolves_tricks() {
        assert_eq!(normalise_path("/public/../payments"), "/payments");
        assert_eq!(normalise_path("/public/..%2fpayments"), "/payments");
        assert_eq!(normalise_path("//payments///x"), "/payments/x");
        assert_eq!(normalise_path("/%70ayments"), "/payments");
        assert_eq!(normalise_path("/%2570ayments"), "/payments");
        assert_eq!(normalise_path("/./a/./b/"), "/a/b/");
        assert_eq!(normalise_path("/../../"), "/");
        assert_eq!(normalise_path(""), "/");
        assert_eq!(normalise_path("/a\\..\\payments"), "/payments");
    }
}
