//! The HTTP request path into the WIT record: raw bytes from a client go
//! through hyper's HTTP/1 server (the parser the proxy runs, with the same
//! timer and header timeout) over an in-memory pipe; the handler reads the
//! body under a size limit as the proxy does and builds the record with
//! `request::from_parts`, checking it against the parsed head. The same
//! bytes also go through `request::parse_file` (`edgewaf check`).

use super::{bucket, error_class, feature};
use crate::corpus::{Corpus, raw_request};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MAX_BODY: usize = 64 * 1024;

/// Records built so far (the tests check that inputs reach `from_parts`).
pub static RECORDS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
}

async fn handle(req: http::Request<Incoming>) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let status = if declared.is_some_and(|n| n > MAX_BODY as u64) {
        413
    } else {
        match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => {
                let body = b.to_bytes();
                check_record(&parts, &body);
                200
            }
            Err(_) => 400,
        }
    };
    let mut resp = http::Response::new(Full::new(Bytes::from_static(b"ok")));
    *resp.status_mut() = http::StatusCode::from_u16(status).expect("valid status");
    Ok(resp)
}

/// Builds the record as the proxy does and checks it against the head.
fn check_record(parts: &http::request::Parts, body: &[u8]) {
    let client: SocketAddr = "[::ffff:192.0.2.1]:40000".parse().expect("address");
    let server: SocketAddr = "127.0.0.1:8080".parse().expect("address");
    let connection = edgewaf::serve::request::connection(client, server, None);
    let mut r = edgewaf::serve::request::from_parts("id".into(), "fuzz", parts, connection);
    r.body = body.to_vec();
    RECORDS.fetch_add(1, Ordering::Relaxed);
    assert_eq!(r.method, parts.method.as_str(), "method copied");
    assert_eq!(r.headers.len(), parts.headers.len(), "every header kept");
    assert!(
        !r.target.is_empty(),
        "empty request-target for {:?}",
        parts.uri
    );
    assert_eq!(
        r.connection.client_addr, "192.0.2.1",
        "mapped IPv4 made canonical"
    );
    for (h, (n, v)) in r.headers.iter().zip(parts.headers.iter()) {
        assert_eq!(h.name, n.as_str());
        assert_eq!(h.value, v.as_bytes());
    }
}

async fn exchange(input: &[u8]) -> Vec<u8> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(5))
        // The client half-closes after its bytes; answer anyway (the proxy
        // would close instead, which says nothing about the parsing).
        .half_close(true)
        .serve_connection(TokioIo::new(server), service_fn(handle));
    let (mut rd, mut wr) = tokio::io::split(client);
    let send = async move {
        let _ = wr.write_all(input).await;
        let _ = wr.shutdown().await;
    };
    let mut out = Vec::new();
    let read = rd.read_to_end(&mut out);
    let _ = tokio::join!(conn, send, read);
    out
}

/// Runs one input.
pub fn run(input: &[u8]) -> u64 {
    let resp = RT.with(|rt| rt.block_on(exchange(input)));
    let responses = resp.windows(9).filter(|w| *w == b"HTTP/1.1 ").count();
    let first = resp.get(9..12).map(<[u8]>::to_vec);
    let file = match edgewaf::serve::request::parse_file(input) {
        Ok(f) => feature((f.request.headers.len().min(8), bucket(f.body.len()))),
        Err(e) => error_class(&e),
    };
    feature((first, bucket(responses), file))
}

/// HTTP/1 syntax.
pub const DICT: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"CONNECT ",
    b"OPTIONS * ",
    b" HTTP/1.1\r\n",
    b" HTTP/1.0\r\n",
    b" HTTP/2.0\r\n",
    b"Host: ",
    b"Content-Length: ",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Connection: keep-alive\r\n",
    b"Expect: 100-continue\r\n",
    b"\r\n\r\n",
    b"0\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"5;ext=1\r\n",
    b"\r\n ",
    b" : ",
    b"http://a.example:8080/",
    b"//",
    b"?",
    b"#",
    b"%00",
    b":",
    b"\x7f",
    b"Trailer: x\r\n",
    b"Cookie: a=1; b=2\r\n",
    b"Upgrade: h2c\r\n",
];

/// Seeds: the CRS tests' requests as raw HTTP, and a few framings.
pub fn seeds(c: &Corpus) -> Vec<Vec<u8>> {
    let mut s: Vec<Vec<u8>> = [
        &b"GET /index.php?a=1&b=%27 HTTP/1.1\r\nHost: localhost\r\nCookie: s=1\r\n\r\n"[..],
        b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2",
        b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
        b"GET http://a.example/x?y HTTP/1.1\r\nHost: a.example\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.0\n\n",
        b"{\"method\":\"POST\",\"target\":\"/x\",\"headers\":{\"a\":\"b\"},\"body\":\"q=1\",\"client\":\"10.0.0.1\"}",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    s.extend(c.requests.iter().map(raw_request));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(raw: &[u8]) -> String {
        let out = RT.with(|rt| rt.block_on(exchange(raw)));
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn requests_reach_the_record_and_bad_ones_get_400() {
        let before = RECORDS.load(Ordering::Relaxed);
        let ok = answer(b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(RECORDS.load(Ordering::Relaxed) > before);
        let bad = answer(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n");
        assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
        let big = answer(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n");
        assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    }
}
