//! The alert hub: every tenant's [`Watch`], and the webhook target each
//! tenant's `[alerts]` table resolves to, in front of one [`Deliverer`].

use super::deliver::{Backoff, Deliverer, Target};
use super::{AlertConfig, Watch};
use crate::observe::events::DecisionEvent;
use std::collections::HashMap;
use std::sync::Mutex;

/// Alerts waiting for delivery at most (then dropped and counted).
pub const QUEUE: usize = 1024;

struct TenantAlerts {
    watch: Watch,
    /// The target, and the `(webhook, secret_env)` it was resolved from.
    target: Option<(String, String, Target)>,
}

/// Sees decision events of tenants with `[alerts]` and queues their alerts.
pub struct Hub {
    tenants: Mutex<HashMap<String, TenantAlerts>>,
    deliverer: Deliverer,
}

impl Hub {
    /// Starts the delivery worker on the current Tokio runtime, counting in
    /// `counters` (the metrics').
    pub fn start(counters: super::deliver::Counters) -> Self {
        Hub {
            tenants: Mutex::new(HashMap::new()),
            deliverer: Deliverer::start(QUEUE, Backoff::default(), counters),
        }
    }

    /// Sees one event of a tenant whose config has `[alerts]`. Cheap: one
    /// mutex, no I/O; delivery happens on the worker.
    pub fn observe(&self, cfg: &AlertConfig, ev: &DecisionEvent) {
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let t = tenants
            .entry(ev.tenant.clone())
            .or_insert_with(|| TenantAlerts {
                watch: Watch::default(),
                target: None,
            });
        let alerts = t.watch.observe(cfg, ev, now_s);
        if alerts.is_empty() {
            return;
        }
        let stale = t
            .target
            .as_ref()
            .is_none_or(|(w, s, _)| *w != cfg.webhook || *s != cfg.secret_env);
        if stale {
            // Validated when the tenant loaded; a failure here (the variable
            // unset since) drops the alert and says why, once per change.
            match cfg.validate() {
                Ok(target) => {
                    t.target = Some((cfg.webhook.clone(), cfg.secret_env.clone(), target))
                }
                Err(e) => {
                    tracing::warn!("tenant {}: alerts not sent: {e}", ev.tenant);
                    t.target = None;
                    return;
                }
            }
        }
        if let Some((_, _, target)) = &t.target {
            for a in alerts {
                self.deliverer.send(target, a);
            }
        }
    }
}
