//! The admin API on its own listener. `/healthz` and the dashboard's login
//! page are open; everything else needs `Authorization: Bearer <token>` (or a
//! dashboard session) with a token from the environment (`EDGEWAF_ADMIN_TOKEN`
//! by default, the admin token named `default`; more named tokens with scopes
//! in `[[admin.tokens]]`, see [`crate::control::access`]). A token's scope is checked
//! before any route (403), and every changing call gets an audit record in
//! the event store ([`crate::control::dashboard::audit`]). Errors are JSON. The
//! dashboard's routes are in [`crate::control::dashboard`].
//!
//! | method and path                          | what                                  |
//! |------------------------------------------|---------------------------------------|
//! | `GET /healthz`                           | liveness, no token                    |
//! | `GET /metrics`                           | OpenMetrics text (also on `[admin] metrics_listen` without the token, when set) |
//! | `GET /api/events?limit=N&tenant=T`       | recent decisions, newest first        |
//! | `GET /api/tenants`                       | tenants being served                  |
//! | `GET /api/lists/{name}`                  | a runtime IP list                     |
//! | `POST /api/lists/{name}/entries`         | add `{"cidr", "ttl_secs"?, "comment"?}` |
//! | `DELETE /api/lists/{name}/entries/{cidr}`| remove an entry (`/` as `%2F`)        |
//! | `GET /api/tenants/{t}`                   | one tenant: config, version, policies |
//! | `PUT /api/tenants/{t}`                   | apply a config (TOML, or JSON with `content-type: application/json`) |
//! | `DELETE /api/tenants/{t}`                | stop serving a tenant                 |
//! | `GET /api/tenants/{t}/versions`          | recorded versions, newest first       |
//! | `POST /api/tenants/{t}/rollback`         | previous version, or `{"version": id}` |
//! | `PUT /api/modules/{name}`                | upload a component (stored by SHA-256) |

use crate::app::App;
use crate::control::access::Caller;
use crate::control::manager::{ApplyError, Source};
use crate::serve::proxy::ProxyBody;
use crate::serve::state::{ListEntry, now_ms, parse_cidr};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Accepts admin connections until the task is dropped.
pub async fn serve(app: Arc<App>, listener: TcpListener) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(handle(&app, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Serves `GET /metrics` without a token on the listener of `[admin]
/// metrics_listen`, for scrapers that cannot send one; every other path is
/// 404, so nothing else of the admin API is reachable there.
pub async fn serve_metrics(app: Arc<App>, listener: TcpListener) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                async move {
                    Ok::<_, Infallible>(match (req.method(), req.uri().path()) {
                        (&Method::GET, "/metrics") => metrics(&app),
                        _ => error(StatusCode::NOT_FOUND, "only GET /metrics is served here"),
                    })
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn metrics(app: &App) -> Response<ProxyBody> {
    let mut resp = Response::new(body(app.metrics.render()));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(crate::observe::metrics::CONTENT_TYPE),
    );
    resp
}

fn body(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<ProxyBody> {
    let mut resp = Response::new(body(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

fn error(status: StatusCode, message: &str) -> Response<ProxyBody> {
    json(status, serde_json::json!({ "error": message }))
}

fn query_param<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })
}

async fn handle(app: &App, req: Request<Incoming>) -> Response<ProxyBody> {
    let path = req.uri().path().to_string();
    if path == "/healthz" {
        return json(StatusCode::OK, serde_json::json!({ "status": "ok" }));
    }
    let req = match crate::control::dashboard::public(app, req).await {
        Ok(resp) => return resp,
        Err(req) => req,
    };
    let caller = match crate::control::dashboard::caller(app, &req) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let Err(crate::control::access::Forbidden(why)) =
        crate::control::access::check(&caller, req.method(), &segments)
    {
        crate::control::dashboard::audit::refused(app, &caller, req.method(), &path, &why);
        return error(StatusCode::FORBIDDEN, &why);
    }
    let pending =
        crate::control::dashboard::audit::Pending::start(app, &caller, req.method(), &path);
    let resp = route(app, &caller, req).await;
    match pending {
        Some(p) => p.finish(app, resp).await,
        None => resp,
    }
}

/// The routes, for a caller whose scope allows the call: the dashboard's
/// first, then the API's (one function per endpoint, in the table above).
async fn route(app: &App, caller: &Caller, req: Request<Incoming>) -> Response<ProxyBody> {
    if let Some(resp) = crate::control::dashboard::route(app, caller, &req).await {
        return resp;
    }
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method().clone(), segments.as_slice()) {
        (Method::GET, ["metrics"]) => metrics(app),
        (Method::GET, ["api", "events"]) => events(app, caller, &req),
        (Method::GET, ["api", "tenants"]) => tenants(app, caller),
        (Method::GET, ["api", "tenants", name]) => tenant(app, name),
        (Method::PUT, ["api", "tenants", name]) => put_tenant(app, name, req).await,
        (Method::DELETE, ["api", "tenants", name]) => delete_tenant(app, name).await,
        (Method::GET, ["api", "tenants", name, "versions"]) => versions(app, name),
        (Method::POST, ["api", "tenants", name, "rollback"]) => rollback(app, name, req).await,
        (Method::PUT, ["api", "modules", name]) => put_module(app, name, req).await,
        (Method::GET, ["api", "lists", name]) => list(app, name),
        (Method::POST, ["api", "lists", name, "entries"]) => add_list_entry(app, name, req).await,
        (Method::DELETE, ["api", "lists", name, "entries", cidr]) => {
            remove_list_entry(app, name, cidr)
        }
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

/// `GET /api/events?limit=N&tenant=T`: a tenant-scoped caller sees its own
/// tenant only (403 when it asks for another).
fn events(app: &App, caller: &Caller, req: &Request<Incoming>) -> Response<ProxyBody> {
    let limit = query_param(req, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize);
    let tenant = match caller.narrow(query_param(req, "tenant")) {
        Ok(t) => t,
        Err(e) => return error(StatusCode::FORBIDDEN, &e),
    };
    let events = app.events.recent(limit.min(10_000), tenant);
    json(StatusCode::OK, serde_json::json!({ "events": events }))
}

/// The names of a tenant's policies, in chain order.
fn policy_names(t: &crate::control::tenants::Tenant) -> Vec<String> {
    t.chain.iter().map(|p| p.name().to_string()).collect()
}

/// `GET /api/tenants`: the tenants served (only its own for a tenant-scoped
/// caller).
fn tenants(app: &App, caller: &Caller) -> Response<ProxyBody> {
    let tenants: Vec<_> = app
        .registry
        .snapshot()
        .all()
        .iter()
        .filter(|t| caller.tenant().is_none_or(|own| own == t.name))
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "version": t.version,
                "hosts": t.config.hosts,
                "mode": t.config.mode,
                "policies": policy_names(t),
            })
        })
        .collect();
    json(StatusCode::OK, serde_json::json!({ "tenants": tenants }))
}

