//! Running a tenant's chain of policies over one request (and its response).
//!
//! The order is fixed: policies run as listed in the tenant file. In `block`
//! mode the first deny or redirect ends the chain; in `detect` mode every policy
//! runs, denials are only recorded, and the request goes on. A policy that traps,
//! runs past its deadline or out of memory gets the tenant's `on_error`: `deny`
//! (the default) ends the chain with the deny status in block mode; `allow`
//! skips that policy. In detect mode errors are recorded and the request goes on.

use crate::config::{Mode, OnError};
use crate::control::tenants::Tenant;
use crate::observe::metrics::Metrics;
use crate::serve::runtime::{
    Action, Annotation, Finding, Header, PolicyPool, Request, Response, Verdict,
};
use std::time::Instant;

/// What happens to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Forward it (or send the response on).
    Allow,
    /// Answer with this status and extra headers.
    Deny {
        /// HTTP status.
        status: u16,
        /// Headers the policy asked for (e.g. `www-authenticate`).
        headers: Vec<(String, Vec<u8>)>,
    },
    /// Answer 302 with this location.
    Redirect(String),
}

/// The chain's decision with everything the log needs.
#[derive(Debug, Clone)]
pub struct Decision {
    /// What to do.
    pub outcome: Outcome,
    /// The policy that decided (denied, redirected or failed).
    pub policy: Option<String>,
    /// In detect mode: the first policy that would have denied.
    pub would_deny: Option<String>,
    /// The deciding policy's reason (for the log only).
    pub reason: Option<String>,
    /// Findings, with the policy that reported each.
    pub findings: Vec<(String, Finding)>,
    /// Policy errors.
    pub errors: Vec<String>,
    /// True when the outcome comes from `on_error`.
    pub failed: bool,
    /// Headers to set upstream.
    pub add_headers: Vec<Header>,
    /// Headers to remove upstream.
    pub remove_headers: Vec<String>,
    /// Annotations set by the chain.
    pub annotations: Vec<Annotation>,
    /// Time in policies, µs.
    pub eval_us: u64,
}

impl Decision {
    fn new() -> Self {
        Decision {
            outcome: Outcome::Allow,
            policy: None,
            would_deny: None,
            reason: None,
            findings: Vec::new(),
            errors: Vec::new(),
            failed: false,
            add_headers: Vec::new(),
            remove_headers: Vec::new(),
            annotations: Vec::new(),
            eval_us: 0,
        }
    }

    /// The action name for logs and metrics.
    pub fn action(&self) -> &'static str {
        match (&self.outcome, self.failed) {
            (Outcome::Deny { .. }, true) => "error",
            (Outcome::Deny { .. }, false) => "deny",
            (Outcome::Redirect(_), _) => "redirect",
            (Outcome::Allow, _) => "allow",
        }
    }
}

fn verdict_action(v: &Verdict) -> &'static str {
    match v.action {
        Action::Allow => "allow",
        Action::Deny(_) => "deny",
        Action::Redirect(_) => "redirect",
    }
}

enum Phase<'a> {
    Request,
    Response(&'a Response),
}

/// Runs the request phase. `body` is handed to the policies that asked for it.
pub async fn on_request(
    tenant: &Tenant,
    req: &mut Request,
    body: &mut Vec<u8>,
    metrics: Option<&Metrics>,
) -> Decision {
    run(tenant, req, body, Phase::Request, metrics).await
}

/// Runs the response phase for the policies that asked to inspect responses.
pub async fn on_response(
    tenant: &Tenant,
    req: &mut Request,
    body: &mut Vec<u8>,
    resp: &Response,
    metrics: Option<&Metrics>,
) -> Decision {
    run(tenant, req, body, Phase::Response(resp), metrics).await
}

