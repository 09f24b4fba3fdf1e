//! Running a tenant's chain of policies over one request (and its response).
//!
//! The order is fixed: policies run as listed in the tenant file. The rules of
//! the chain (block and detect mode, `on_error`, added and removed headers,
//! annotations) are the `edgewaf-chain` crate's [`Fold`], the same code the
//! bundle adapter runs; this module calls the policies, lends them the body,
//! keeps the request's annotations current for the next policy and counts.

use crate::config::{Mode, OnError};
use crate::control::tenants::Tenant;
use crate::observe::metrics::Metrics;
use crate::serve::runtime::{Action, Annotation, Finding, PolicyPool, Request, Response, Verdict};
use edgewaf_chain::{self as rules, Fold, Step};
use std::ops::{Deref, DerefMut};
use std::time::Instant;

pub use edgewaf_chain::Outcome;

/// The chain's decision with everything the log needs: the fold's
/// [`edgewaf_chain::Decision`] (through `Deref`) and the time spent.
#[derive(Debug, Clone)]
pub struct Decision {
    /// What the fold decided.
    pub chain: rules::Decision<Finding>,
    /// Time in policies, µs.
    pub eval_us: u64,
}

impl Deref for Decision {
    type Target = rules::Decision<Finding>;
    fn deref(&self) -> &Self::Target {
        &self.chain
    }
}

impl DerefMut for Decision {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.chain
    }
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Allow => "allow",
        Action::Deny(_) => "deny",
        Action::Redirect(_) => "redirect",
        Action::Fail(_) => "error",
    }
}

/// The WIT verdict as the fold takes it (moves, no copies).
fn to_rules(v: Verdict) -> rules::Verdict<Finding> {
    let action = match v.action {
        Action::Allow => rules::Action::Allow,
        Action::Deny(d) => rules::Action::Deny {
            status: d.status,
            reason: d.reason,
            headers: d.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        },
        Action::Redirect(to) => rules::Action::Redirect(to),
        Action::Fail(why) => rules::Action::Fail(why),
    };
    rules::Verdict {
        action,
        findings: v.findings,
        add_request_headers: v
            .add_request_headers
            .into_iter()
            .map(|h| (h.name, h.value))
            .collect(),
        remove_request_headers: v.remove_request_headers,
        annotations: v
            .annotations
            .into_iter()
            .map(|a| rules::Annotation {
                key: a.key,
                value: a.value,
            })
            .collect(),
    }
}

fn new_fold(tenant: &Tenant, d: Option<rules::Decision<Finding>>) -> Fold<Finding> {
    let c = &tenant.config;
    let mode = match c.mode {
        Mode::Block => rules::Mode::Block,
        Mode::Detect => rules::Mode::Detect,
    };
    let on_error = match c.on_error {
        OnError::Deny => rules::OnError::Deny,
        OnError::Allow => rules::OnError::Allow,
    };
    match d {
        None => Fold::new(mode, c.deny_status, on_error),
        Some(d) => Fold::resume(mode, c.deny_status, on_error, d),
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
    let started = Instant::now();
    let fold = new_fold(tenant, None);
    let chain = run(tenant, req, body, Phase::Request, metrics, fold).await;
    timed(tenant, chain, started, 0, metrics)
}

/// Runs the response phase for the policies that asked to inspect responses;
/// their verdicts join the request phase's `decision` by the same rules.
pub async fn on_response(
    tenant: &Tenant,
    req: &mut Request,
    body: &mut Vec<u8>,
    resp: &Response,
    metrics: Option<&Metrics>,
    decision: Decision,
) -> Decision {
    let started = Instant::now();
    let fold = new_fold(tenant, Some(decision.chain));
    let chain = run(tenant, req, body, Phase::Response(resp), metrics, fold).await;
    timed(tenant, chain, started, decision.eval_us, metrics)
}

fn timed(
    tenant: &Tenant,
    chain: rules::Decision<Finding>,
    started: Instant,
    before_us: u64,
    metrics: Option<&Metrics>,
) -> Decision {
    let us = started.elapsed().as_micros() as u64;
    if let Some(m) = metrics {
        m.eval(&tenant.name, us);
    }
    Decision {
        chain,
        eval_us: before_us + us,
    }
}

async fn run(
    tenant: &Tenant,
    req: &mut Request,
    body: &mut Vec<u8>,
    phase: Phase<'_>,
    metrics: Option<&Metrics>,
    mut fold: Fold<Finding>,
) -> rules::Decision<Finding> {
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
        let step = match result {
            Ok(verdict) => take(tenant, pool, verdict, req, &mut fold, metrics),
            Err(e) => {
                let message = e.to_string();
                count_error(tenant, pool.name(), e.kind(), &message, metrics);
                fold.error(pool.name(), &message)
            }
        };
        if step == Step::Stop {
            break;
        }
    }
    lend_body(req, body, false);
    fold.finish()
}

/// Counts and logs a policy's failure: a failed call (`kind` as in
/// [`crate::serve::runtime::PolicyError::kind`]) or a `fail` verdict.
fn count_error(tenant: &Tenant, name: &str, kind: &str, message: &str, metrics: Option<&Metrics>) {
    if let Some(m) = metrics {
        m.policy_error(&tenant.name, name, kind);
        m.decision(&tenant.name, name, "error");
    }
    tracing::warn!(tenant = %tenant.name, policy = name, "policy failed: {message}");
}

/// Folds one verdict (a `fail` verdict is a policy error: the fold applies
/// `on_error`); a verdict with annotations updates the ones the next policy
/// sees.
fn take(
    tenant: &Tenant,
    pool: &PolicyPool,
    verdict: Verdict,
    req: &mut Request,
    fold: &mut Fold<Finding>,
    metrics: Option<&Metrics>,
) -> Step {
    match (&verdict.action, metrics) {
        (Action::Fail(why), _) => count_error(tenant, pool.name(), "failed", why, metrics),
        (action, Some(m)) => m.decision(&tenant.name, pool.name(), action_name(action)),
        (_, None) => {}
    }
    let annotated = !verdict.annotations.is_empty();
    let step = fold.take(pool.name(), to_rules(verdict));
    if annotated {
        req.annotations.clear();
        req.annotations
            .extend(fold.annotations().iter().map(|a| Annotation {
                key: a.key.clone(),
                value: a.value.clone(),
            }));
    }
    step
}

/// Puts the body into the request when the policy wants it, takes it out when not.
fn lend_body(req: &mut Request, body: &mut Vec<u8>, wanted: bool) {
    if wanted == req.body.is_empty() && (!body.is_empty() || !req.body.is_empty()) {
        std::mem::swap(&mut req.body, body);
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
