//! The built-in echo origin (`edgewaf echo --listen ADDR`): answers every request
//! with the request it received, as JSON. `POST /reflect` answers the way CRS's
//! test backend does: status, headers and body taken from the request's JSON
//! (`{"status": 200, "headers": {"k": "v"}, "body": "...", "encodedBody": "<base64>"}`),
//! so response rules can be exercised for real.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Serves the echo origin until the task is dropped.
pub async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| async move {
                Ok::<_, Infallible>(handle(req, peer).await)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp
}

async fn handle(req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, 32 * 1024 * 1024).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return respond(
                StatusCode::PAYLOAD_TOO_LARGE,
                "text/plain",
                "body too large",
            );
        }
    };
    if parts.uri.path() == "/reflect" && !body.is_empty() {
        return reflect(&body);
    }
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let echo = serde_json::json!({
        "method": parts.method.as_str(),
        "target": parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        "version": crate::serve::request::version_str(parts.version),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
        "client": peer.to_string(),
    });
    respond(StatusCode::OK, "application/json", echo.to_string())
}

#[derive(serde::Deserialize)]
struct Reflect {
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default, rename = "encodedBody")]
    encoded_body: Option<String>,
}

fn reflect(body: &[u8]) -> Response<Full<Bytes>> {
    let spec: Reflect = match serde_json::from_slice(body) {
        Ok(s) => s,
        Err(e) => {
            return respond(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("reflect: invalid JSON: {e}"),
            );
        }
    };
    let payload: Vec<u8> = match (&spec.encoded_body, &spec.body) {
        (Some(enc), _) => match base64_decode(enc) {
            Some(b) => b,
            None => {
                return respond(
                    StatusCode::BAD_REQUEST,
                    "text/plain",
                    "reflect: encodedBody is not base64",
                );
            }
        },
        (None, Some(b)) => b.clone().into_bytes(),
        (None, None) => Vec::new(),
    };
    let status = spec
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut resp = Response::new(Full::new(Bytes::from(payload)));
    *resp.status_mut() = status;
    for (k, v) in &spec.headers {
        if k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip_known_values() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn reflect_sets_status_headers_body() {
        let resp = reflect(br#"{"status":503,"headers":{"x-a":"1"},"body":"oops"}"#);
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["x-a"], "1");
    }
}
