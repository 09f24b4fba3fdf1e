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

/// The media type of [`Metrics::render`]'s text: OpenMetrics 1.0 (it ends
/// with `# EOF`), which Prometheus scrapes as such.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets of the evaluation-time histogram: 5 µs doubling 22 times, up to
/// about 10.5 s, so that policy deadlines (50 ms by default, 500 ms for the
/// CRS tenant, 10 s for `edgewaf-tools crs-test`) fall inside a finite bucket.
const EVAL_BUCKETS: (f64, f64, u16) = (0.000_005, 2.0, 22);

fn eval_histogram() -> Histogram {
    let (start, factor, count) = EVAL_BUCKETS;
    Histogram::new(exponential_buckets(start, factor, count))
}

/// All metrics of the process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    decisions: Family<DecisionLabels, Counter>,
    policy_errors: Family<ErrorLabels, Counter>,
    upstream_errors: Family<TenantLabels, Counter>,
    eval_seconds: Family<TenantLabels, Histogram, fn() -> Histogram>,
    state: crate::serve::state::StateMetrics,
    analytics_dropped: Counter,
    alerts: crate::observe::alerts::deliver::Counters,
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
        let state = crate::serve::state::StateMetrics::default();
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
        let analytics_dropped = Counter::default();
        registry.register(
            "edgewaf_analytics_dropped",
            "Events and audit records the event store dropped because its queue was full",
            analytics_dropped.clone(),
        );
        let alerts = crate::observe::alerts::deliver::Counters::default();
        alerts.register(&mut registry);
        Metrics {
            alerts,
            analytics_dropped,
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
    pub fn state(&self) -> crate::serve::state::StateMetrics {
        self.state.clone()
    }

    /// The event store's drop counter (see [`crate::observe::analytics`]).
    pub fn analytics_dropped(&self) -> Counter {
        self.analytics_dropped.clone()
    }

    /// The alert delivery counters (see [`crate::observe::alerts`]).
    pub fn alert_counters(&self) -> crate::observe::alerts::deliver::Counters {
        self.alerts.clone()
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

    /// The OpenMetrics text exposition (see [`CONTENT_TYPE`]).
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

    #[test]
    fn buckets_cover_the_deadlines_and_the_text_is_openmetrics() {
        let m = Metrics::new();
        // A chain that ran into the CRS tenant's 500 ms deadline.
        m.eval("crs", 500_000);
        let text = m.render();
        // (upper bound, cumulative count) of each finite bucket.
        let buckets: Vec<(f64, u64)> = text
            .lines()
            .filter(|l| l.starts_with("edgewaf_policy_eval_seconds_bucket{"))
            .filter_map(|l| {
                let le = l.split("le=\"").nth(1)?.split('"').next()?.parse().ok()?;
                Some((le, l.rsplit(' ').next()?.parse().ok()?))
            })
            .collect();
        let top = buckets.iter().map(|b| b.0).fold(0.0, f64::max);
        assert!(top >= 10.0, "top finite bucket {top} s, want at least 10 s");
        let below: Vec<_> = buckets.iter().filter(|b| b.0 < 0.5).collect();
        let first_above = buckets
            .iter()
            .find(|b| b.0 >= 0.5)
            .expect("a bucket past 0.5 s");
        assert!(below.iter().all(|b| b.1 == 0), "{text}");
        assert!(first_above.0 < 1.5 && first_above.1 == 1, "{text}");
        assert!(
            text.ends_with("# EOF\n"),
            "OpenMetrics text ends with # EOF"
        );
        assert!(CONTENT_TYPE.starts_with("application/openmetrics-text; version=1.0.0"));
    }
}
