//! The HTTP/1.1 reverse proxy: accept, read the request under limits, pick the
//! tenant by Host, run its chain, forward allowed requests to the upstream over
//! pooled connections, inspect the response when a policy asked to, log.

use crate::app::App;
use crate::chain::{self, Decision, Outcome};
use crate::events::{DecisionEvent, LoggedFinding, Masker, timestamp};
use crate::runtime::{Header, Response as WitResponse, Severity, TlsInfo};
use crate::tenants::Tenant;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The body type of every response the proxy sends.
pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// Hop-by-hop headers, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Accepts plain-HTTP connections on `listener` until the task is dropped.
pub async fn serve(app: Arc<App>, listener: TcpListener) {
    accept_loop(app, listener, None).await
}

/// Accepts HTTPS connections on `listener` (`[server.tls]`, see [`crate::tls`])
/// until the task is dropped. A failed handshake (for instance a client
/// certificate that does not verify) closes the connection before any request.
pub async fn serve_tls(app: Arc<App>, listener: TcpListener, tls: TlsAcceptor) {
    accept_loop(app, listener, Some(tls)).await
}

async fn accept_loop(app: Arc<App>, listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let local = stream.local_addr().unwrap_or(peer);
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let header_timeout = Duration::from_millis(app.config.server.header_timeout_ms);
            let Some(acceptor) = tls else {
                return serve_connection(app, TokioIo::new(stream), peer, local, None).await;
            };
            // The handshake shares the time a client has to send the request head.
            let stream = match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::info!("TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake with {peer} timed out");
                    return;
                }
            };
            let info = match crate::tls::tls_info(stream.get_ref().1) {
                Ok(info) => info,
                Err(e) => {
                    tracing::warn!("TLS connection from {peer} closed: {e}");
                    return;
                }
            };
            serve_connection(app, TokioIo::new(stream), peer, local, Some(Arc::new(info))).await
        });
    }
}

async fn serve_connection<I>(
    app: Arc<App>,
    io: I,
    peer: SocketAddr,
    local: SocketAddr,
    tls: Option<Arc<TlsInfo>>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let header_timeout = Duration::from_millis(app.config.server.header_timeout_ms);
    let svc = hyper::service::service_fn(move |req| {
        let app = app.clone();
        let tls = tls.clone();
        async move { Ok::<_, Infallible>(handle(app, req, peer, local, tls).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(io, svc);
    if let Err(e) = conn.await {
        tracing::debug!("connection from {peer}: {e}");
    }
}

/// A small JSON answer with the request id, never rule ids or internals.
pub fn json_answer(status: StatusCode, id: &str, error: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({ "error": error, "request_id": id }).to_string();
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_request_id(h, id);
    resp
}

fn set_request_id(h: &mut http::HeaderMap, id: &str) {
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
}

/// The response for a decision that is not `Allow`.
pub fn decision_response(outcome: &Outcome, id: &str) -> Option<Response<ProxyBody>> {
    match outcome {
        Outcome::Allow => None,
        Outcome::Deny { status, headers } => {
            let status = StatusCode::from_u16(*status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::FORBIDDEN);
            let mut resp = json_answer(status, id, "request blocked");
            for (name, value) in headers {
                // Policies may add e.g. www-authenticate or retry-after, but not
                // replace the framing or the request id.
                let lower = name.to_ascii_lowercase();
                if lower == "content-length"
                    || lower == "x-request-id"
                    || HOP_BY_HOP.contains(&lower.as_str())
                {
                    continue;
                }
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(lower.as_bytes()),
                    HeaderValue::from_bytes(value),
                ) {
                    resp.headers_mut().append(n, v);
                }
            }
            Some(resp)
        }
        Outcome::Redirect(location) => {
            let mut resp = json_answer(StatusCode::FOUND, id, "redirect");
            if let Ok(v) = HeaderValue::from_str(location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Some(resp)
        }
    }
}

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    client: SocketAddr,
    server: SocketAddr,
    tls: Option<Arc<TlsInfo>>,
) -> Response<ProxyBody> {
    let id = crate::request::new_request_id();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let tenants = app.registry.snapshot();
    let Some(tenant) = tenants.for_host(&host).cloned() else {
        app.metrics.request("", "misdirected");
        return json_answer(StatusCode::MISDIRECTED_REQUEST, &id, "unknown host");
    };
    let (parts, body) = req.into_parts();

    // Read the body under the size and time limits.
    let max = app.config.server.max_request_body;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        app.metrics.request(&tenant.name, "too-large");
        return json_answer(StatusCode::PAYLOAD_TOO_LARGE, &id, "request body too large");
    }
    let body_timeout = Duration::from_millis(app.config.server.body_timeout_ms);
    let full_body = match tokio::time::timeout(body_timeout, Limited::new(body, max).collect())
        .await
    {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                app.metrics.request(&tenant.name, "too-large");
                return json_answer(StatusCode::PAYLOAD_TOO_LARGE, &id, "request body too large");
            }
            app.metrics.request(&tenant.name, "bad-request");
            return json_answer(
                StatusCode::BAD_REQUEST,
                &id,
                "could not read the request body",
            );
        }
        Err(_) => {
            app.metrics.request(&tenant.name, "timeout");
            return json_answer(StatusCode::REQUEST_TIMEOUT, &id, "request body timed out");
        }
    };

    let mut record = crate::request::from_parts(
        id.clone(),
        &tenant.name,
        &parts,
        client,
        server,
        tls.as_deref().cloned(),
    );
    let mut inspect_body = Vec::new();
    if tenant.needs_body {
        let limit = tenant.config.body_limit;
        let n = full_body.len().min(limit);
        inspect_body = full_body[..n].to_vec();
        record.body_truncated = full_body.len() > limit;
    }

    let decision =
        chain::on_request(&tenant, &mut record, &mut inspect_body, Some(&app.metrics)).await;
    if let Some(resp) = decision_response(&decision.outcome, &id) {
        let status = resp.status().as_u16();
        finish(&app, &tenant, &record, &decision, status);
        return resp;
    }

    let upstream = match forward(&app, &tenant, &parts, &record, &decision, full_body, client).await
    {
        Ok(r) => r,
        Err(status) => {
            app.metrics.upstream_error(&tenant.name);
            let resp = json_answer(
                status,
                &id,
                if status == StatusCode::GATEWAY_TIMEOUT {
                    "upstream timed out"
                } else {
                    "upstream unavailable"
                },
            );
            finish(&app, &tenant, &record, &decision, status.as_u16());
            return resp;
        }
    };

    let (resp, decision) = if tenant.inspects_response {
        inspect_response(
            &app,
            &tenant,
            &mut record,
            &mut inspect_body,
            decision,
            upstream,
        )
        .await
    } else {
        let (mut rparts, rbody) = upstream.into_parts();
        strip_hop_by_hop(&mut rparts.headers);
        (Response::from_parts(rparts, rbody.boxed()), decision)
    };
    let mut resp = resp;
    set_request_id(resp.headers_mut(), &id);
    finish(&app, &tenant, &record, &decision, resp.status().as_u16());
    resp
}

fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    for h in HOP_BY_HOP {
        headers.remove(*h);
    }
}

async fn forward(
    app: &App,
    tenant: &Tenant,
    parts: &http::request::Parts,
    record: &crate::runtime::Request,
    decision: &Decision,
    body: Bytes,
    client: SocketAddr,
) -> Result<Response<Incoming>, StatusCode> {
    let uri: http::Uri = format!(
        "{}{}",
        tenant.config.upstream.trim_end_matches('/'),
        record.target
    )
    .parse()
    .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let mut builder = Request::builder().method(parts.method.clone()).uri(uri);
    let headers = builder.headers_mut().ok_or(StatusCode::BAD_GATEWAY)?;
    for (name, value) in &parts.headers {
        headers.append(name.clone(), value.clone());
    }
    strip_hop_by_hop(headers);
    for name in &decision.remove_headers {
        headers.remove(name.as_str());
    }
    for Header { name, value } in &decision.add_headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            headers.insert(n, v);
        }
    }
    set_request_id(headers, &record.id);
    let client_ip = client.ip().to_canonical().to_string();
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {client_ip}"),
        None => client_ip,
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert("x-forwarded-for", v);
    }
    let proto = if record.connection.tls.is_some() {
        "https"
    } else {
        "http"
    };
    headers.insert("x-forwarded-proto", HeaderValue::from_static(proto));
    let req = builder
        .body(Full::new(body))
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let timeout = Duration::from_millis(app.config.server.upstream_timeout_ms);
    match tokio::time::timeout(timeout, app.client.request(req)).await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(e)) => {
            tracing::warn!(tenant = %tenant.name, "upstream {}: {e}", tenant.config.upstream);
            Err(StatusCode::BAD_GATEWAY)
        }
        Err(_) => Err(StatusCode::GATEWAY_TIMEOUT),
    }
}

