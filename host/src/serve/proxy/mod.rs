//! The reverse proxy: accept (HTTP/1.1, HTTP/2 over TLS with ALPN, HTTP/2 with
//! prior knowledge), check the request head, read the body under limits, pick
//! the tenant by Host (`:authority` in HTTP/2), run its chain, forward allowed
//! requests to the upstream over pooled HTTP/1.1 connections, inspect the
//! response when a policy asked to, log.
//!
//! - [`listen`]: connections, TLS, the HTTP version, header-read timeouts.
//! - [`framing`]: the head's checks and the hop-by-hop headers.
//! - [`event`]: the decision event of a request.

use crate::app::App;
use crate::control::tenants::Tenant;
use crate::serve::chain::{self, Decision, Outcome};
use crate::serve::runtime::Response as WitResponse;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, Version, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::sync::Arc;
use std::time::Duration;

mod event;
pub mod framing;
mod listen;

pub use event::{decision_event, severity_name};
use framing::strip_hop_by_hop;
pub use listen::{serve, serve_tls};

/// The body type of every response the proxy sends.
pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A small JSON answer with the request id, never rule ids or internals.
pub fn json_answer(status: StatusCode, id: &str, error: &str) -> Response<ProxyBody> {
    let mut resp = Response::new(full(edgewaf_chain::answer_body(error, id)));
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

/// The response for a decision that is not `Allow` (the chain crate's
/// answer: status, error text, which policy headers it takes).
pub fn decision_response(outcome: &Outcome, id: &str) -> Option<Response<ProxyBody>> {
    let (status, error) = outcome.answer()?;
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error() || s.is_redirection())
        .unwrap_or(StatusCode::FORBIDDEN);
    let mut resp = json_answer(status, id, error);
    match outcome {
        Outcome::Deny { headers, .. } => {
            for (name, value) in headers {
                // e.g. www-authenticate or retry-after.
                if !edgewaf_chain::policy_answer_header(name) {
                    continue;
                }
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_bytes(value),
                ) {
                    resp.headers_mut().append(n, v);
                }
            }
        }
        Outcome::Redirect(location) => {
            if let Ok(v) = HeaderValue::from_str(location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
        }
        Outcome::Allow => {}
    }
    Some(resp)
}

/// An answer that ends the exchange before any policy ran (a bad head, a body
/// too large, too slow or unreadable): HTTP/1 connections are closed after it,
/// since the rest of what the client sent cannot be trusted to start a request.
fn refuse(
    app: &App,
    tenant: &str,
    label: &str,
    version: Version,
    status: StatusCode,
    id: &str,
    reason: &str,
) -> Response<ProxyBody> {
    app.metrics.request(tenant, label);
    let mut resp = json_answer(status, id, reason);
    if version < Version::HTTP_2 {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    connection: Arc<crate::serve::runtime::Connection>,
) -> Response<ProxyBody> {
    let id = crate::serve::request::new_request_id();
    let (mut parts, body) = req.into_parts();
    let version = parts.version;
    let host = match framing::check_head(&mut parts) {
        Ok(host) => host,
        Err(r) => return refuse(&app, "", "bad-request", version, r.status, &id, r.reason),
    };
    let tenants = app.registry.snapshot();
    let Some(tenant) = tenants.for_host(&host).cloned() else {
        app.metrics.request("", "misdirected");
        return json_answer(StatusCode::MISDIRECTED_REQUEST, &id, "unknown host");
    };
    let full_body = match read_body(&app, &parts, body).await {
        Ok(b) => b,
        Err((status, label, reason)) => {
            return refuse(&app, &tenant.name, label, version, status, &id, reason);
        }
    };
    let connection = (*connection).clone();
    let record = crate::serve::request::from_parts(id, &tenant.name, &parts, connection);
    run_chain(&app, &tenant, parts, record, full_body).await
}

/// Reads the whole body under `max_request_body` and `body_timeout_ms`; an
/// error is the status, the metrics label and the reason.
async fn read_body(
    app: &App,
    parts: &http::request::Parts,
    body: Incoming,
) -> Result<Bytes, (StatusCode, &'static str, &'static str)> {
    const TOO_LARGE: (StatusCode, &str, &str) = (
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        "request body too large",
    );
    let max = app.config.server.max_request_body;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(TOO_LARGE);
    }
    let body_timeout = Duration::from_millis(app.config.server.body_timeout_ms);
    match tokio::time::timeout(body_timeout, Limited::new(body, max).collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(TOO_LARGE)
        }
        Ok(Err(_)) => Err((
            StatusCode::BAD_REQUEST,
            "bad-request",
            "could not read the request body",
        )),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "request body timed out",
        )),
    }
}

