//! The decision log in Elastic Common Schema field names (`[log] format = "ecs"`).
//!
//! One [`DecisionEvent`] becomes one ECS document (nested objects, as Filebeat
//! and Elastic Agent expect from an NDJSON input). Fields the event does not
//! hold (query, user agent, bytes, requested host) come from
//! [`RequestFacts`]; absent ones are left out, never written as empty strings.
//! Values are the event's, which are already masked.

use crate::observe::events::DecisionEvent;
use serde_json::{Map, Value, json};

/// The ECS release whose field names and types this mapping follows.
pub const ECS_VERSION: &str = "8.17.0";

/// Request facts the JSON format does not log, for the ECS document.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// The query string without `?` (masked).
    pub query: Option<String>,
    /// The `User-Agent` value.
    pub user_agent: Option<String>,
    /// The requested host (Host header or SNI), without port.
    pub domain: Option<String>,
    /// Request size in bytes (head and body as received).
    pub request_bytes: Option<u64>,
    /// Response size in bytes (body sent).
    pub response_bytes: Option<u64>,
}

impl RequestFacts {
    /// The facts of a request as the proxy received it: `body_len` bytes of
    /// body; `response_bytes` when the response body's length is known before
    /// it is sent. The query is masked like the event's path.
    pub fn of_request(
        record: &crate::serve::runtime::Request,
        body_len: usize,
        response_bytes: Option<u64>,
    ) -> Self {
        let query = record.target.split_once('?').map(|(_, q)| q);
        let headers = || {
            record
                .headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.as_slice()))
        };
        let masker = crate::observe::events::Masker::new(headers(), query);
        let header = |name: &str| {
            headers()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        // The head as received: request line, each header line, the blank line.
        let head: usize = record.method.len()
            + record.target.len()
            + record.version.len()
            + 4
            + record
                .headers
                .iter()
                .map(|h| h.name.len() + h.value.len() + 4)
                .sum::<usize>()
            + 2;
        RequestFacts {
            query: query.filter(|q| !q.is_empty()).map(|q| masker.mask(q)),
            user_agent: header("user-agent").map(|ua| masker.mask(&ua)),
            domain: header("host").map(|h| strip_port(&h).to_ascii_lowercase()),
            request_bytes: Some((head + body_len) as u64),
            response_bytes,
        }
    }
}

/// `example.com:8080` -> `example.com`; `[::1]:80` -> `::1`.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Facts about this node, the same for every document.
#[derive(Debug, Clone)]
pub struct Observer {
    /// The node's host name (`host.name`, `observer.hostname`).
    pub hostname: String,
}

impl Observer {
    /// This machine's host name (from `/proc/sys/kernel/hostname` or `HOSTNAME`).
    pub fn local() -> Self {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown".to_string());
        Observer { hostname }
    }
}

/// `event.outcome` from the WAF's point of view: an allowed (or redirected)
/// request succeeded, a denied or failed one did not.
fn outcome(action: &str) -> &'static str {
    match action {
        "allow" | "redirect" => "success",
        "deny" | "error" => "failure",
        _ => "unknown",
    }
}

/// `event.type`: `denied` for a denied request, `allowed` otherwise.
fn event_type(action: &str) -> &'static str {
    if action == "deny" {
        "denied"
    } else {
        "allowed"
    }
}

fn insert_some<T: Into<Value>>(obj: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        obj.insert(key.to_string(), v.into());
    }
}

fn http_object(ev: &DecisionEvent, facts: &RequestFacts) -> Value {
    let mut request = Map::new();
    request.insert("method".into(), ev.method.clone().into());
    request.insert("id".into(), ev.request_id.clone().into());
    insert_some(&mut request, "bytes", facts.request_bytes);
    let mut response = Map::new();
    if ev.status != 0 {
        response.insert("status_code".into(), ev.status.into());
    }
    insert_some(&mut response, "bytes", facts.response_bytes);
    json!({ "request": request, "response": response })
}

fn source_object(ev: &DecisionEvent) -> Value {
    let mut source = Map::new();
    if ev.client_ip.parse::<std::net::IpAddr>().is_ok() {
        source.insert("ip".into(), ev.client_ip.clone().into());
    }
    source.insert("address".into(), ev.client_ip.clone().into());
    if let Some(cc) = &ev.country {
        source.insert("geo".into(), json!({ "country_iso_code": cc }));
    }
    Value::Object(source)
}

fn url_object(ev: &DecisionEvent, facts: &RequestFacts) -> Value {
    let mut url = Map::new();
    url.insert("path".into(), ev.path.clone().into());
    insert_some(&mut url, "query", facts.query.clone());
    insert_some(&mut url, "domain", facts.domain.clone());
    Value::Object(url)
}

/// The `edgewaf.*` fields: what ECS has no name for (tenant, mode, findings).
fn edgewaf_object(ev: &DecisionEvent) -> Value {
    let mut e = Map::new();
    e.insert("tenant".into(), ev.tenant.clone().into());
    insert_some(&mut e, "tenant_version", ev.tenant_version.clone());
    e.insert("mode".into(), ev.mode.into());
    insert_some(&mut e, "policy", ev.policy.clone());
    insert_some(&mut e, "would_deny", ev.would_deny.clone());
    insert_some(&mut e, "reason", ev.reason.clone());
    if !ev.findings.is_empty() {
        e.insert("findings".into(), json!(ev.findings));
    }
    if !ev.errors.is_empty() {
        e.insert("errors".into(), json!(ev.errors));
    }
    Value::Object(e)
}

