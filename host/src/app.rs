//! The process: config, runtime, tenants, listeners, wired together.
//!
//! Lifecycle: process init (engine, state, metrics) → per-tenant load (compile,
//! pre-instantiate, init: cacheable, swappable) → per-request instance from the
//! tenant's pool.

use crate::config::ServerConfig;
use crate::events::EventSink;
use crate::metrics::Metrics;
use crate::runtime::Runtime;
use crate::state::{MemoryState, StateBackend};
use crate::tenants::{Loader, Registry, TenantMap};
use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// Everything a request handler needs.
pub struct App {
    /// The process config.
    pub config: ServerConfig,
    /// The live tenants.
    pub registry: Registry,
    /// Loads tenants.
    pub loader: Loader,
    /// Metrics.
    pub metrics: Metrics,
    /// Decision events.
    pub events: EventSink,
    /// Pooled upstream client.
    pub client: Client<HttpConnector, Full<Bytes>>,
    /// The admin bearer token, if set.
    pub admin_token: Option<String>,
}

impl App {
    /// Builds the app and loads every tenant of the policies folder. Tenants that
    /// fail to load are logged and left out; the others serve.
    pub async fn start(config: ServerConfig) -> anyhow::Result<Arc<App>> {
        let state: Arc<dyn StateBackend> = Arc::new(MemoryState::new());
        let runtime = Runtime::new(state)?;
        let loader = Loader::new(runtime, config.policies.modules.clone());
        let (tenants, errors) = loader.load_dir(&config.policies.dir).await;
        for e in &errors {
            tracing::error!("tenant not loaded: {e}");
        }
        let (map, clashes) = TenantMap::build(
            tenants.into_iter().map(Arc::new),
            config.policies.default_tenant.clone(),
        );
        for c in &clashes {
            tracing::error!("{c}");
        }
        for t in map.all() {
            tracing::info!(
                tenant = %t.name,
                version = %t.version,
                hosts = ?t.config.hosts,
                policies = t.chain.len(),
                "tenant loaded"
            );
        }
        if let Some(d) = map.default_tenant()
            && map.get(d).is_none()
        {
            tracing::warn!("default_tenant {d:?} is not loaded; unknown hosts get 421");
        }
        let out: Box<dyn std::io::Write + Send> = match config.log.decisions.as_deref() {
            None | Some("stdout") | Some("-") => Box::new(std::io::stdout()),
            Some(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening decision log {path}"))?,
            ),
        };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(
            config.server.upstream_connect_timeout_ms,
        )));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(connector);
        let admin_token = std::env::var(&config.admin.token_env)
            .ok()
            .filter(|t| !t.is_empty());
        if admin_token.is_none() {
            tracing::warn!(
                "{} is not set: the admin API answers 401 to everything but /healthz",
                config.admin.token_env
            );
        }
        let events = EventSink::new(out, config.admin.events);
        Ok(Arc::new(App {
            config,
            registry: Registry::new(map),
            loader,
            metrics: Metrics::new(),
            events,
            client,
            admin_token,
        }))
    }
}