/// Runs the tenant's chain on the request, then answers the deny or forwards.
async fn run_chain(
    app: &App,
    tenant: &Arc<Tenant>,
    parts: http::request::Parts,
    mut record: crate::serve::runtime::Request,
    full_body: Bytes,
) -> Response<ProxyBody> {
    let id = record.id.clone();
    let body_len = full_body.len();
    let mut inspect_body = Vec::new();
    if tenant.needs_body {
        let limit = tenant.config.body_limit;
        let n = full_body.len().min(limit);
        inspect_body = full_body[..n].to_vec();
        record.body_truncated = full_body.len() > limit;
    }

    let decision =
        chain::on_request(tenant, &mut record, &mut inspect_body, Some(&app.metrics)).await;
    if let Some(resp) = decision_response(&decision.outcome, &id) {
        let sent = Sent {
            status: resp.status().as_u16(),
            body_len,
            resp_bytes: body_size(&resp),
        };
        finish(app, tenant, &record, &decision, sent);
        return resp;
    }

    let upstream = match forward(app, tenant, parts, &record, &decision, full_body).await {
        Ok(r) => r,
        Err(status) => {
            app.metrics.upstream_error(&tenant.name);
            let reason = if status == StatusCode::GATEWAY_TIMEOUT {
                "upstream timed out"
            } else {
                "upstream unavailable"
            };
            let resp = json_answer(status, &id, reason);
            let sent = Sent {
                status: status.as_u16(),
                body_len,
                resp_bytes: body_size(&resp),
            };
            finish(app, tenant, &record, &decision, sent);
            return resp;
        }
    };

    let (mut resp, decision) = if tenant.inspects_response {
        inspect_response(
            app,
            tenant,
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
    set_request_id(resp.headers_mut(), &id);
    let sent = Sent {
        status: resp.status().as_u16(),
        body_len,
        resp_bytes: body_size(&resp),
    };
    finish(app, tenant, &record, &decision, sent);
    resp
}

/// What was sent back, for the decision log.
struct Sent {
    status: u16,
    /// Request body bytes received.
    body_len: usize,
    /// Response body bytes, when known before sending.
    resp_bytes: Option<u64>,
}

fn body_size(resp: &Response<ProxyBody>) -> Option<u64> {
    hyper::body::Body::size_hint(resp.body()).exact()
}

/// Sends the request to the tenant's upstream over HTTP/1.1, whatever the
/// client spoke: the client's header map itself (moved, not copied) without
/// the hop-by-hop headers, one `Content-Length`
/// for the body read, then the chain crate's forwarding rule (the policies'
/// header changes, `x-request-id`, `x-forwarded-host`, `x-forwarded-proto`,
/// `x-forwarded-for`).
async fn forward(
    app: &App,
    tenant: &Tenant,
    parts: http::request::Parts,
    record: &crate::serve::runtime::Request,
    decision: &Decision,
    body: Bytes,
) -> Result<Response<Incoming>, StatusCode> {
    let uri: http::Uri = format!(
        "{}{}",
        tenant.config.upstream.trim_end_matches('/'),
        record.target
    )
    .parse()
    .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let len = body.len();
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = parts.method;
    *req.uri_mut() = uri;
    *req.headers_mut() = parts.headers;
    let headers = req.headers_mut();
    let framed = headers.contains_key(header::CONTENT_LENGTH)
        || headers.contains_key(header::TRANSFER_ENCODING);
    strip_hop_by_hop(headers);
    headers.remove(header::CONTENT_LENGTH);
    if framed || len > 0 {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    let forwarding = edgewaf_chain::Forwarding {
        request_id: &record.id,
        proto: if record.connection.tls.is_some() {
            "https"
        } else {
            "http"
        },
        client_ip: Some(&record.connection.client_addr),
    };
    edgewaf_chain::forward(
        headers,
        &decision.remove_headers,
        &decision.add_headers,
        &forwarding,
    );
    let timeout = Duration::from_millis(app.config.server.upstream_timeout_ms);
    match tokio::time::timeout(timeout, app.client.request(req)).await {
        // The proxy does not tunnel: a protocol switch the client cannot follow.
        Ok(Ok(resp)) if resp.status() == StatusCode::SWITCHING_PROTOCOLS => {
            tracing::warn!(tenant = %tenant.name, "upstream answered 101 to a forwarded request");
            Err(StatusCode::BAD_GATEWAY)
        }
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
    record: &mut crate::serve::runtime::Request,
    inspect_body: &mut Vec<u8>,
    decision: Decision,
    upstream: Response<Incoming>,
) -> (Response<ProxyBody>, Decision) {
    let (mut rparts, rbody) = upstream.into_parts();
    strip_hop_by_hop(&mut rparts.headers);
    let timeout = Duration::from_millis(app.config.server.upstream_timeout_ms);
    let max = app.config.server.max_request_body;
    let body = match tokio::time::timeout(timeout, Limited::new(rbody, max).collect()).await {
        Ok(Ok(c)) => c.to_bytes(),
        _ => {
            let mut decision = decision;
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
        headers: crate::serve::request::headers_of(&rparts.headers),
        body: body[..body.len().min(limit)].to_vec(),
        body_truncated: body.len() > limit,
    };
    // The response phase continues the request phase's fold.
    let metrics = Some(&app.metrics);
    let decision = chain::on_response(tenant, record, inspect_body, &wit, metrics, decision).await;
    if let Some(resp) = decision_response(&decision.outcome, &record.id) {
        return (resp, decision);
    }
    rparts.headers.remove(header::CONTENT_LENGTH);
    (Response::from_parts(rparts, full(body)), decision)
}

fn finish(
    app: &App,
    tenant: &Tenant,
    record: &crate::serve::runtime::Request,
    decision: &Decision,
    sent: Sent,
) {
    app.metrics.request(&tenant.name, decision.action());
    let mut event = decision_event(tenant, record, decision, sent.status);
    event.country = app
        .geo
        .country(
            &record.connection.client_addr,
            record
                .headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.as_slice())),
        )
        .map(|c| crate::serve::geo::country_str(&c).to_string());
    if let Some(alerts) = &tenant.config.alerts {
        app.alerts.observe(alerts, &event);
    }
    let facts = app.events.wants_facts().then(|| {
        crate::observe::ecs::RequestFacts::of_request(record, sent.body_len, sent.resp_bytes)
    });
    app.events.record_with(event, facts);
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
}
