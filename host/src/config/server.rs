//! `edgewaf.toml`: the process-wide config (listeners, admin, state, logs).

use super::{ConfigError, default_true};
use serde::Deserialize;
use std::path::{Path, PathBuf};

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
    /// `[analytics]`: the durable event store (see [`crate::observe::analytics`]).
    #[serde(default)]
    pub analytics: crate::observe::analytics::AnalyticsConfig,
    /// `[geo]`: the client's country (see [`crate::serve::geo`]).
    #[serde(default)]
    pub geo: GeoConfig,
}

/// `[geo]`: where the client's country comes from. Without it no country is
/// looked up (events carry none).
///
/// ```toml
/// [geo]
/// country_db = "countries.csv"          # network,country lines (CIDR, ISO 3166-1 alpha-2)
/// country_header = "cf-ipcountry"       # optional: a proxy's header, trusted only from
/// trusted_proxies = ["173.245.48.0/20"] # these peers (otherwise ignored)
/// ```
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GeoConfig {
    /// `country_db = "countries.csv"`: read at start; relative to `edgewaf.toml`.
    #[serde(default)]
    pub country_db: Option<PathBuf>,
    /// `country_header = "cf-ipcountry"`: the country a trusted proxy sends.
    #[serde(default)]
    pub country_header: Option<String>,
    /// `trusted_proxies = ["10.0.0.0/8"]`: peers whose `country_header` counts.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
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
    /// key-value entries and runtime lists live (see [`crate::serve::state`]).
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
    crate::serve::runtime::IDLE_INSTANCES
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
/// are read and checked at startup (see [`crate::serve::tls`]).
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
    /// `[[admin.tokens]]`: more named tokens with scopes (see [`crate::control::access`]).
    #[serde(default)]
    pub tokens: Vec<crate::control::access::TokenConfig>,
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
    pub format: crate::observe::decision_log::LogFormat,
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
        if let Some(db) = &mut cfg.geo.country_db {
            *db = base.join(&*db);
        }
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
