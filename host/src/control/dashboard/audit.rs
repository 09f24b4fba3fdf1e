//! Audit records of admin calls that change something (and of refused
//! ones): what a call is about is noted before it runs (the tenant file as it
//! was), and the record is written when its answer is known.

use crate::app::App;
use crate::control::access::{Caller, is_read};
use crate::observe::analytics::audit::{AuditRecord, line_diff, mode_of};
use crate::observe::analytics::now_ms;
use crate::serve::proxy::ProxyBody;
use http::{Method, Response};
use http_body_util::BodyExt;

/// A changing call on its way.
pub struct Pending {
    record: AuditRecord,
    /// The tenant file before the call (tenant changes only).
    before: Option<String>,
}

/// The kind of change a call makes, and the tenant it concerns.
fn kind_of(method: &Method, segments: &[&str]) -> (&'static str, Option<String>) {
    match (method, segments) {
        (&Method::PUT, ["api", "tenants", t]) => ("tenant-apply", Some(t.to_string())),
        (&Method::DELETE, ["api", "tenants", t]) => ("tenant-delete", Some(t.to_string())),
        (&Method::POST, ["api", "tenants", t, "rollback"]) => {
            ("tenant-rollback", Some(t.to_string()))
        }
        (&Method::PUT, ["api", "modules", _]) => ("module-upload", None),
        (&Method::POST, ["api", "lists", _, "entries"]) => ("list-add", None),
        (&Method::DELETE, ["api", "lists", _, "entries", _]) => ("list-remove", None),
        _ => ("other", None),
    }
}

fn record(
    caller: &Caller,
    method: &Method,
    path: &str,
    kind: &str,
    tenant: Option<String>,
) -> AuditRecord {
    AuditRecord {
        ts_ms: now_ms(),
        token: caller.name.clone(),
        scope: caller.scope.to_string(),
        method: method.to_string(),
        path: path.to_string(),
        tenant,
        kind: kind.to_string(),
        status: 0,
        summary: String::new(),
        diff: String::new(),
    }
}

/// Writes the record of a refused call (403) at once.
pub fn refused(app: &App, caller: &Caller, method: &Method, path: &str, why: &str) {
    if let Some(a) = &app.analytics {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (_, tenant) = kind_of(method, &segments);
        let mut r = record(caller, method, path, "refused", tenant);
        r.status = 403;
        r.summary = why.to_string();
        a.audit(r);
    }
}

impl Pending {
    /// Notes a call before it runs; `None` for reads (not audited).
    pub fn start(app: &App, caller: &Caller, method: &Method, path: &str) -> Option<Pending> {
        if is_read(method) || app.analytics.is_none() {
            return None;
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (kind, tenant) = kind_of(method, &segments);
        if kind == "other" && matches!(segments.as_slice(), ["logout"]) {
            return None;
        }
        let before = tenant
            .as_deref()
            .and_then(|t| app.registry.snapshot().get(t).map(|t| t.text.clone()));
        Some(Pending {
            record: record(caller, method, path, kind, tenant),
            before,
        })
    }

    /// Completes the record with the answer (whose body it reads and puts
    /// back) and queues it.
    pub async fn finish(mut self, app: &App, resp: Response<ProxyBody>) -> Response<ProxyBody> {
        let (parts, body) = resp.into_parts();
        let bytes = match body.collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => bytes::Bytes::new(),
        };
        self.record.status = parts.status.as_u16();
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        self.record.summary = if !parts.status.is_success() {
            format!(
                "refused: {}",
                answer["error"].as_str().unwrap_or("(no message)")
            )
        } else {
            self.summarise(app, &answer)
        };
        if let Some(a) = &app.analytics {
            a.audit(self.record);
        }
        Response::from_parts(parts, super::body(bytes))
    }

    fn summarise(&mut self, app: &App, answer: &serde_json::Value) -> String {
        let after = self
            .record
            .tenant
            .as_deref()
            .and_then(|t| app.registry.snapshot().get(t).map(|t| t.text.clone()));
        let r = &mut self.record;
        match r.kind.as_str() {
            "tenant-apply" | "tenant-rollback" => {
                let (old, new) = (
                    self.before.as_deref().unwrap_or(""),
                    after.as_deref().unwrap_or(""),
                );
                r.diff = line_diff(old, new);
                let (m0, m1) = (mode_of(old), mode_of(new));
                if self.before.is_some() && m0 != m1 {
                    r.kind = "mode-change".into();
                }
                let version = answer["version"]["hash"].as_str().unwrap_or("?");
                match (&self.before, m0 != m1) {
                    (None, _) => format!("created, version {version}"),
                    (Some(_), true) => format!(
                        "mode {} → {}, version {version}",
                        m0.unwrap_or_default(),
                        m1.unwrap_or_default()
                    ),
                    (Some(_), false) => format!("applied version {version}"),
                }
            }
            "tenant-delete" => {
                r.diff = line_diff(self.before.as_deref().unwrap_or(""), "");
                "removed".into()
            }
            "list-add" => format!(
                "added {} to list {} (ttl {}, comment {:?})",
                answer["entry"]["cidr"].as_str().unwrap_or("?"),
                answer["list"].as_str().unwrap_or("?"),
                answer["entry"]["expires_ms"]
                    .as_u64()
                    .map(|e| {
                        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(e);
                        format!("until {}", humantime::format_rfc3339_seconds(t))
                    })
                    .unwrap_or_else(|| "none".into()),
                answer["entry"]["comment"].as_str().unwrap_or("")
            ),
            "list-remove" => format!("removed {}", answer["removed"].as_str().unwrap_or("?")),
            "module-upload" => format!(
                "uploaded {} sha256 {}",
                answer["name"].as_str().unwrap_or("?"),
                answer["sha256"].as_str().unwrap_or("?")
            ),
            _ => "done".into(),
        }
    }
}