async fn inspect_response(
    app: &App,
    tenant: &Tenant,
    record: &mut crate::runtime::Request,
    inspect_body: &mut Vec<u8>,
    mut decision: Decision,
    upstream: Response<Incoming>,
) -> (Response<ProxyBody>, Decision) {
    let (mut rparts, rbody) = upstream.into_parts();
    strip_hop_by_hop(&mut rparts.headers);
    let timeout = Duration::from_millis(app.config.server.upstream_timeout_ms);
    let max = app.config.server.max_request_body;
    let body = match tokio::time::timeout(timeout, Limited::new(rbody, max).collect()).await {
        Ok(Ok(c)) => c.to_bytes(),
        _ => {
            app.metrics.upstream_error(&tenant.name);
            decision
                .errors
                .push("upstream response body unreadable or too large".into());
            return (
                json_answer(StatusCode::BAD_GATEWAY, &record.id, "upstream unavailable"),
                decision,
            );
        }
    };
    let limit = tenant.config.response_body_limit;
    let wit = WitResponse {
        status: rparts.status.as_u16(),
        headers: crate::request::headers_of(&rparts.headers),
        body: body[..body.len().min(limit)].to_vec(),
        body_truncated: body.len() > limit,
    };
    let second = chain::on_response(tenant, record, inspect_body, &wit, Some(&app.metrics)).await;
    decision.findings.extend(second.findings);
    decision.errors.extend(second.errors);
    decision.annotations.extend(second.annotations);
    decision.eval_us += second.eval_us;
    if decision.would_deny.is_none() {
        decision.would_deny = second.would_deny;
        if decision.reason.is_none() {
            decision.reason = second.reason.clone();
        }
    }
    if let Some(resp) = decision_response(&second.outcome, &record.id) {
        decision.outcome = second.outcome;
        decision.policy = second.policy;
        decision.reason = second.reason;
        decision.failed = second.failed;
        return (resp, decision);
    }
    rparts.headers.remove(header::CONTENT_LENGTH);
    (Response::from_parts(rparts, full(body)), decision)
}

/// The severity's name for logs.
pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Emergency => "emergency",
        Severity::Alert => "alert",
        Severity::Critical => "critical",
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
        Severity::Info => "info",
        Severity::Debug => "debug",
    }
}

/// Builds the decision event for a request (secrets masked).
pub fn decision_event(
    tenant: &Tenant,
    record: &crate::runtime::Request,
    decision: &Decision,
    status: u16,
) -> DecisionEvent {
    let path = record.target.split('?').next().unwrap_or("").to_string();
    let query = record.target.split_once('?').map(|(_, q)| q);
    let masker = Masker::new(
        record
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_slice())),
        query,
    );
    DecisionEvent {
        ts: timestamp(),
        request_id: record.id.clone(),
        tenant: tenant.name.clone(),
        tenant_version: Some(tenant.version.clone()),
        client_ip: record.connection.client_addr.clone(),
        method: record.method.clone(),
        path: masker.mask(&path),
        action: decision.action(),
        status,
        mode: match tenant.config.mode {
            crate::config::Mode::Block => "block",
            crate::config::Mode::Detect => "detect",
        },
        policy: decision.policy.clone(),
        would_deny: decision.would_deny.clone(),
        rule_ids: decision
            .findings
            .iter()
            .map(|(_, f)| f.rule_id.clone())
            .collect(),
        findings: decision
            .findings
            .iter()
            .map(|(p, f)| LoggedFinding {
                policy: p.clone(),
                rule_id: f.rule_id.clone(),
                message: masker.mask(&f.message),
                severity: severity_name(f.severity),
                tags: f.tags.clone(),
                data: masker.mask(&f.data),
            })
            .collect(),
        reason: decision.reason.as_deref().map(|r| masker.mask(r)),
        errors: decision.errors.clone(),
        annotations: decision
            .annotations
            .iter()
            .map(|a| (a.key.clone(), masker.mask(&a.value)))
            .collect(),
        eval_us: decision.eval_us,
    }
}

fn finish(
    app: &App,
    tenant: &Tenant,
    record: &crate::runtime::Request,
    decision: &Decision,
    status: u16,
) {
    app.metrics.request(&tenant.name, decision.action());
    app.events
        .record(decision_event(tenant, record, decision, status));
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_text(resp: Response<ProxyBody>) -> String {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn deny_answers_carry_the_id_and_no_internals() {
        let outcome = Outcome::Deny {
            status: 401,
            headers: vec![
                (
                    "WWW-Authenticate".into(),
                    b"Bearer error=\"invalid_token\"".to_vec(),
                ),
                ("content-length".into(), b"999".to_vec()),
                ("x-request-id".into(), b"forged".to_vec()),
                ("transfer-encoding".into(), b"chunked".to_vec()),
            ],
        };
        let resp = decision_response(&outcome, "abc123").unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["x-request-id"], "abc123");
        assert_eq!(
            resp.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        assert!(resp.headers().get("transfer-encoding").is_none());
        assert_eq!(resp.headers().get_all("x-request-id").iter().count(), 1);
        let body = body_text(resp).await;
        assert_eq!(body, r#"{"error":"request blocked","request_id":"abc123"}"#);
    }

    #[tokio::test]
    async fn redirects_and_allows() {
        let resp = decision_response(&Outcome::Redirect("/login".into()), "id1").unwrap();
        assert_eq!(resp.status(), 302);
        assert_eq!(resp.headers()["location"], "/login");
        assert!(decision_response(&Outcome::Allow, "id2").is_none());
        let resp = decision_response(
            &Outcome::Deny {
                status: 999,
                headers: vec![],
            },
            "id3",
        )
        .unwrap();
        assert_eq!(resp.status(), 403, "an impossible status falls back to 403");
    }

    #[test]
    fn hop_by_hop_headers_are_stripped() {
        let mut h = http::HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("close"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-keep", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-keep"));
    }
}
