//! The config model: `edgewaf.toml` (process-wide) and one TOML file per tenant in
//! the policies directory. Pure serde, no runtime: every struct refuses unknown
//! fields so a typo gets an error naming the file, line and field.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An error in a config file: which file, and what (the TOML parser's message
/// already names line, column and field).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, with line and field where known.
    pub message: String,
}

impl ConfigError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// `edgewaf.toml`.
///
/// ```toml
/// [server]
/// listen = "127.0.0.1:8080"
/// [admin]
/// listen = "127.0.0.1:9901"
/// [policies]
/// dir = "policies"
/// modules = ["target/wasm32-wasip2/release"]
/// ```
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `[server]`: the proxy listener and its limits.
    #[serde(default)]
    pub server: ListenerConfig,
    /// `[admin]`: the admin API listener.
    #[serde(default)]
    pub admin: AdminConfig,
    /// `[policies]`: where tenants and modules live.
    #[serde(default)]
    pub policies: PoliciesConfig,
    /// `[log]`: where decision lines go.
    #[serde(default)]
    pub log: LogConfig,
    /// `[state]`: the host's own files and reload behaviour.
    #[serde(default)]
    pub state: StateConfig,
    /// `[analytics]`: the durable event store (see [`crate::analytics`]).
    #[serde(default)]
    pub analytics: crate::analytics::AnalyticsConfig,
}

/// `[state]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// `dir = ".edgewaf"`: uploaded modules, precompiled components, tenant versions.
    #[serde(default = "default_state_dir")]
    pub dir: PathBuf,
    /// `versions_kept = 10`: applied versions kept per tenant for rollback.
    #[serde(default = "default_versions_kept")]
    pub versions_kept: usize,
    /// `watch = true`: reload a tenant when its files under the policies folder change.
    #[serde(default = "default_true")]
    pub watch: bool,
    /// `watch_debounce_ms = 200`: quiet time after the last change before reloading.
    #[serde(default = "default_debounce")]
    pub watch_debounce_ms: u64,
    /// `backend = "memory"` (default) or `"redis"`: where policy counters,
    /// key-value entries and runtime lists live (see [`crate::state`]).
    #[serde(default)]
    pub backend: StateBackendKind,
    /// `redis_url = "redis://127.0.0.1:6379/0"`: the Redis every node shares.
    #[serde(default = "default_redis_url")]
    pub redis_url: String,
    /// `redis_prefix = "ew"`: first part of every key (several clusters can share one Redis).
    #[serde(default = "default_redis_prefix")]
    pub redis_prefix: String,
    /// `redis_timeout_ms = 20`: connect, read and write timeout of each Redis call.
    #[serde(default = "default_redis_timeout_ms")]
    pub redis_timeout_ms: u64,
    /// `redis_retry_ms = 1000`: while Redis is unreachable, how often to try it again.
    #[serde(default = "default_redis_retry_ms")]
    pub redis_retry_ms: u64,
    /// `idle_instances = 64`: initialised policy instances kept idle across
    /// all tenants; past it the one idle the longest is dropped (its tenant
    /// makes a new one when needed, from a snapshot in about a millisecond).
    #[serde(default = "default_idle_instances")]
    pub idle_instances: usize,
}

fn default_idle_instances() -> usize {
    crate::runtime::IDLE_INSTANCES
}

/// `[state] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StateBackendKind {
    /// In process memory; runtime lists persisted to `<dir>/lists.json`.
    #[default]
    Memory,
    /// Shared through Redis, with local memory as the fallback.
    Redis,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            dir: default_state_dir(),
            versions_kept: default_versions_kept(),
            watch: true,
            watch_debounce_ms: default_debounce(),
            backend: StateBackendKind::Memory,
            redis_url: default_redis_url(),
            redis_prefix: default_redis_prefix(),
            redis_timeout_ms: default_redis_timeout_ms(),
            redis_retry_ms: default_redis_retry_ms(),
            idle_instances: default_idle_instances(),
        }
    }
}

