//! The process: config, runtime, tenants, listeners, wired together.
//!
//! Lifecycle: process init (engine, state, metrics) → per-tenant load (compile,
//! pre-instantiate, init: cacheable, swappable) → per-request instance from the
//! tenant's pool.

use crate::config::ServerConfig;
use crate::control::manager::Manager;
use crate::control::store::Store;
use crate::control::tenants::{Loader, Registry};
use crate::observe::analytics::Analytics;
use crate::observe::events::EventSink;
use crate::observe::metrics::Metrics;
use crate::serve::runtime::Runtime;
use crate::serve::state::StateBackend;
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
    /// The live tenants (read per request).
    pub registry: Arc<Registry>,
    /// Applies, removes and rolls back tenants.
    pub manager: Arc<Manager>,
    /// Counters, key-value and runtime lists for policies.
    pub state: Arc<dyn StateBackend>,
    /// Metrics.
    pub metrics: Metrics,
    /// Decision events.
    pub events: EventSink,
    /// Pooled upstream client.
    pub client: Client<HttpConnector, Full<Bytes>>,
    /// The admin tokens (named, with scopes).
    pub tokens: crate::control::access::Tokens,
    /// Dashboard sessions.
    pub sessions: crate::control::access::Sessions,
    /// The durable event store, unless `[analytics] enabled = false`.
    pub analytics: Option<crate::observe::analytics::Analytics>,
    /// Per-tenant alerts (`[alerts]`), delivered off the request path.
    pub alerts: crate::observe::alerts::hub::Hub,
    /// Where the client's country comes from (`[geo]`).
    pub geo: crate::serve::geo::Geo,
    watcher: std::sync::Mutex<Option<notify::RecommendedWatcher>>,
}

impl App {
    /// Builds the app and loads every tenant of the policies folder. Tenants that
    /// fail to load are logged and left out; the others serve.
    pub async fn start(config: ServerConfig) -> anyhow::Result<Arc<App>> {
        let geo = crate::serve::geo::Geo::load(&config.geo).map_err(anyhow::Error::msg)?;
        let metrics = Metrics::new();
        let state = crate::serve::state::open(&config.state, metrics.state())
            .with_context(|| format!("[state] backend {:?}", config.state.backend))?;
        let store = Store::new(&config.state.dir);
        let runtime = Runtime::with_cache(state.clone(), Some(store.clone()))?;
        runtime.set_idle_instances(config.state.idle_instances);
        let loader =
            Loader::new(runtime, config.policies.modules.clone()).with_store(store.clone());
        let registry = Arc::new(Registry::default());
        let manager = Arc::new(Manager::new(
            loader,
            registry.clone(),
            store,
            config.policies.dir.clone(),
            config.policies.default_tenant.clone(),
            config.state.versions_kept,
        ));
        manager.load_all().await;
        let tokens = crate::control::access::Tokens::from_env(
            &config.admin.token_env,
            &config.admin.tokens,
        )?;
        if tokens.is_empty() {
            tracing::warn!(
                "{} is not set and no [[admin.tokens]] is: the admin API answers 401 to everything but /healthz",
                config.admin.token_env
            );
        }
        let (events, analytics) = open_events(&config, &metrics, &registry, &manager)?;
        let alerts = crate::observe::alerts::hub::Hub::start(metrics.alert_counters());
        let watcher = watch(&config, &manager);
        Ok(Arc::new(App {
            client: upstream_client(&config),
            config,
            registry,
            manager,
            state,
            metrics,
            events,
            tokens,
            sessions: crate::control::access::Sessions::default(),
            analytics,
            alerts,
            geo,
            watcher: std::sync::Mutex::new(watcher),
        }))
    }

    /// Stops watching the policies folder.
    pub fn stop_watching(&self) {
        self.watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}

/// The pooled client to the upstreams.
fn upstream_client(config: &ServerConfig) -> Client<HttpConnector, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_millis(
        config.server.upstream_connect_timeout_ms,
    )));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build(connector)
}

/// The decision log (`[log]`) and, unless `[analytics] enabled = false`, the
/// durable store with its tenant-versions watcher.
fn open_events(
    config: &ServerConfig,
    metrics: &Metrics,
    registry: &Arc<Registry>,
    manager: &Arc<Manager>,
) -> anyhow::Result<(EventSink, Option<Analytics>)> {
    let out = crate::observe::decision_log::open(
        config.log.decisions.as_deref(),
        config.log.max_bytes,
        config.log.keep,
    )
    .context("[log]")?;
    let mut events = EventSink::new(out, config.admin.events);
    if config.log.format == crate::observe::decision_log::LogFormat::Ecs {
        events = events.with_ecs();
    }
    if !config.analytics.enabled {
        return Ok((events, None));
    }
    let path = config.state.dir.join(&config.analytics.path);
    let a = Analytics::open(&path, &config.analytics, metrics.analytics_dropped())
        .with_context(|| format!("[analytics] opening the event store {}", path.display()))?;
    tokio::spawn(crate::observe::analytics::versions::watch(
        a.clone(),
        registry.clone(),
        manager.clone(),
    ));
    Ok((events.with_store(a.clone()), Some(a)))
}

/// Watches the policies folder when `[state] watch` (a failure is logged).
fn watch(config: &ServerConfig, manager: &Arc<Manager>) -> Option<notify::RecommendedWatcher> {
    if !config.state.watch {
        return None;
    }
    let debounce = Duration::from_millis(config.state.watch_debounce_ms);
    crate::control::watch::start(manager.clone(), debounce)
        .inspect_err(|e| tracing::warn!("not watching {}: {e}", config.policies.dir.display()))
        .ok()
}
