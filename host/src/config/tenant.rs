//! One tenant's TOML file: hosts, upstream, mode and the chain of policies.

use super::{ConfigError, default_true};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a tenant does with a request its chain denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny and redirect verdicts take effect.
    #[default]
    Block,
    /// Everything is logged; every request goes on.
    Detect,
}

/// What a tenant does when a policy traps, runs out of time or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Fail closed: answer with the deny status.
    #[default]
    Deny,
    /// Fail open: skip the failed policy.
    Allow,
}

/// One tenant: `policies/<tenant>.toml`.
///
/// ```toml
/// hosts = ["shop.localhost"]
/// upstream = "http://127.0.0.1:8081"
/// mode = "block"          # or "detect"
/// on_error = "deny"       # or "allow"
/// deny_status = 403
/// body_limit = 131072     # bytes of body handed to policies
///
/// [limits]
/// memory_mib = 64
/// deadline_ms = 50
///
/// [[policy]]
/// module = "signatures"
/// [policy.config]
/// categories = ["sqli", "xss"]
/// ```
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// `hosts = ["shop.localhost"]`: Host header values (port ignored, case-insensitive).
    pub hosts: Vec<String>,
    /// `upstream = "http://127.0.0.1:8081"`: the origin, scheme and authority.
    pub upstream: String,
    /// `mode = "block"`.
    #[serde(default)]
    pub mode: Mode,
    /// `on_error = "deny"`.
    #[serde(default)]
    pub on_error: OnError,
    /// `deny_status = 403`.
    #[serde(default = "default_deny_status")]
    pub deny_status: u16,
    /// `body_limit = 131072`: how much of the body policies see (the rest is
    /// forwarded uninspected and the request is flagged `body-truncated`).
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// `response_body_limit = 131072`: how much of a response body `on-response` sees.
    #[serde(default = "default_body_limit")]
    pub response_body_limit: usize,
    /// `[limits]`.
    #[serde(default)]
    pub limits: TenantLimits,
    /// `[[policy]]`: the chain, run in order.
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicyConfig>,
    /// `[alerts]`: webhook alerts (see docs/alerts-and-logs.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<crate::observe::alerts::AlertConfig>,
}

fn default_deny_status() -> u16 {
    403
}
fn default_body_limit() -> usize {
    128 * 1024
}

/// `[limits]` of a tenant: applied to every instance of its policies.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantLimits {
    /// `memory_mib = 64`: linear memory per instance.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
    /// `deadline_ms = 50`: CPU time per call.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// `init_deadline_ms = 10000`: time for `init` (rule sets take a while).
    #[serde(default = "default_init_deadline_ms")]
    pub init_deadline_ms: u64,
    /// `max_instances = 8`: instances per policy (concurrent calls beyond wait).
    #[serde(default = "default_max_instances")]
    pub max_instances: usize,
}

impl Default for TenantLimits {
    fn default() -> Self {
        TenantLimits {
            memory_mib: default_memory_mib(),
            deadline_ms: default_deadline_ms(),
            init_deadline_ms: default_init_deadline_ms(),
            max_instances: default_max_instances(),
        }
    }
}

fn default_memory_mib() -> u64 {
    64
}
fn default_deadline_ms() -> u64 {
    50
}
fn default_init_deadline_ms() -> u64 {
    10_000
}
fn default_max_instances() -> usize {
    8
}

/// One `[[policy]]` entry of a tenant's chain.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// `name = "waf"`: how logs and metrics call it (default: the module name).
    #[serde(default)]
    pub name: Option<String>,
    /// `module = "signatures"`: a component found in the `[policies] modules` folders.
    #[serde(default)]
    pub module: Option<String>,
    /// `path = "my-policy.wasm"`: a component file, relative to the tenant file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// `mounts = { "/crs" = "../crs" }`: host folders the policy may read,
    /// read-only, at the given guest paths (relative host paths are resolved
    /// against the tenant file).
    #[serde(default)]
    pub mounts: BTreeMap<String, PathBuf>,
    /// `snapshot = false`: never start this policy from a pre-initialised
    /// snapshot (for a policy that keeps files or streams open across `init`).
    /// Default `true`: a slow `init` is snapshotted, see README "Snapshots".
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub snapshot: bool,
    /// `[policy.config]`: handed to the policy's `init` as JSON.
    #[serde(default = "empty_table")]
    pub config: toml::Value,
}

fn is_true(b: &bool) -> bool {
    *b
}

fn empty_table() -> toml::Value {
    toml::Value::Table(Default::default())
}

impl PolicyConfig {
    /// The display name: `name`, else the module name, else the file stem.
    pub fn display_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        if let Some(m) = &self.module {
            return m.clone();
        }
        self.path
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "policy".into())
    }
}

/// A validated tenant name: lower-case letters, digits, `-` and `_`, 1–64 chars.
pub fn validate_tenant_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tenant name {name:?} must be 1-64 characters of a-z, 0-9, '-' or '_'"
        ))
    }
}

impl TenantConfig {
    /// Parses a tenant file's text; `path` is only used in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let cfg: TenantConfig =
            toml::from_str(text).map_err(|e| ConfigError::new(path, e.to_string()))?;
        cfg.validate().map_err(|m| ConfigError::new(path, m))?;
        Ok(cfg)
    }

    /// Checks what serde cannot: values in range, one source per policy.
    pub fn validate(&self) -> Result<(), String> {
        if self.hosts.is_empty() {
            return Err("field `hosts`: give at least one Host name".into());
        }
        for h in &self.hosts {
            if h.is_empty() || h.contains(['/', ' ']) {
                return Err(format!("field `hosts`: {h:?} is not a host name"));
            }
        }
        let uri: http::Uri = self
            .upstream
            .parse()
            .map_err(|e| format!("field `upstream`: {:?} is not a URL: {e}", self.upstream))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(format!(
                "field `upstream`: {:?} must look like http://host:port",
                self.upstream
            ));
        }
        if !(400..=599).contains(&self.deny_status) {
            return Err(format!(
                "field `deny_status`: {} is not a 4xx or 5xx status",
                self.deny_status
            ));
        }
        if self.limits.memory_mib == 0 || self.limits.memory_mib > 4096 {
            return Err("field `limits.memory_mib`: must be 1..=4096".into());
        }
        if self.limits.deadline_ms == 0 || self.limits.deadline_ms > 60_000 {
            return Err("field `limits.deadline_ms`: must be 1..=60000".into());
        }
        if self.limits.max_instances == 0 || self.limits.max_instances > 1024 {
            return Err("field `limits.max_instances`: must be 1..=1024".into());
        }
        if let Some(a) = &self.alerts {
            a.validate()?;
        }
        for (i, p) in self.policies.iter().enumerate() {
            match (&p.module, &p.path) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "policy #{} ({}): give `module` or `path`, not both",
                        i + 1,
                        p.display_name()
                    ));
                }
                (None, None) => {
                    return Err(format!(
                        "policy #{}: give `module = \"name\"` or `path = \"file.wasm\"`",
                        i + 1
                    ));
                }
                _ => {}
            }
            if !p.config.is_table() {
                return Err(format!("policy #{}: `config` must be a table", i + 1));
            }
            for guest in p.mounts.keys() {
                if !guest.starts_with('/') {
                    return Err(format!(
                        "policy #{}: mount point {guest:?} must be an absolute guest path",
                        i + 1
                    ));
                }
            }
        }
        Ok(())
    }
}
