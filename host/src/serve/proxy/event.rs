//! The decision event of a request: what the log line, the metrics and the
//! admin API's event ring say about it (secrets masked).

use crate::control::tenants::Tenant;
use crate::observe::events::{DecisionEvent, LoggedFinding, Masker, timestamp};
use crate::serve::chain::Decision;
use crate::serve::runtime::Severity;

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
    record: &crate::serve::runtime::Request,
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
        country: None,
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