fn default_redis_url() -> String {
    "redis://127.0.0.1:6379/0".into()
}
fn default_redis_prefix() -> String {
    "ew".into()
}
fn default_redis_timeout_ms() -> u64 {
    20
}
fn default_redis_retry_ms() -> u64 {
    1000
}

fn default_state_dir() -> PathBuf {
    ".edgewaf".into()
}
fn default_versions_kept() -> usize {
    10
}
fn default_true() -> bool {
    true
}
fn default_debounce() -> u64 {
    200
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// `listen = "127.0.0.1:8080"`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// `max_request_body = 16777216`: bodies larger than this get 413 (bytes).
    #[serde(default = "default_max_body")]
    pub max_request_body: usize,
    /// `header_timeout_ms = 10000`: time a client has to send the request head.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_ms: u64,
    /// `body_timeout_ms = 30000`: time a client has to send the body.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_ms: u64,
    /// `upstream_timeout_ms = 30000`: time the upstream has to answer.
    #[serde(default = "default_upstream_timeout")]
    pub upstream_timeout_ms: u64,
    /// `upstream_connect_timeout_ms = 2000`.
    #[serde(default = "default_connect_timeout")]
    pub upstream_connect_timeout_ms: u64,
    /// `[server.tls]`: when present, the proxy listener speaks HTTPS only.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// `[server.tls]`: TLS 1.2 and 1.3 on the proxy listener, optionally with
/// client certificates (mTLS). Paths are relative to `edgewaf.toml`; the files
/// are read and checked at startup (see [`crate::tls`]).
///
/// ```toml
/// [server.tls]
/// certs = [
///   { cert = "shop.pem", key = "shop-key.pem", sni = ["shop.example"] },  # the default
///   { cert = "api.pem", key = "api-key.pem", sni = ["api.example", "*.api.example"] },
/// ]
/// client_auth = "required"    # "none" (default), "optional" or "required"
/// client_ca = "clients-ca.pem"
/// crls = ["clients-ca.crl.pem"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `certs = [{ cert, key, sni }]`: server certificates; the one whose `sni`
    /// names the client's server name is chosen, the first one otherwise.
    pub certs: Vec<TlsCertConfig>,
    /// `client_auth = "none"`: whether clients present a certificate.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// `client_ca = "ca.pem"`: the PEM bundle client certificates must chain to
    /// (needed unless `client_auth = "none"`).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// `crls = ["ca.crl.pem"]`: PEM certificate revocation lists; a client
    /// certificate a CRL lists as revoked is refused at the handshake.
    #[serde(default)]
    pub crls: Vec<PathBuf>,
}

/// One `certs` entry of `[server.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCertConfig {
    /// `cert = "server.pem"`: the certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// `key = "server-key.pem"`: its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// `sni = ["shop.example", "*.shop.example"]`: server names this
    /// certificate answers (`*.` matches one label; case ignored).
    #[serde(default)]
    pub sni: Vec<String>,
}

/// `client_auth` of `[server.tls]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// No client certificate is asked for.
    #[default]
    None,
    /// Asked for; a certificate that is sent must verify, but none is fine
    /// (the request then carries TLS info without a client certificate).
    Optional,
    /// A certificate that verifies against `client_ca` is needed to finish
    /// the handshake.
    Required,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            listen: default_listen(),
            max_request_body: default_max_body(),
            header_timeout_ms: default_header_timeout(),
            body_timeout_ms: default_body_timeout(),
            upstream_timeout_ms: default_upstream_timeout(),
            upstream_connect_timeout_ms: default_connect_timeout(),
            tls: None,
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_max_body() -> usize {
    16 * 1024 * 1024
}
fn default_header_timeout() -> u64 {
    10_000
}
fn default_body_timeout() -> u64 {
    30_000
}
fn default_upstream_timeout() -> u64 {
    30_000
}
fn default_connect_timeout() -> u64 {
    2_000
}

