//! Alerts: per-tenant thresholds over decision events, delivered as signed
//! webhooks off the request path.
//!
//! 1. A tenant's `[alerts]` table ([`AlertConfig`]) names the webhook, the
//!    environment variable holding the signing secret, and the thresholds.
//! 2. [`Watch::observe`] sees every decision event of the tenant (cheap, under
//!    one mutex) and returns the alerts it raises: blocked requests in a minute
//!    over `blocked_per_minute`, a rule id firing for the first time (since start,
//!    or since `new_rule_window`), a policy error (init failure, trap, deadline).
//! 3. [`deliver::Deliverer`] queues each alert (bounded; a full queue drops and
//!    counts) and a worker task posts it, signed, retrying with backoff.

pub mod deliver;
pub mod hub;

use crate::observe::events::DecisionEvent;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// Rule ids remembered per tenant for `new_rule`; beyond, the oldest are forgotten.
const MAX_SEEN_RULES: usize = 10_000;

/// `[alerts]` in a tenant's TOML.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// `webhook = "http://siem.example:8080/hooks/edgewaf"` (http only).
    pub webhook: String,
    /// `secret_env = "EDGEWAF_ALERT_SECRET"`: the variable holding the HMAC key.
    #[serde(default = "default_secret_env")]
    pub secret_env: String,
    /// `blocked_per_minute = 100`: alert when a minute has more blocked requests.
    #[serde(default)]
    pub blocked_per_minute: Option<u64>,
    /// `new_rule = true`: alert when a rule id fires for the first time.
    #[serde(default)]
    pub new_rule: bool,
    /// `new_rule_window = "24h"`: "first time" means within this window
    /// (default: since start).
    #[serde(default, with = "humantime_serde_opt")]
    pub new_rule_window: Option<Duration>,
    /// `policy_errors = true`: alert on init failures, traps and deadlines
    /// (at most one alert per minute per tenant, with the count).
    #[serde(default)]
    pub policy_errors: bool,
}

fn default_secret_env() -> String {
    "EDGEWAF_ALERT_SECRET".to_string()
}

mod humantime_serde_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_some(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| {
            humantime::parse_duration(&s).map_err(|e| {
                serde::de::Error::custom(format!("new_rule_window = {s:?}: {e} (e.g. \"24h\")"))
            })
        })
        .transpose()
    }
}

impl AlertConfig {
    /// Checks the webhook URL (http, with a host) and reads the secret.
    pub fn validate(&self) -> Result<deliver::Target, String> {
        let uri: http::Uri = self
            .webhook
            .parse()
            .map_err(|e| format!("[alerts] webhook = {:?}: {e}", self.webhook))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!(
                "[alerts] webhook = {:?}: an http:// URL with a host is required",
                self.webhook
            ));
        }
        let secret = std::env::var(&self.secret_env).unwrap_or_default();
        if secret.len() < 16 {
            return Err(format!(
                "[alerts] secret_env = {:?}: the variable must hold a secret of at least 16 bytes",
                self.secret_env
            ));
        }
        Ok(deliver::Target::new(uri, secret.into_bytes()))
    }
}

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// More blocked requests in a minute than `blocked_per_minute`.
    BlockedRate,
    /// A rule id fired for the first time (in the window).
    NewRule,
    /// A policy failed: init failure, trap, deadline, memory.
    PolicyError,
}

/// One alert: the webhook's JSON body.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// Unique id (also in the `x-edgewaf-alert-id` header).
    pub id: String,
    /// What raised it.
    pub kind: AlertKind,
    /// Tenant.
    pub tenant: String,
    /// RFC 3339 time it was raised.
    pub time: String,
    /// One line for people.
    pub summary: String,
    /// The request that raised it.
    pub request_id: String,
    /// Kind-specific facts: `blocked`/`threshold`/`minute`, `rule_id`/`policy`,
    /// `policy`/`errors`/`count`.
    pub details: serde_json::Value,
}

