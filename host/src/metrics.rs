//! Prometheus metrics: requests and decisions by tenant, action and policy, and
//! a histogram of policy evaluation time.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    tenant: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    tenant: String,
    policy: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    tenant: String,
    policy: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

fn eval_histogram() -> Histogram {
    // 5 µs .. ~80 ms
    Histogram::new(exponential_buckets(0.000_005, 2.0, 15))
}

/// All metrics of the process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    decisions: Family<DecisionLabels, Counter>,
    policy_errors: Family<ErrorLabels, Counter>,
    upstream_errors: Family<TenantLabels, Counter>,
    eval_seconds: Family<TenantLabels, Histogram, fn() -> Histogram>,
    state: crate::state::StateMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "edgewaf_requests",
            "Requests handled, by tenant and final action (allow, deny, redirect, error)",
            requests.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "edgewaf_policy_decisions",
            "Verdicts returned by policies, by tenant, policy and action",
            decisions.clone(),
        );
        let policy_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "edgewaf_policy_errors",
            "Policy calls that trapped, ran out of time or memory, or failed to start",
            policy_errors.clone(),
        );
        let upstream_errors = Family::<TenantLabels, Counter>::default();
        registry.register(
            "edgewaf_upstream_errors",
            "Requests the upstream could not answer (502/504)",
            upstream_errors.clone(),
        );
        let eval_seconds =
            Family::<TenantLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                eval_histogram,
            );
        registry.register(
            "edgewaf_policy_eval_seconds",
            "Time spent in a tenant's policy chain per request",
            eval_seconds.clone(),
        );
        let state = crate::state::StateMetrics::default();
        registry.register(
            "edgewaf_state_backend_up",
            "1 while the configured state backend answers; 0 while Redis is unreachable and local memory serves",
            state.up.clone(),
        );
        registry.register(
            "edgewaf_state_fallback",
            "State calls served from local memory because Redis was unreachable",
            state.fallback.clone(),
        );
        Metrics {
            registry,
            requests,
            decisions,
            policy_errors,
            upstream_errors,
            eval_seconds,
            state,
        }
    }

    /// The metrics the state backend keeps up to date.
    pub fn state(&self) -> crate::state::StateMetrics {
        self.state.clone()
    }

    /// Counts a request by its final action.
    pub fn request(&self, tenant: &str, action: &str) {
        self.requests
            .get_or_create(&RequestLabels {
                tenant: tenant.into(),
                action: action.into(),
            })
            .inc();
    }

    /// Counts one policy's verdict.
    pub fn decision(&self, tenant: &str, policy: &str, action: &str) {
        self.decisions
            .get_or_create(&DecisionLabels {
                tenant: tenant.into(),
                policy: policy.into(),
                action: action.into(),
            })
            .inc();
    }

    /// Counts a policy error.
    pub fn policy_error(&self, tenant: &str, policy: &str, kind: &str) {
        self.policy_errors
            .get_or_create(&ErrorLabels {
                tenant: tenant.into(),
                policy: policy.into(),
                kind: kind.into(),
            })
            .inc();
    }

    /// Counts an upstream failure.
    pub fn upstream_error(&self, tenant: &str) {
        self.upstream_errors
            .get_or_create(&TenantLabels {
                tenant: tenant.into(),
            })
            .inc();
    }

    /// Records the chain's evaluation time.
    pub fn eval(&self, tenant: &str, micros: u64) {
        self.eval_seconds
            .get_or_create(&TenantLabels {
                tenant: tenant.into(),
            })
            .observe(micros as f64 / 1e6);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("encoding metrics: {e}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::new();
        m.request("shop", "deny");
        m.request("shop", "deny");
        m.decision("shop", "signatures", "deny");
        m.eval("shop", 120);
        let text = m.render();
        assert!(
            text.contains(r#"edgewaf_requests_total{tenant="shop",action="deny"} 2"#),
            "{text}"
        );
        assert!(text.contains(
            r#"edgewaf_policy_decisions_total{tenant="shop",policy="signatures",action="deny"} 1"#
        ));
        assert!(
            text.contains("edgewaf_policy_eval_seconds_count{tenant=\"shop\"} 1"),
            "{text}"
        );
    }
}
