//! Building the WIT `request` record: from a live hyper request, or from a file
//! (raw HTTP or JSON) for `edgewaf check`.

use crate::serve::runtime::{Connection, Header, Request, TlsInfo};
use std::net::SocketAddr;

/// A new request id: 32 hex characters, random.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A record with the given head and no body; headers keep their order.
/// `connection` is the connection's part of the record ([`connection`]).
pub fn from_parts(
    id: String,
    tenant: &str,
    parts: &http::request::Parts,
    connection: Connection,
) -> Request {
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| parts.uri.to_string());
    Request {
        id,
        tenant: tenant.to_string(),
        method: parts.method.as_str().to_string(),
        target,
        version: version_str(parts.version).to_string(),
        headers: headers_of(&parts.headers),
        body: Vec::new(),
        body_truncated: false,
        connection,
        annotations: Vec::new(),
    }
}

/// The connection's part of every record (written once per connection, then
/// cloned per request). `tls` is the connection's TLS info (`None` for
/// plain HTTP).
pub fn connection(client: SocketAddr, server: SocketAddr, tls: Option<TlsInfo>) -> Connection {
    Connection {
        client_addr: client.ip().to_canonical().to_string(),
        client_port: client.port(),
        server_addr: server.ip().to_canonical().to_string(),
        server_port: server.port(),
        tls,
    }
}

/// Headers as WIT records, in order (names are lower-case in `http`).
pub fn headers_of(map: &http::HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(n, v)| Header {
            name: n.as_str().to_string(),
            value: v.as_bytes().to_vec(),
        })
        .collect()
}

/// `HTTP/1.1` and so on.
pub fn version_str(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// An empty `GET /` from 127.0.0.1 (tests and tools).
pub fn empty_request() -> Request {
    Request {
        id: new_request_id(),
        tenant: String::new(),
        method: "GET".into(),
        target: "/".into(),
        version: "HTTP/1.1".into(),
        headers: Vec::new(),
        body: Vec::new(),
        body_truncated: false,
        connection: Connection {
            client_addr: "127.0.0.1".into(),
            client_port: 50000,
            server_addr: "127.0.0.1".into(),
            server_port: 8080,
            tls: None,
        },
        annotations: Vec::new(),
    }
}

/// A request from 127.0.0.1 with the given method, target, headers (names
/// lower-cased) and body, built on [`empty_request`] (tests, tools, benchmarks).
pub fn new_request<N: AsRef<str>, V: AsRef<[u8]>>(
    method: &str,
    target: &str,
    headers: impl IntoIterator<Item = (N, V)>,
    body: Vec<u8>,
) -> Request {
    let mut r = empty_request();
    r.method = method.to_string();
    r.target = target.to_string();
    r.headers = headers
        .into_iter()
        .map(|(n, v)| Header {
            name: n.as_ref().to_ascii_lowercase(),
            value: v.as_ref().to_vec(),
        })
        .collect();
    r.body = body;
    r
}

/// A request read from a file: the record (without body) and the body.
#[derive(Debug)]
pub struct FileRequest {
    /// The record.
    pub request: Request,
    /// The body.
    pub body: Vec<u8>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRequest {
    #[serde(default = "get")]
    method: String,
    #[serde(alias = "uri", alias = "url", alias = "path")]
    target: String,
    #[serde(default = "http11")]
    version: String,
    #[serde(default)]
    headers: JsonHeaders,
    #[serde(default)]
    body: String,
    #[serde(default)]
    client: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(untagged)]
enum JsonHeaders {
    #[default]
    None,
    Map(std::collections::BTreeMap<String, String>),
    List(Vec<(String, String)>),
}

fn get() -> String {
    "GET".into()
}
fn http11() -> String {
    "HTTP/1.1".into()
}

/// Parses a request file: JSON (`{"method", "target", "headers", "body",
/// "client"}`) when it starts with `{`, raw HTTP/1.x otherwise.
pub fn parse_file(bytes: &[u8]) -> Result<FileRequest, String> {
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &bytes[i..])
        .unwrap_or(b"");
    if trimmed.first() == Some(&b'{') {
        parse_json(trimmed)
    } else {
        parse_raw(trimmed)
    }
}

fn parse_json(bytes: &[u8]) -> Result<FileRequest, String> {
    let j: JsonRequest = serde_json::from_slice(bytes).map_err(|e| format!("JSON request: {e}"))?;
    let mut request = empty_request();
    request.method = j.method;
    request.target = j.target;
    request.version = j.version;
    let pairs: Vec<(String, String)> = match j.headers {
        JsonHeaders::None => Vec::new(),
        JsonHeaders::Map(m) => m.into_iter().collect(),
        JsonHeaders::List(l) => l,
    };
    request.headers = pairs
        .into_iter()
        .map(|(n, v)| Header {
            name: n.to_ascii_lowercase(),
            value: v.into_bytes(),
        })
        .collect();
    if let Some(c) = j.client {
        request.connection.client_addr = c;
    }
    Ok(FileRequest {
        request,
        body: j.body.into_bytes(),
    })
}

fn parse_raw(bytes: &[u8]) -> Result<FileRequest, String> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Request::new(&mut headers);
    let status = parsed
        .parse(bytes)
        .map_err(|e| format!("raw HTTP request: {e}"))?;
    let head_len = match status {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            return Err(
                "raw HTTP request: incomplete head (missing blank line after headers?)".into(),
            );
        }
    };
    let mut request = empty_request();
    request.method = parsed.method.unwrap_or("GET").to_string();
    request.target = parsed.path.unwrap_or("/").to_string();
    request.version = if parsed.version == Some(0) {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    }
    .into();
    request.headers = parsed
        .headers
        .iter()
        .map(|h| Header {
            name: h.name.to_ascii_lowercase(),
            value: h.value.to_vec(),
        })
        .collect();
    Ok(FileRequest {
        request,
        body: bytes[head_len..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_http_file() {
        let f = parse_file(b"POST /login?x=1 HTTP/1.1\r\nHost: shop\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nuser=a&pw=b")
            .unwrap();
        assert_eq!(f.request.method, "POST");
        assert_eq!(f.request.target, "/login?x=1");
        assert_eq!(f.request.headers[0].name, "host");
        assert_eq!(f.body, b"user=a&pw=b");
    }

    #[test]
    fn json_file_with_map_or_list_headers() {
        let f = parse_file(
            br#"{"method":"GET","uri":"/?q=1","headers":{"User-Agent":"x"},"client":"10.0.0.1"}"#,
        )
        .unwrap();
        assert_eq!(f.request.target, "/?q=1");
        assert_eq!(f.request.headers[0].name, "user-agent");
        assert_eq!(f.request.connection.client_addr, "10.0.0.1");
        let f = parse_file(br#"{"target":"/","headers":[["a","1"],["a","2"]]}"#).unwrap();
        assert_eq!(f.request.headers.len(), 2);
    }

    #[test]
    fn broken_files_get_clear_errors() {
        assert!(
            parse_file(b"{\"target\":1}")
                .unwrap_err()
                .contains("JSON request")
        );
        assert!(
            parse_file(b"GET / HTTP/1.1\r\nHost: x\r\n")
                .unwrap_err()
                .contains("incomplete")
        );
        assert!(
            parse_file(b"\x00\x01garbage")
                .unwrap_err()
                .contains("raw HTTP")
        );
    }

    #[test]
    fn request_ids_are_unique() {
        assert_ne!(new_request_id(), new_request_id());
        assert_eq!(new_request_id().len(), 32);
    }
}