/// `[admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `listen = "127.0.0.1:9901"`.
    #[serde(default = "default_admin_listen")]
    pub listen: String,
    /// `token_env = "EDGEWAF_ADMIN_TOKEN"`: the environment variable holding the
    /// bearer token. Without it every protected endpoint answers 401.
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// `events = 1000`: decisions kept in memory for `/api/events`.
    #[serde(default = "default_events")]
    pub events: usize,
    /// `[[admin.tokens]]`: more named tokens with scopes (see [`crate::access`]).
    #[serde(default)]
    pub tokens: Vec<crate::access::TokenConfig>,
    /// `metrics_listen = "127.0.0.1:9902"`: a listener of its own serving
    /// `GET /metrics` without the token, for scrapers (unset by default:
    /// `/metrics` is only on the admin listener, behind the token).
    #[serde(default)]
    pub metrics_listen: Option<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: default_admin_listen(),
            token_env: default_token_env(),
            events: default_events(),
            tokens: Vec::new(),
            metrics_listen: None,
        }
    }
}

fn default_admin_listen() -> String {
    "127.0.0.1:9901".into()
}
fn default_token_env() -> String {
    "EDGEWAF_ADMIN_TOKEN".into()
}
fn default_events() -> usize {
    1000
}

/// `[policies]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliciesConfig {
    /// `dir = "policies"`: one `<tenant>.toml` per tenant.
    #[serde(default = "default_policies_dir")]
    pub dir: PathBuf,
    /// `modules = ["target/wasm32-wasip2/release"]`: where `module = "name"`
    /// finds `name.wasm` (hyphens may be written as underscores and vice versa).
    #[serde(default = "default_modules")]
    pub modules: Vec<PathBuf>,
    /// `default_tenant = "demo"`: serves requests whose Host matches no tenant
    /// (otherwise they get 421).
    #[serde(default)]
    pub default_tenant: Option<String>,
}

impl Default for PoliciesConfig {
    fn default() -> Self {
        PoliciesConfig {
            dir: default_policies_dir(),
            modules: default_modules(),
            default_tenant: None,
        }
    }
}

fn default_policies_dir() -> PathBuf {
    "policies".into()
}
fn default_modules() -> Vec<PathBuf> {
    vec!["target/wasm32-wasip2/release".into()]
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `decisions = "stdout"` (default) or a file path to append JSON lines to.
    #[serde(default)]
    pub decisions: Option<String>,
    /// `format = "json"` (default) or `"ecs"` (Elastic Common Schema names).
    #[serde(default)]
    pub format: crate::decision_log::LogFormat,
    /// `file = "decisions.log"`: the same as `decisions` (set one of them).
    #[serde(default)]
    pub file: Option<String>,
    /// `max_bytes = 104857600`: rotate the file past this size (0: never).
    #[serde(default = "default_log_max_bytes")]
    pub max_bytes: u64,
    /// `keep = 5`: rotated files kept.
    #[serde(default = "default_log_keep")]
    pub keep: u32,
}

fn default_log_max_bytes() -> u64 {
    100 * 1024 * 1024
}
fn default_log_keep() -> u32 {
    5
}

