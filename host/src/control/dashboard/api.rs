//! The dashboard's JSON endpoints over the event store, and the compliance
//! report. Queries run on a blocking thread, never on the async workers.

use super::{error, json, respond};
use crate::app::App;
use crate::control::access::Caller;
use crate::observe::analytics::query::{self, Range, Search};
use crate::observe::analytics::{Analytics, now_ms, report};
use crate::serve::proxy::ProxyBody;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use std::collections::HashMap;

/// The query string's parameters, percent-decoded (`+` as a space).
pub fn params(req: &Request<Incoming>) -> HashMap<String, String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// A time: ms since the epoch, RFC 3339, or a `YYYY-MM-DD` day (its start, UTC).
pub fn parse_time(s: &str) -> Option<u64> {
    if let Ok(ms) = s.parse::<u64>() {
        return Some(ms);
    }
    let text = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    humantime::parse_rfc3339_weak(&text)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
}

/// `from`/`to`/`tenant` narrowed to the caller; default: the last hour.
fn range(
    caller: &Caller,
    p: &HashMap<String, String>,
    default_span_ms: u64,
) -> Result<Range, Box<Response<ProxyBody>>> {
    let tenant = caller
        .narrow(p.get("tenant").map(String::as_str))
        .map_err(|e| Box::new(error(StatusCode::FORBIDDEN, &e)))?
        .map(str::to_string);
    let time = |name: &str| match p.get(name) {
        None => Ok(None),
        Some(v) => parse_time(v).map(Some).ok_or_else(|| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                &format!("{name}={v:?}: give ms since the epoch, RFC 3339 or YYYY-MM-DD"),
            ))
        }),
    };
    let to = time("to")?.unwrap_or_else(|| now_ms() + 1);
    let from = time("from")?.unwrap_or_else(|| to.saturating_sub(default_span_ms));
    if from >= to {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "from must be before to",
        )));
    }
    Ok(Range {
        tenant,
        from_ms: from,
        to_ms: to,
    })
}

/// Runs a read on the store off the async workers.
async fn read<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, Response<ProxyBody>> {
    let Some(analytics): Option<Analytics> = app.analytics.clone() else {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the event store is off ([analytics] enabled = false)",
        ));
    };
    match tokio::task::spawn_blocking(move || analytics.read(f)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!("event store query failed: {e:#}");
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "event store query failed",
            ))
        }
        Err(_) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "event store query failed",
        )),
    }
}

/// `GET /api/analytics/overview`.
pub async fn overview(app: &App, caller: &Caller, req: &Request<Incoming>) -> Response<ProxyBody> {
    let p = params(req);
    let range = match range(caller, &p, 3_600_000) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let dropped = app.analytics.as_ref().map(|a| a.dropped()).unwrap_or(0);
    match read(app, move |c| query::overview(c, &range)).await {
        Ok(o) => {
            let mut v = serde_json::to_value(o).unwrap_or_default();
            v["dropped"] = dropped.into();
            json(StatusCode::OK, v)
        }
        Err(resp) => resp,
    }
}

/// `GET /api/analytics/events`.
pub async fn events(app: &App, caller: &Caller, req: &Request<Incoming>) -> Response<ProxyBody> {
    let p = params(req);
    let range = match range(caller, &p, 24 * 3_600_000) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let search = Search {
        range,
        rule_id: p.get("rule").cloned(),
        client_ip: p.get("ip").cloned(),
        request_id: p.get("request_id").cloned(),
        blocked_only: p.get("blocked").is_some_and(|v| v == "1" || v == "true"),
        limit: p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100),
    };
    match read(app, move |c| query::search(c, &search)).await {
        Ok(events) => json(StatusCode::OK, serde_json::json!({ "events": events })),
        Err(resp) => resp,
    }
}

/// `GET /api/reports/compliance?tenant=&from=&to=[&format=html]`: the tenant
/// is required; the range defaults to the last 24 hours.
pub async fn compliance(
    app: &App,
    caller: &Caller,
    req: &Request<Incoming>,
) -> Response<ProxyBody> {
    let p = params(req);
    let range = match range(caller, &p, 24 * 3_600_000) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let Some(tenant) = range.tenant.clone() else {
        return error(StatusCode::BAD_REQUEST, "tenant=<name> is required");
    };
    let (from, to) = (range.from_ms, range.to_ms);
    let report = match read(app, move |c| report::compliance(c, &tenant, from, to)).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let wants_html = p.get("format").is_some_and(|f| f == "html");
    if wants_html {
        respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            super::report_html::render(&report),
        )
    } else {
        json(
            StatusCode::OK,
            serde_json::to_value(report).unwrap_or_default(),
        )
    }
}