/// `GET /api/tenants/{t}`: config, its text, version and policies.
fn tenant(app: &App, name: &str) -> Response<ProxyBody> {
    match app.registry.snapshot().get(name) {
        Some(t) => json(
            StatusCode::OK,
            serde_json::json!({
                "name": t.name,
                "version": t.version,
                "config": t.config,
                "text": t.text,
                "policies": policy_names(t),
            }),
        ),
        None => error(StatusCode::NOT_FOUND, &format!("no tenant {name:?}")),
    }
}

/// `DELETE /api/tenants/{t}`: stop serving it.
async fn delete_tenant(app: &App, name: &str) -> Response<ProxyBody> {
    match app.manager.remove(name, Source::Api).await {
        Ok(()) => json(StatusCode::OK, serde_json::json!({ "removed": name })),
        Err(e) => apply_error(e),
    }
}

/// `GET /api/tenants/{t}/versions`: recorded versions, newest first, and
/// the one served.
fn versions(app: &App, name: &str) -> Response<ProxyBody> {
    let current = app.registry.snapshot().get(name).map(|t| t.version.clone());
    let versions = app.manager.store().versions(name);
    if versions.is_empty() && current.is_none() {
        return error(StatusCode::NOT_FOUND, &format!("no tenant {name:?}"));
    }
    json(
        StatusCode::OK,
        serde_json::json!({ "tenant": name, "current": current, "versions": versions }),
    )
}

/// `POST /api/tenants/{t}/rollback`: the previous version, or the one named
/// by `{"version": id}`.
async fn rollback(app: &App, name: &str, req: Request<Incoming>) -> Response<ProxyBody> {
    let body = match read_body(req, 64 * 1024).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let version = if body.iter().all(|b| b.is_ascii_whitespace()) {
        None
    } else {
        match serde_json::from_slice::<RollbackBody>(&body) {
            Ok(r) => r.version,
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
        }
    };
    match app.manager.rollback(name, version.as_deref()).await {
        Ok(applied) => json(
            StatusCode::OK,
            serde_json::to_value(applied).unwrap_or_default(),
        ),
        Err(e) => apply_error(e),
    }
}