/// The ECS document for one decision.
pub fn document(ev: &DecisionEvent, facts: &RequestFacts, observer: &Observer) -> Value {
    let mut doc = json!({
        "@timestamp": ev.ts,
        "ecs": { "version": ECS_VERSION },
        "message": format!("{} {} {} -> {} {}", ev.tenant, ev.method, ev.path, ev.action, ev.status),
        "event": {
            "kind": "event",
            "category": ["web", "network"],
            "type": [event_type(ev.action), "access"],
            "action": ev.action,
            "outcome": outcome(ev.action),
            "id": ev.request_id,
            "dataset": "edgewaf.decisions",
            "module": "edgewaf",
            "duration": ev.eval_us.saturating_mul(1000),
        },
        "source": source_object(ev),
        "url": url_object(ev, facts),
        "http": http_object(ev, facts),
        "host": { "name": observer.hostname },
        "observer": {
            "type": "waf",
            "vendor": "edgewaf",
            "product": "edgewaf",
            "version": env!("CARGO_PKG_VERSION"),
            "hostname": observer.hostname,
        },
        "labels": { "tenant": ev.tenant },
        "edgewaf": edgewaf_object(ev),
    });
    if let Some(ua) = &facts.user_agent {
        doc["user_agent"] = json!({ "original": ua });
    }
    if !ev.rule_ids.is_empty() {
        doc["rule"] = json!({ "id": ev.rule_ids });
        if let Some(p) = &ev.policy {
            doc["rule"]["ruleset"] = json!(p);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::events::LoggedFinding;

    fn denied() -> DecisionEvent {
        DecisionEvent {
            ts: "2026-12-06T12:00:00.123Z".into(),
            request_id: "req-1".into(),
            tenant: "api".into(),
            tenant_version: Some("v7".into()),
            client_ip: "203.0.113.9".into(),
            country: Some("NL".into()),
            method: "GET".into(),
            path: "/search".into(),
            action: "deny",
            status: 403,
            mode: "block",
            policy: Some("crs".into()),
            would_deny: None,
            rule_ids: vec!["942100".into(), "949110".into()],
            findings: vec![LoggedFinding {
                policy: "crs".into(),
                rule_id: "942100".into(),
                message: "SQL Injection Attack Detected via libinjection".into(),
                severity: "critical",
                tags: vec!["attack-sqli".into()],
                data: String::new(),
            }],
            reason: None,
            errors: vec![],
            annotations: vec![],
            eval_us: 420,
        }
    }

    fn facts() -> RequestFacts {
        RequestFacts {
            query: Some("q=1%27+or+1=1".into()),
            user_agent: Some("curl/8.5".into()),
            domain: Some("api.localhost".into()),
            request_bytes: Some(97),
            response_bytes: Some(52),
        }
    }

    #[test]
    fn ecs_fields_are_present_and_typed() {
        let obs = Observer {
            hostname: "edge-1".into(),
        };
        let d = document(&denied(), &facts(), &obs);
        assert_eq!(d["@timestamp"], "2026-12-06T12:00:00.123Z");
        assert_eq!(d["event"]["action"], "deny");
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["event"]["duration"], 420_000);
        assert_eq!(d["source"]["ip"], "203.0.113.9");
        assert_eq!(d["source"]["geo"]["country_iso_code"], "NL");
        assert_eq!(d["url"]["path"], "/search");
        assert_eq!(d["url"]["query"], "q=1%27+or+1=1");
        assert_eq!(d["http"]["request"]["method"], "GET");
        assert!(d["http"]["response"]["status_code"].is_u64());
        assert_eq!(d["http"]["response"]["status_code"], 403);
        assert!(d["http"]["request"]["bytes"].is_u64());
        assert_eq!(d["http"]["response"]["bytes"], 52);
        assert_eq!(d["user_agent"]["original"], "curl/8.5");
        assert_eq!(d["host"]["name"], "edge-1");
        assert_eq!(d["observer"]["type"], "waf");
        assert_eq!(d["rule"]["id"], json!(["942100", "949110"]));
        assert_eq!(d["rule"]["ruleset"], "crs");
        assert_eq!(d["edgewaf"]["findings"][0]["rule_id"], "942100");
        assert_eq!(d["labels"]["tenant"], "api");
    }

    #[test]
    fn host_port_is_stripped() {
        assert_eq!(strip_port("shop.test:8080"), "shop.test");
        assert_eq!(strip_port("shop.test"), "shop.test");
        assert_eq!(strip_port("[::1]:80"), "::1");
    }

    #[test]
    fn absent_facts_are_left_out() {
        let mut ev = denied();
        ev.action = "allow";
        ev.status = 0;
        ev.rule_ids.clear();
        ev.client_ip = "unknown".into();
        ev.country = None;
        let d = document(&ev, &RequestFacts::default(), &Observer::local());
        assert_eq!(d["event"]["outcome"], "success");
        assert!(d.get("user_agent").is_none());
        assert!(d.get("rule").is_none());
        assert!(d["url"].get("query").is_none());
        assert!(d["source"].get("ip").is_none(), "not an IP: no source.ip");
        assert!(d["source"].get("geo").is_none());
        assert!(d["http"]["response"].get("status_code").is_none());
        assert!(d["host"]["name"].as_str().is_some_and(|h| !h.is_empty()));
    }
}
