//! Decision events: one per request, written as a JSON line, kept in a ring for
//! the admin API and, when it is on, the durable store ([`crate::observe::analytics`]).
//! Secrets (Authorization, Cookie, API keys) never reach them.

use serde::Serialize;
use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// One finding as logged.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedFinding {
    /// The policy that reported it.
    pub policy: String,
    /// Rule id.
    pub rule_id: String,
    /// Message.
    pub message: String,
    /// Severity name.
    pub severity: &'static str,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Matched data, masked.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub data: String,
}

/// The decision for one request.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionEvent {
    /// RFC 3339 time.
    pub ts: String,
    /// Request id (also in `x-request-id`).
    pub request_id: String,
    /// Tenant.
    pub tenant: String,
    /// Tenant config version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_version: Option<String>,
    /// Client IP.
    pub client_ip: String,
    /// The client's country (ISO 3166-1 alpha-2, see [`crate::serve::geo`]), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// `allow`, `deny`, `redirect` or `error`.
    pub action: &'static str,
    /// Status sent to the client (0 if the connection failed first).
    pub status: u16,
    /// `block` or `detect`.
    pub mode: &'static str,
    /// The policy that decided (denied, redirected or failed), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// In detect mode: the policy that would have denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_deny: Option<String>,
    /// Rule ids of all findings.
    pub rule_ids: Vec<String>,
    /// The findings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<LoggedFinding>,
    /// Reason given by the deciding policy (masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Policy errors (traps, deadlines, memory).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Annotations set by policies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<(String, String)>,
    /// Time spent in policies, µs.
    pub eval_us: u64,
}

/// Request header names whose values are secrets.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-signature",
    "x-hub-signature-256",
];

/// Query parameter names whose values are secrets.
const SECRET_PARAMS: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "key",
    "token",
    "access_token",
    "password",
    "secret",
];

/// Replaces secret values wherever they appear in logged text.
#[derive(Debug, Default, Clone)]
pub struct Masker {
    secrets: Vec<String>,
}

impl Masker {
    /// Collects the secrets of one request: values of [`SECRET_HEADERS`] (and each
    /// cookie value, each part of an Authorization value) and of secret query
    /// parameters.
    pub fn new<'a>(
        headers: impl Iterator<Item = (&'a str, &'a [u8])>,
        query: Option<&str>,
    ) -> Self {
        let mut secrets = Vec::new();
        for (name, value) in headers {
            if SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                let v = String::from_utf8_lossy(value).into_owned();
                for part in v.split([';', ' ', ',']) {
                    let part = part.trim();
                    let val = part.split_once('=').map(|(_, v)| v).unwrap_or(part);
                    if val.len() >= 4 {
                        secrets.push(val.to_string());
                    }
                }
                if v.len() >= 4 {
                    secrets.push(v);
                }
            }
        }
        if let Some(q) = query {
            for part in q.split('&') {
                if let Some((k, v)) = part.split_once('=')
                    && SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s))
                    && v.len() >= 4
                {
                    secrets.push(v.to_string());
                    let decoded = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
                    if decoded != v {
                        secrets.push(decoded.into_owned());
                    }
                }
            }
        }
        // Longest first, so a whole value is masked before its parts.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Masker { secrets }
    }

    /// `text` with every secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

/// `s` cut to at most `max` bytes on a character boundary, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Where decision events go: a JSON line each, plus an in-memory ring.
pub struct EventSink {
    ring: Mutex<VecDeque<Arc<DecisionEvent>>>,
    capacity: usize,
    out: Mutex<Box<dyn Write + Send>>,
    store: Option<crate::observe::analytics::Analytics>,
    ecs: Option<crate::observe::ecs::Observer>,
}

impl EventSink {
    /// Writes lines to `out` and keeps the last `capacity` events.
    pub fn new(out: Box<dyn Write + Send>, capacity: usize) -> Self {
        EventSink {
            ring: Mutex::new(VecDeque::new()),
            capacity,
            out: Mutex::new(out),
            store: None,
            ecs: None,
        }
    }

