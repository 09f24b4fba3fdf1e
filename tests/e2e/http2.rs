//! HTTP/2 inbound: prior knowledge (h2c) on the plain listener and h2 over
//! TLS through ALPN, with a hyper HTTP/2 client. The same verdicts as
//! HTTP/1.1 (allow, deny, detect), the host taken from `:authority`, and the
//! origin still spoken to over HTTP/1.1 without HTTP/2's own headers.

use crate::support::*;
use crate::tls::{BOTH, Pki};
use bytes::Bytes;
use http::{Request, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

const BLOCK: &str = "hosts = [\"shop.test\"]\nupstream = \"http://{upstream}\"\n[[policy]]\nmodule = \"signatures\"\n";
const DETECT: &str = "hosts = [\"api.test\"]\nupstream = \"http://{upstream}\"\nmode = \"detect\"\n[[policy]]\nmodule = \"signatures\"\n";
const SQLI: &str = "/products?id=1%27%20OR%20%271%27%3D%271";

/// An answer read over HTTP/2.
struct H2Resp {
    version: Version,
    status: u16,
    request_id: String,
    body: String,
}

impl H2Resp {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn get(scheme: &str, host: &str, target: &str) -> Request<Full<Bytes>> {
    Request::get(format!("{scheme}://{host}{target}"))
        .body(Full::default())
        .unwrap()
}

/// Sends the requests one after the other on one HTTP/2 connection.
async fn exchange<IO>(io: IO, requests: Vec<Request<Full<Bytes>>>) -> Vec<H2Resp>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(conn);
    let mut out = Vec::new();
    for req in requests {
        let resp = sender.send_request(req).await.expect("HTTP/2 exchange");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        out.push(H2Resp {
            version: parts.version,
            status: parts.status.as_u16(),
            request_id: parts.headers["x-request-id"].to_str().unwrap().to_string(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    out
}

/// allow, deny and detect over one connection, plus a POST whose body the
/// origin must get, split cookies joined and `te: trailers` not forwarded.
fn requests(scheme: &str) -> Vec<Request<Full<Bytes>>> {
    let post = Request::post(format!("{scheme}://shop.test/orders"))
        .header("content-type", "application/json")
        .header("cookie", "a=1")
        .header("cookie", "b=2")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(br#"{"sku":"A-1","qty":2}"#)))
        .unwrap();
    let xss = Request::post(format!("{scheme}://shop.test/comment"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(
            b"name=bob&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        )))
        .unwrap();
    vec![
        get(scheme, "shop.test", "/products?page=2"),
        post,
        get(scheme, "shop.test", SQLI),
        xss,
        get(scheme, "api.test", SQLI),
    ]
}

fn check_verdicts(waf: &Waf, got: &[H2Resp]) {
    for r in got {
        assert_eq!(r.version, Version::HTTP_2, "{}", r.body);
    }
    let [allow, post, deny, xss, detect] = got else {
        panic!("five answers expected");
    };

    // Allowed: the origin got an HTTP/1.1 request with Host from :authority.
    assert_eq!(allow.status, 200, "{}", allow.body);
    let echoed = allow.json();
    assert_eq!(echoed["target"], "/products?page=2");
    assert_eq!(echoed["version"], "HTTP/1.1");
    let headers = echoed["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h[0] == "host" && h[1] == "shop.test"),
        "{echoed}"
    );
    let d = waf.decision(&allow.request_id);
    assert_eq!(
        (d["action"].as_str(), d["tenant"].as_str()),
        (Some("allow"), Some("shop"))
    );

    assert_eq!(post.status, 200, "{}", post.body);
    let echoed = post.json();
    assert_eq!(echoed["body"], r#"{"sku":"A-1","qty":2}"#);
    let headers = echoed["headers"].as_array().unwrap();
    let cookies: Vec<_> = headers.iter().filter(|h| h[0] == "cookie").collect();
    assert_eq!(cookies.len(), 1, "{echoed}");
    assert_eq!(cookies[0][1], "a=1; b=2");
    assert!(
        headers.iter().all(|h| h[0] != "te" && h[0] != "connection"),
        "{echoed}"
    );

    // Denied in block mode: 403, the request id, no internals.
    for r in [deny, xss] {
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.json()["request_id"], r.request_id.as_str());
        assert!(!r.body.contains("sig-"), "{}", r.body);
        let d = waf.decision(&r.request_id);
        assert_eq!(d["action"], "deny", "{d}");
        assert!(!d["rule_ids"].as_array().unwrap().is_empty(), "{d}");
    }

    // Detect mode: passes, and the log names what would have denied.
    assert_eq!(detect.status, 200, "{}", detect.body);
    let d = waf.decision(&detect.request_id);
    assert_eq!(d["mode"], "detect", "{d}");
    assert_eq!(d["would_deny"], "signatures", "{d}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn h2c_prior_knowledge_allow_deny_detect() {
    let echo = Echo::start();
    let waf = Waf::start(&echo.addr, &[("shop", BLOCK), ("api", DETECT)]);
    let got = runtime().block_on(async {
        let tcp = tokio::net::TcpStream::connect(&waf.addr).await.unwrap();
        exchange(tcp, requests("http")).await
    });
    check_verdicts(&waf, &got);

    // The same listener still speaks HTTP/1.1, with the same verdict.
    let r = waf.get("shop.test", SQLI);
    assert_eq!(r.status, 403, "{r:?}");
}

/// A TLS client trusting the test CA, offering the given ALPN ids.
fn tls_client(pki: &Pki, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut config = (*pki.client(None, BOTH)).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[test]
fn h2_over_tls_with_alpn_allow_deny_detect() {
    let echo = Echo::start();
    let pki = Pki::new();
    let mut waf = Waf::prepare(&echo.addr, &[("shop", BLOCK), ("api", DETECT)]);
    waf.write_config(&pki.install(&waf, "optional"));
    waf.spawn();
    let rt = runtime();
    let name = |s: &str| rustls::pki_types::ServerName::try_from(s.to_string()).unwrap();

    let got = rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(&waf.addr).await.unwrap();
        let connector = tls_client(&pki, &[b"h2", b"http/1.1"]);
        let tls = connector.connect(name("shop.test"), tcp).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        exchange(tls, requests("https")).await
    });
    check_verdicts(&waf, &got);

    // A client offering only HTTP/1.1 gets HTTP/1.1 on the same listener.
    let version = rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(&waf.addr).await.unwrap();
        let connector = tls_client(&pki, &[b"http/1.1"]);
        let tls = connector.connect(name("shop.test"), tcp).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::get("/products")
            .header("host", "shop.test")
            .body(Full::<Bytes>::default())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.version()
    });
    assert_eq!(version, Version::HTTP_11);
}