impl ServerConfig {
    /// Reads `edgewaf.toml`; relative paths in it are resolved against its folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, format!("cannot read: {e}")))?;
        let mut cfg: ServerConfig =
            toml::from_str(&text).map_err(|e| ConfigError::new(path, e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        cfg.policies.dir = base.join(&cfg.policies.dir);
        cfg.state.dir = base.join(&cfg.state.dir);
        for m in &mut cfg.policies.modules {
            *m = base.join(&*m);
        }
        if let Some(tls) = &mut cfg.server.tls {
            for c in &mut tls.certs {
                c.cert = base.join(&c.cert);
                c.key = base.join(&c.key);
            }
            if let Some(ca) = &mut tls.client_ca {
                *ca = base.join(&*ca);
            }
            for crl in &mut tls.crls {
                *crl = base.join(&*crl);
            }
        }
        if cfg.log.file.is_some() && cfg.log.decisions.is_some() {
            return Err(ConfigError::new(
                path,
                "[log]: set `file` or `decisions`, not both".to_string(),
            ));
        }
        if let Some(f) = cfg.log.file.take() {
            cfg.log.decisions = Some(f);
        }
        if let Some(d) = &cfg.log.decisions
            && d != "stdout"
            && d != "-"
        {
            cfg.log.decisions = Some(base.join(d).to_string_lossy().into_owned());
        }
        Ok(cfg)
    }
}

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
    pub alerts: Option<crate::alerts::AlertConfig>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TenantConfig, ConfigError> {
        TenantConfig::parse(Path::new("policies/t.toml"), text)
    }

    #[test]
    fn minimal_tenant_gets_defaults() {
        let t = parse("hosts=['a.test']\nupstream='http://127.0.0.1:1'\n").unwrap();
        assert_eq!(t.mode, Mode::Block);
        assert_eq!(t.on_error, OnError::Deny);
        assert_eq!(t.deny_status, 403);
        assert_eq!(t.limits.memory_mib, 64);
        assert_eq!(t.limits.deadline_ms, 50);
        assert!(t.policies.is_empty());
    }

    #[test]
    fn typo_names_file_line_and_field() {
        let err = parse("hosts=['a.test']\nupstream='http://127.0.0.1:1'\nmdoe='detect'\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("policies/t.toml:"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("mdoe"), "{err}");
    }

    #[test]
    fn bad_enum_value_is_named() {
        let err = parse("hosts=['a']\nupstream='http://127.0.0.1:1'\nmode='block-ish'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("block-ish") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn policy_needs_exactly_one_source() {
        let err = parse("hosts=['a']\nupstream='http://127.0.0.1:1'\n[[policy]]\nname='x'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("module"), "{err}");
        let err = parse(
            "hosts=['a']\nupstream='http://127.0.0.1:1'\n[[policy]]\nmodule='a'\npath='b.wasm'\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not both"), "{err}");
    }

    #[test]
    fn upstream_must_be_http_url() {
        let err = parse("hosts=['a']\nupstream='ftp://x'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("upstream"), "{err}");
    }

    #[test]
    fn policy_config_table_survives() {
        let t = parse(
            "hosts=['a']\nupstream='http://127.0.0.1:1'\n[[policy]]\nmodule='ip-filter'\n[policy.config]\ndeny=['10.0.0.0/8']\n",
        )
        .unwrap();
        assert_eq!(t.policies[0].config["deny"][0].as_str(), Some("10.0.0.0/8"));
    }

    #[test]
    fn tenant_names() {
        assert!(validate_tenant_name("shop-1").is_ok());
        assert!(validate_tenant_name("Shop").is_err());
        assert!(validate_tenant_name("../x").is_err());
        assert!(validate_tenant_name("").is_err());
    }

    #[test]
    fn state_backend_keys() {
        let c: ServerConfig = toml::from_str("").unwrap();
        assert_eq!(c.state.backend, StateBackendKind::Memory);
        let c: ServerConfig = toml::from_str(
            "[state]\nbackend = 'redis'\nredis_url = 'redis://10.0.0.5:6380/2'\nredis_timeout_ms = 5\n",
        )
        .unwrap();
        assert_eq!(c.state.backend, StateBackendKind::Redis);
        assert_eq!(c.state.redis_url, "redis://10.0.0.5:6380/2");
        assert_eq!(c.state.redis_timeout_ms, 5);
        assert_eq!(c.state.redis_retry_ms, 1000);
        assert_eq!(c.state.redis_prefix, "ew");
        let err = toml::from_str::<ServerConfig>("[state]\nbackend = 'etcd'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("etcd") && err.contains("redis"), "{err}");
    }
}