    /// Writes lines in ECS field names (`[log] format = "ecs"`).
    pub fn with_ecs(mut self) -> Self {
        self.ecs = Some(crate::observe::ecs::Observer::local());
        self
    }

    /// Whether lines need [`crate::observe::ecs::RequestFacts`] (only the ECS format does).
    pub fn wants_facts(&self) -> bool {
        self.ecs.is_some()
    }

    /// Also hands every event to the durable store (queued, never waited for).
    pub fn with_store(mut self, store: crate::observe::analytics::Analytics) -> Self {
        self.store = Some(store);
        self
    }

    /// Records one event.
    pub fn record(&self, event: DecisionEvent) {
        self.record_with(event, None)
    }

    /// Records one event with the request facts the ECS format logs.
    pub fn record_with(
        &self,
        event: DecisionEvent,
        facts: Option<crate::observe::ecs::RequestFacts>,
    ) {
        let event = Arc::new(event);
        // One line, in the configured format.
        let line = match &self.ecs {
            Some(obs) => serde_json::to_vec(&crate::observe::ecs::document(
                &event,
                &facts.unwrap_or_default(),
                obs,
            )),
            None => serde_json::to_vec(&*event),
        };
        if let Ok(mut line) = line {
            line.push(b'\n');
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = out.write_all(&line).and_then(|_| out.flush()) {
                tracing::warn!("writing the decision log failed: {e}");
            }
        }
        if let Some(store) = &self.store {
            store.record(&*event);
        }
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.len() >= self.capacity.max(1) {
            ring.pop_front();
        }
        ring.push_back(event);
    }

    /// The newest `limit` events, newest first, optionally of one tenant.
    pub fn recent(&self, limit: usize, tenant: Option<&str>) -> Vec<Arc<DecisionEvent>> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.iter()
            .rev()
            .filter(|e| tenant.is_none_or(|t| e.tenant == t))
            .take(limit)
            .cloned()
            .collect()
    }
}

/// Current time as RFC 3339 with milliseconds.
pub fn timestamp() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_authorization_cookie_and_key_params() {
        let headers = [
            ("authorization", &b"Bearer eyJhbGciOi.secret.sig"[..]),
            ("cookie", &b"sid=abcdef123; theme=dark"[..]),
            ("x-api-key", &b"k-12345678"[..]),
            ("user-agent", &b"curl/8"[..]),
        ];
        let m = Masker::new(headers.into_iter(), Some("q=1&api_key=zz%2Fsecret"));
        let text = "matched eyJhbGciOi.secret.sig and abcdef123 and k-12345678 and zz/secret in curl/8 dark";
        let masked = m.mask(text);
        assert!(!masked.contains("eyJhbGciOi"), "{masked}");
        assert!(!masked.contains("abcdef123"), "{masked}");
        assert!(!masked.contains("k-12345678"), "{masked}");
        assert!(!masked.contains("zz/secret"), "{masked}");
        assert!(masked.contains("curl/8"), "non-secret text stays: {masked}");
    }

    #[test]
    fn ring_keeps_newest() {
        let sink = EventSink::new(Box::new(std::io::sink()), 2);
        for i in 0..3 {
            sink.record(DecisionEvent {
                ts: timestamp(),
                request_id: i.to_string(),
                tenant: if i == 1 { "b".into() } else { "a".into() },
                tenant_version: None,
                client_ip: "127.0.0.1".into(),
                country: None,
                method: "GET".into(),
                path: "/".into(),
                action: "allow",
                status: 200,
                mode: "block",
                policy: None,
                would_deny: None,
                rule_ids: vec![],
                findings: vec![],
                reason: None,
                errors: vec![],
                annotations: vec![],
                eval_us: 1,
            });
        }
        let recent = sink.recent(10, None);
        assert_eq!(
            recent
                .iter()
                .map(|e| e.request_id.as_str())
                .collect::<Vec<_>>(),
            ["2", "1"]
        );
        assert_eq!(sink.recent(10, Some("a")).len(), 1);
    }

    #[test]
    fn shorten_on_char_boundary() {
        assert_eq!(shorten("ééé", 3), "é…");
    }
}