async fn run(
    tenant: &Tenant,
    req: &mut Request,
    body: &mut Vec<u8>,
    phase: Phase<'_>,
    metrics: Option<&Metrics>,
) -> Decision {
    let started = Instant::now();
    let mut d = Decision::new();
    let block = tenant.config.mode == Mode::Block;
    for pool in &tenant.chain {
        let caps = pool.capabilities();
        if matches!(phase, Phase::Response(_)) && !caps.inspect_response {
            continue;
        }
        lend_body(req, body, caps.request_body);
        let result = match phase {
            Phase::Request => pool.on_request(req).await,
            Phase::Response(resp) => pool.on_response(req, resp).await,
        };
        let name = pool.name();
        match result {
            Ok(verdict) => {
                if let Some(m) = metrics {
                    m.decision(&tenant.name, name, verdict_action(&verdict));
                }
                if apply(tenant, pool, verdict, req, &mut d, block) {
                    break;
                }
            }
            Err(e) => {
                if let Some(m) = metrics {
                    m.policy_error(&tenant.name, name, e.kind());
                    m.decision(&tenant.name, name, "error");
                }
                tracing::warn!(tenant = %tenant.name, policy = name, "policy failed: {e}");
                d.errors.push(format!("{name}: {e}"));
                if block && tenant.config.on_error == OnError::Deny {
                    d.outcome = Outcome::Deny {
                        status: tenant.config.deny_status,
                        headers: Vec::new(),
                    };
                    d.policy = Some(name.to_string());
                    d.reason = Some(format!("policy error: {e}"));
                    d.failed = true;
                    break;
                }
            }
        }
    }
    lend_body(req, body, false);
    d.eval_us = started.elapsed().as_micros() as u64;
    if let Some(m) = metrics {
        m.eval(&tenant.name, d.eval_us);
    }
    d
}

/// Puts the body into the request when the policy wants it, takes it out when not.
fn lend_body(req: &mut Request, body: &mut Vec<u8>, wanted: bool) {
    if wanted == req.body.is_empty() && (!body.is_empty() || !req.body.is_empty()) {
        std::mem::swap(&mut req.body, body);
    }
}

/// Folds one verdict into the decision; true when the chain must stop.
fn apply(
    tenant: &Tenant,
    pool: &PolicyPool,
    verdict: Verdict,
    req: &mut Request,
    d: &mut Decision,
    block: bool,
) -> bool {
    let name = pool.name().to_string();
    d.findings
        .extend(verdict.findings.into_iter().map(|f| (name.clone(), f)));
    // Later policies see earlier policies' annotations.
    for a in &verdict.annotations {
        req.annotations.retain(|x| x.key != a.key);
        req.annotations.push(a.clone());
    }
    d.annotations.extend(verdict.annotations);
    // Removing a header never grants anything: honour removals whatever the
    // action (in detect mode a denying auth policy still strips spoofed headers).
    d.remove_headers.extend(verdict.remove_request_headers);
    match verdict.action {
        Action::Allow => {
            d.add_headers.extend(verdict.add_request_headers);
            false
        }
        Action::Deny(deny) => {
            if block {
                let status = if (400..=599).contains(&deny.status) {
                    deny.status
                } else {
                    tenant.config.deny_status
                };
                d.outcome = Outcome::Deny {
                    status,
                    headers: deny
                        .headers
                        .into_iter()
                        .map(|h| (h.name, h.value))
                        .collect(),
                };
                d.policy = Some(name);
                d.reason = Some(deny.reason);
                true
            } else {
                if d.would_deny.is_none() {
                    d.would_deny = Some(name);
                    d.reason = Some(deny.reason);
                }
                false
            }
        }
        Action::Redirect(location) => {
            if block {
                d.outcome = Outcome::Redirect(location);
                d.policy = Some(name);
                true
            } else {
                if d.would_deny.is_none() {
                    d.would_deny = Some(name);
                    d.reason = Some(format!("redirect to {location}"));
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        crate::serve::request::empty_request()
    }

    #[test]
    fn body_is_lent_only_when_wanted() {
        let mut r = req();
        let mut body = b"hello".to_vec();
        lend_body(&mut r, &mut body, false);
        assert!(r.body.is_empty());
        lend_body(&mut r, &mut body, true);
        assert_eq!(r.body, b"hello");
        assert!(body.is_empty());
        lend_body(&mut r, &mut body, true);
        assert_eq!(r.body, b"hello");
        lend_body(&mut r, &mut body, false);
        assert!(r.body.is_empty());
        assert_eq!(body, b"hello");
    }
}
