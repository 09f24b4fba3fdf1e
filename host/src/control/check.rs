//! `edgewaf check`: evaluate one request offline against one tenant and print the
//! verdict and findings as JSON.

use crate::config::ServerConfig;
use crate::control::tenants::Loader;
use crate::serve::chain::{self, Outcome};
use crate::serve::runtime::Runtime;
use crate::serve::state::{MemoryState, StateBackend};
use anyhow::{Context as _, bail};
use std::path::Path;
use std::sync::Arc;

/// Loads `tenant` from the config's policies folder, runs the request in
/// `request_file` through its chain (request phase) and returns the report and
/// whether the request would be blocked.
pub async fn run(
    config_path: &Path,
    tenant: &str,
    request_file: &Path,
) -> anyhow::Result<(serde_json::Value, bool)> {
    let config = ServerConfig::load(config_path)?;
    let bytes = std::fs::read(request_file)
        .with_context(|| format!("reading {}", request_file.display()))?;
    let file = crate::serve::request::parse_file(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", request_file.display()))?;
    let state: Arc<dyn StateBackend> = Arc::new(MemoryState::new());
    let loader = Loader::new(Runtime::new(state)?, config.policies.modules.clone());
    let tenant_file = config.policies.dir.join(format!("{tenant}.toml"));
    if !tenant_file.is_file() {
        bail!(
            "no tenant {tenant:?}: {} does not exist",
            tenant_file.display()
        );
    }
    let tenant = loader.load_file(&tenant_file).await?;
    let mut request = file.request;
    request.tenant = tenant.name.clone();
    let mut inspect = file.body.clone();
    let limit = tenant.config.body_limit;
    if inspect.len() > limit {
        inspect.truncate(limit);
        request.body_truncated = true;
    }
    let decision = chain::on_request(&tenant, &mut request, &mut inspect, None).await;
    let (status, blocked) = match &decision.outcome {
        Outcome::Allow => (None, false),
        Outcome::Deny { status, .. } => (Some(*status), true),
        Outcome::Redirect(_) => (Some(302), true),
    };
    let event =
        crate::serve::proxy::decision_event(&tenant, &request, &decision, status.unwrap_or(200));
    let report = serde_json::json!({
        "tenant": tenant.name,
        "mode": event.mode,
        "verdict": decision.action(),
        "status": status,
        "policy": decision.policy,
        "would_deny": decision.would_deny,
        "reason": event.reason,
        "findings": event.findings,
        "errors": decision.errors,
        "annotations": event.annotations,
        "eval_us": decision.eval_us,
    });
    Ok((report, blocked))
}
