//! Tenant versions as they start serving: which policies, which modules
//! (SHA-256 of the component file) and which rule sets (the folders mounted
//! into the sandbox, e.g. `crs/v4.28.0`) were in force, and since when.
//!
//! [`watch`] notes the versions serving at start-up, then every version the
//! manager swaps in (a file edit, the admin API, a rollback), with the time
//! it was applied.

use crate::control::tenants::{Registry, Tenant};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// One policy of a tenant version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PolicyInfo {
    /// The policy's name in logs.
    pub name: String,
    /// `module = ...` or `path = ...` as written.
    pub module: String,
    /// SHA-256 of the component file (first 12 hex digits), if found.
    pub sha256: Option<String>,
    /// Rule sets mounted into the sandbox: the last two parts of each host
    /// folder (`crs/v4.28.0`).
    pub rule_sets: Vec<String>,
}

/// A tenant version that started serving.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VersionRecord {
    /// Since when, ms since the epoch.
    pub ts_ms: u64,
    /// Tenant.
    pub tenant: String,
    /// Config hash (`tenant_version` in events).
    pub version: String,
    /// `block` or `detect`.
    pub mode: String,
    /// The chain.
    pub policies: Vec<PolicyInfo>,
}

fn short_tail(path: &std::path::Path) -> String {
    let parts: Vec<String> = path
        .components()
        .rev()
        .take(2)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// Describes a tenant's chain; `resolve` finds a module's file by name.
pub fn describe(
    tenant: &Tenant,
    ts_ms: u64,
    resolve: impl Fn(&str) -> Option<std::path::PathBuf>,
) -> VersionRecord {
    let policies = tenant
        .config
        .policies
        .iter()
        .zip(tenant.chain.iter())
        .map(|(p, pool)| {
            let (module, file) = match (&p.module, &p.path) {
                (Some(m), _) => (m.clone(), resolve(m)),
                (None, Some(path)) => (path.display().to_string(), Some(path.clone())),
                (None, None) => (String::new(), None),
            };
            let sha256 = file
                .and_then(|f| std::fs::read(f).ok())
                .map(|bytes| hex::encode(Sha256::digest(&bytes))[..12].to_string());
            PolicyInfo {
                name: pool.name().to_string(),
                module,
                sha256,
                rule_sets: p.mounts.values().map(|m| short_tail(m)).collect(),
            }
        })
        .collect();
    VersionRecord {
        ts_ms,
        tenant: tenant.name.clone(),
        version: tenant.version.clone(),
        mode: match tenant.config.mode {
            crate::config::Mode::Block => "block".into(),
            crate::config::Mode::Detect => "detect".into(),
        },
        policies,
    }
}

/// Notes every tenant version that starts serving: the ones serving now,
/// then each one the manager swaps in, until the manager is dropped. The
/// component files are read (for their SHA-256) on a blocking thread.
pub async fn watch(
    analytics: super::Analytics,
    registry: Arc<Registry>,
    manager: Arc<crate::control::manager::Manager>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Arc<Tenant>, u64)>();
    manager.on_applied(Box::new(move |tenant, applied_ms| {
        let _ = tx.send((tenant, applied_ms));
    }));
    for t in registry.snapshot().all() {
        let applied = manager
            .store()
            .versions(&t.name)
            .into_iter()
            .find(|v| v.hash == t.version)
            .map(|v| v.applied_ms)
            .unwrap_or_else(super::now_ms);
        note(&analytics, &manager, t, applied).await;
    }
    let manager = Arc::downgrade(&manager);
    while let Some((t, applied)) = rx.recv().await {
        let Some(m) = manager.upgrade() else { return };
        note(&analytics, &m, t, applied).await;
    }
}

async fn note(
    analytics: &super::Analytics,
    manager: &Arc<crate::control::manager::Manager>,
    tenant: Arc<Tenant>,
    applied_ms: u64,
) {
    let manager = manager.clone();
    let record = tokio::task::spawn_blocking(move || {
        describe(&tenant, applied_ms, |m| {
            manager.loader().resolve_module(m).ok()
        })
    })
    .await;
    if let Ok(record) = record {
        analytics.version(record);
    }
}
