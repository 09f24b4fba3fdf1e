//! What is inspected: every value of the request, with where it was found.
//!
//! - the URL path (whole, and each segment), query argument names and values;
//! - headers (all but framing, `Host`, `Authorization`), cookies one by one;
//! - the body by its content type: form fields; JSON leaf strings (keys as
//!   names; a GraphQL document's string literals, not its syntax); XML text,
//!   attribute values and CDATA (and the document itself for XXE); multipart
//!   fields and files; any other body as raw text in chunks.

use crate::bodies;
use crate::detectors::Kind;
use edgewaf_sdk::prelude::*;

/// One inspected value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Where: `ARGS:q`, `json:customer.name`, `REQUEST_HEADERS:user-agent`, ...
    pub location: String,
    /// The value as received (decoding layers are tried later).
    pub text: String,
    /// Which detectors it goes through.
    pub kind: Kind,
}

impl Item {
    /// An item.
    pub fn new(location: impl Into<String>, text: impl Into<String>, kind: Kind) -> Item {
        Item {
            location: location.into(),
            text: text.into(),
            kind,
        }
    }
}

/// Headers that are framing or secrets, not application data.
const SKIPPED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-request-id",
];

/// Every value of `req` but its body.
pub fn request_line_and_headers(req: &Request, out: &mut Vec<Item>) {
    let path = req.path();
    out.push(Item::new("REQUEST_FILENAME", path, Kind::Value));
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        out.push(Item::new("REQUEST_FILENAME:segment", seg, Kind::Value));
    }
    // Base64 may hold `/`: a path's tail that is base64 of text is a value.
    for (i, _) in path.match_indices('/').skip(1) {
        let tail = url_decode(&path.as_bytes()[i + 1..], false);
        let tail = lossy(&tail);
        if tail.contains('/') && crate::decode::base64_text(&tail).is_some() {
            out.push(Item::new("REQUEST_FILENAME:tail", tail, Kind::Value));
        }
    }
    if let Some(q) = req.query() {
        out.push(Item::new("QUERY_STRING", q, Kind::Query));
    }
    for (k, v) in req.query_params() {
        out.push(Item::new(format!("ARGS_NAMES:{k}"), k.clone(), Kind::Name));
        out.push(Item::new(format!("ARGS:{k}"), v, Kind::Value));
    }
    for h in &req.headers {
        let name = h.name.to_ascii_lowercase();
        if SKIPPED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        out.push(Item::new(
            format!("REQUEST_HEADERS:{name}"),
            lossy(&h.value),
            Kind::Value,
        ));
    }
    for (k, v) in req.cookies() {
        out.push(Item::new(format!("REQUEST_COOKIES:{k}"), v, Kind::Value));
    }
}

/// The body's values, by content type; `chunk` bounds raw pieces.
pub fn body(req: &Request, chunk: usize, out: &mut Vec<Item>) {
    if req.body.is_empty() {
        return;
    }
    let ct = req.content_type().unwrap_or_default();
    let text = lossy(&req.body);
    if ct == "application/x-www-form-urlencoded" {
        out.push(Item::new("REQUEST_BODY", text.as_str(), Kind::Query));
        for (k, v) in parse_urlencoded(&req.body) {
            out.push(Item::new(format!("ARGS_NAMES:{k}"), k.clone(), Kind::Name));
            out.push(Item::new(format!("ARGS:{k}"), v, Kind::Value));
        }
    } else if ct == "application/json" || ct.ends_with("+json") {
        if !bodies::json(&text, out) {
            bodies::raw(&text, "REQUEST_BODY", Kind::Value, chunk, out);
        }
    } else if ct.ends_with("/xml") || ct.ends_with("+xml") {
        bodies::raw(&text, "XML", Kind::Document, chunk, out);
        bodies::xml(&text, "XML", out);
    } else if ct == "multipart/form-data" {
        let ctype = req.header_str("content-type").unwrap_or_default();
        bodies::multipart(&req.body, &ctype, chunk, out);
    } else if ct == "application/graphql" {
        bodies::graphql(&text, "graphql", out);
    } else {
        bodies::raw(&text, "REQUEST_BODY", Kind::Value, chunk, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(req: &Request) -> Vec<Item> {
        let mut out = Vec::new();
        request_line_and_headers(req, &mut out);
        body(req, 4096, &mut out);
        out
    }

    fn has(items: &[Item], loc: &str, text: &str) -> bool {
        items.iter().any(|i| i.location == loc && i.text == text)
    }

    #[test]
    fn request_parts_are_collected() {
        let req = Request::builder()
            .target("/a/b%20c?q=x%27&n[$ne]=1")
            .header("user-agent", "ua")
            .header("authorization", "Bearer secret")
            .header("cookie", "sid=abc")
            .build();
        let it = items(&req);
        assert!(has(&it, "REQUEST_FILENAME:segment", "b%20c"));
        assert!(has(&it, "ARGS:q", "x'"));
        assert!(has(&it, "ARGS_NAMES:n[$ne]", "n[$ne]"));
        assert!(has(&it, "REQUEST_HEADERS:user-agent", "ua"));
        assert!(has(&it, "REQUEST_COOKIES:sid", "abc"));
        assert!(!it.iter().any(|i| i.text.contains("secret")));
    }

    #[test]
    fn bodies_by_content_type() {
        let form = Request::builder()
            .method("POST")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=a%3Cb&x=1")
            .build();
        assert!(has(&items(&form), "ARGS:name", "a<b"));
        let json = Request::builder()
            .method("POST")
            .header("content-type", "application/vnd.api+json")
            .body(r#"{"data": {"title": "t", "$ne": 1}}"#)
            .build();
        let it = items(&json);
        assert!(has(&it, "json:data.title", "t"));
        assert!(it.iter().any(|i| i.text == "$ne" && i.kind == Kind::Name));
        let text = Request::builder().method("POST").body("plain text").build();
        assert!(has(&items(&text), "REQUEST_BODY", "plain text"));
    }
}