/// `GET /api/lists/{name}`: a runtime IP list's live entries.
fn list(app: &App, name: &str) -> Response<ProxyBody> {
    let entries = app.state.list_entries(name, now_ms());
    json(
        StatusCode::OK,
        serde_json::json!({ "name": name, "entries": entries }),
    )
}

/// `DELETE /api/lists/{name}/entries/{cidr}` (`/` sent as `%2F`).
fn remove_list_entry(app: &App, name: &str, cidr: &str) -> Response<ProxyBody> {
    let cidr = percent_encoding::percent_decode_str(cidr).decode_utf8_lossy();
    let net = match parse_cidr(&cidr) {
        Ok(net) => net,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    if app.state.list_remove(name, &net) {
        json(
            StatusCode::OK,
            serde_json::json!({ "removed": net.to_string() }),
        )
    } else {
        error(
            StatusCode::NOT_FOUND,
            &format!("{net} is not in list {name}"),
        )
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEntry {
    cidr: String,
    #[serde(default)]
    ttl_secs: Option<u64>,
    #[serde(default)]
    comment: String,
}

async fn add_list_entry(app: &App, name: &str, req: Request<Incoming>) -> Response<ProxyBody> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return error(
            StatusCode::BAD_REQUEST,
            "list names are 1-64 characters of a-z, 0-9, '-' or '_'",
        );
    }
    let bytes = match Limited::new(req.into_body(), 64 * 1024).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
    };
    let entry: NewEntry = match serde_json::from_slice(&bytes) {
        Ok(e) => e,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    let cidr = match parse_cidr(&entry.cidr) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let expires_ms = entry.ttl_secs.map(|s| now_ms() + s.saturating_mul(1000));
    let entry = ListEntry {
        cidr,
        expires_ms,
        comment: entry.comment,
    };
    app.state.list_add(name, entry.clone());
    tracing::info!(list = name, cidr = %entry.cidr, "list entry added");
    json(
        StatusCode::CREATED,
        serde_json::json!({ "list": name, "entry": entry }),
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    #[serde(default)]
    version: Option<String>,
}

fn apply_error(e: ApplyError) -> Response<ProxyBody> {
    let status = match e {
        ApplyError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ApplyError::NotFound(_) => StatusCode::NOT_FOUND,
        ApplyError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, Response<ProxyBody>> {
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(_) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("body larger than {limit} bytes"),
        )),
    }
}

/// `PUT /api/tenants/{t}`: TOML, or JSON when the content type says so.
async fn put_tenant(app: &App, name: &str, req: Request<Incoming>) -> Response<ProxyBody> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let body = match read_body(req, 1024 * 1024).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return error(StatusCode::BAD_REQUEST, "the config is not UTF-8 text");
    };
    let text = if is_json {
        // JSON in, TOML on disk: the tenant file stays the one format.
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
        };
        match toml::to_string(&value) {
            Ok(t) => t,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("the JSON has no TOML form: {e}"),
                );
            }
        }
    } else {
        text
    };
    match app.manager.apply(name, &text, Source::Api).await {
        Ok(applied) => json(
            StatusCode::OK,
            serde_json::to_value(applied).unwrap_or_default(),
        ),
        Err(e) => apply_error(e),
    }
}

/// `PUT /api/modules/{name}`: compile, check the world, store by hash.
async fn put_module(app: &App, name: &str, req: Request<Incoming>) -> Response<ProxyBody> {
    if !crate::control::store::valid_name(name) {
        return error(
            StatusCode::BAD_REQUEST,
            "module names are 1-64 characters of a-z, 0-9, '-' or '_'",
        );
    }
    let body = match read_body(req, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let runtime = app.manager.loader().runtime();
    let component = match runtime.compile(&body) {
        Ok((_, c)) => c,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    };
    if let Err(e) = runtime.check_world(&component) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string());
    }
    match app.manager.store().put_module(name, &body) {
        Ok(hash) => {
            tracing::info!(module = name, sha256 = %hash, "module uploaded");
            json(
                StatusCode::CREATED,
                serde_json::json!({ "name": name, "sha256": hash }),
            )
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("storing the module: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_errors_map_to_statuses() {
        assert_eq!(apply_error(ApplyError::Invalid("x".into())).status(), 422);
        assert_eq!(apply_error(ApplyError::NotFound("x".into())).status(), 404);
        assert_eq!(apply_error(ApplyError::Io("x".into())).status(), 500);
    }
}