/// Per-tenant alert state.
#[derive(Debug, Default)]
pub struct Watch {
    minute: u64,
    blocked: u64,
    error_minute: Option<u64>,
    errors_since: u64,
    seen: HashMap<String, u64>,
}

fn alert(
    kind: AlertKind,
    ev: &DecisionEvent,
    summary: String,
    details: serde_json::Value,
) -> Alert {
    Alert {
        id: uuid::Uuid::new_v4().to_string(),
        kind,
        tenant: ev.tenant.clone(),
        time: crate::observe::events::timestamp(),
        summary,
        request_id: ev.request_id.clone(),
        details,
    }
}

impl Watch {
    /// Sees one event at `now_s` (Unix seconds); returns the alerts it raises.
    pub fn observe(&mut self, cfg: &AlertConfig, ev: &DecisionEvent, now_s: u64) -> Vec<Alert> {
        let mut out = Vec::new();
        let minute = now_s / 60;
        if minute != self.minute {
            self.minute = minute;
            self.blocked = 0;
        }
        if let Some(limit) = cfg.blocked_per_minute {
            self.blocked_rate(limit, ev, &mut out);
        }
        if cfg.new_rule {
            self.new_rules(cfg.new_rule_window, ev, now_s, &mut out);
        }
        if cfg.policy_errors && (ev.action == "error" || !ev.errors.is_empty()) {
            self.policy_error(ev, minute, &mut out);
        }
        out
    }

    fn blocked_rate(&mut self, limit: u64, ev: &DecisionEvent, out: &mut Vec<Alert>) {
        if ev.action != "deny" {
            return;
        }
        self.blocked += 1;
        if self.blocked == limit + 1 {
            let summary = format!("{}: over {limit} blocked requests this minute", ev.tenant);
            let details = serde_json::json!({ "blocked": self.blocked, "threshold": limit, "minute": self.minute * 60 });
            out.push(alert(AlertKind::BlockedRate, ev, summary, details));
        }
    }

    fn new_rules(
        &mut self,
        window: Option<Duration>,
        ev: &DecisionEvent,
        now_s: u64,
        out: &mut Vec<Alert>,
    ) {
        for rule in &ev.rule_ids {
            let fresh = match self.seen.get(rule) {
                None => true,
                Some(&last) => window.is_some_and(|w| now_s.saturating_sub(last) >= w.as_secs()),
            };
            if self.seen.len() >= MAX_SEEN_RULES && !self.seen.contains_key(rule) {
                self.forget_oldest();
            }
            self.seen.insert(rule.clone(), now_s);
            if fresh {
                let summary = format!("{}: rule {rule} fired for the first time", ev.tenant);
                let details = serde_json::json!({ "rule_id": rule, "policy": ev.policy, "action": ev.action });
                out.push(alert(AlertKind::NewRule, ev, summary, details));
            }
        }
    }

    fn forget_oldest(&mut self) {
        if let Some(oldest) = self
            .seen
            .iter()
            .min_by_key(|(_, t)| **t)
            .map(|(k, _)| k.clone())
        {
            self.seen.remove(&oldest);
        }
    }

    fn policy_error(&mut self, ev: &DecisionEvent, minute: u64, out: &mut Vec<Alert>) {
        self.errors_since += 1;
        if self.error_minute == Some(minute) {
            return;
        }
        self.error_minute = Some(minute);
        let summary = format!(
            "{}: policy {} failed",
            ev.tenant,
            ev.policy.as_deref().unwrap_or("(unknown)")
        );
        let details = serde_json::json!({
            "policy": ev.policy, "errors": ev.errors, "count": self.errors_since, "status": ev.status,
        });
        self.errors_since = 0;
        out.push(alert(AlertKind::PolicyError, ev, summary, details));
    }
}

#[cfg(test)]
mod tests;
