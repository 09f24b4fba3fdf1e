//! The Wasm runtime: one wasmtime [`Engine`], components compiled once per content
//! hash, and per-tenant pools of initialised policy instances.
//!
//! Setup, in order:
//! 1. [`Runtime::new`] builds the engine (component model, epoch interruption) and
//!    starts the epoch ticker (1 tick = 1 ms).
//! 2. [`Runtime::compile`] turns component bytes into a [`Component`], cached by
//!    SHA-256 so tenants that share a module share its compiled code.
//! 3. [`Runtime::load_policy`] pre-instantiates the component for one tenant's
//!    policy, creates a first instance and calls `init` with the policy's config
//!    (an init error refuses the load with the guest's own message).
//! 4. [`PolicyPool::on_request`] / [`PolicyPool::on_response`] borrow an idle
//!    instance of that tenant (or create one), call it under the memory limit and
//!    CPU deadline, and return it. A trapped instance is dropped, never reused.

#[allow(missing_docs)]
mod bindings;
mod host_api;

pub use bindings::{
    Action, Annotation, Capabilities, Connection, Deny, Finding, Header, PeerCertificate, Request,
    Response, Severity, TlsInfo, Verdict,
};
pub use host_api::HostCtx;

use crate::state::StateBackend;
use anyhow::Context as _;
use bindings::{Policy, PolicyPre};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

/// One epoch tick.
const TICK: Duration = Duration::from_millis(1);

/// Why a policy call did not produce a verdict.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyError {
    /// The call ran past the tenant's CPU deadline.
    #[error("deadline of {0} ms exceeded")]
    Deadline(u64),
    /// The guest tried to grow its memory past the tenant's limit.
    #[error("memory limit of {0} MiB exceeded")]
    Memory(u64),
    /// The guest trapped (panic, unreachable, out-of-bounds access...).
    #[error("trap: {0}")]
    Trap(String),
    /// A new instance could not be created or initialised.
    #[error("init failed: {0}")]
    Init(String),
}

impl PolicyError {
    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyError::Deadline(_) => "deadline",
            PolicyError::Memory(_) => "memory",
            PolicyError::Trap(_) => "trap",
            PolicyError::Init(_) => "init",
        }
    }
}

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a component wasmtime can compile.
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    /// The component does not fit the `edgewaf:policy/policy` world.
    #[error("component does not implement the edgewaf:policy world: {0}")]
    WrongWorld(String),
    /// A mount folder cannot be opened.
    #[error("mount {guest} -> {host}: {message}")]
    Mount {
        /// Guest path.
        guest: String,
        /// Host path.
        host: String,
        /// Why.
        message: String,
    },
    /// The guest's `init` returned an error or trapped.
    #[error("policy init failed: {0}")]
    Init(String),
}

/// Resource limits for every instance of one tenant's policies.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory per instance, MiB.
    pub memory_mib: u64,
    /// CPU time per call, ms.
    pub deadline_ms: u64,
    /// CPU time for `init`, ms.
    pub init_deadline_ms: u64,
    /// Instances per policy.
    pub max_instances: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 64,
            deadline_ms: 50,
            init_deadline_ms: 10_000,
            max_instances: 8,
        }
    }
}

/// Everything needed to load one policy of one tenant.
pub struct PolicySpec {
    /// Tenant name.
    pub tenant: String,
    /// Display name of the policy.
    pub name: String,
    /// The compiled component.
    pub component: Component,
    /// The config handed to `init`, JSON text.
    pub config_json: String,
    /// Read-only folders: (host path, guest path).
    pub mounts: Vec<(PathBuf, String)>,
    /// Limits.
    pub limits: Limits,
}

/// The store data of one instance.
pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    host: HostCtx,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The engine, the linker and the compiled-component cache.
pub struct Runtime {
    engine: Engine,
    engine_hash: String,
    linker: Linker<GuestState>,
    components: Mutex<HashMap<String, Component>>,
    state: Arc<dyn StateBackend>,
    precompiled: Option<crate::store::Store>,
}

impl Runtime {
    /// Builds the engine and starts the epoch ticker thread; no on-disk cache.
    pub fn new(state: Arc<dyn StateBackend>) -> anyhow::Result<Arc<Self>> {
        Self::with_cache(state, None)
    }

    /// Like [`Runtime::new`], keeping precompiled components in `store` so a
    /// restart does not recompile them.
    pub fn with_cache(
        state: Arc<dyn StateBackend>,
        precompiled: Option<crate::store::Store>,
    ) -> anyhow::Result<Arc<Self>> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Hot swapping loads and drops many modules: registering native unwind info
        // for each becomes quadratic.
        config.native_unwind_info(false);
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("linking WASI: {e:?}"))?;
        Policy::add_to_linker::<_, HasSelf<HostCtx>>(&mut linker, |s: &mut GuestState| &mut s.host)
            .map_err(|e| anyhow::anyhow!("linking host interface: {e:?}"))?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("edgewaf-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .context("starting the epoch thread")?;
        let engine_hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            engine.precompile_compatibility_hash().hash(&mut h);
            format!("{:016x}", h.finish())
        };
        Ok(Arc::new(Runtime {
            engine,
            engine_hash,
            linker,
            components: Mutex::new(HashMap::new()),
            state,
            precompiled,
        }))
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The state backend policies reach through the host interface.
    pub fn state(&self) -> &Arc<dyn StateBackend> {
        &self.state
    }

    /// Compiles component bytes, or returns the cached compilation of the same
    /// content. Returns the content's SHA-256 (hex) too.
    pub fn compile(&self, bytes: &[u8]) -> Result<(String, Component), LoadError> {
        let hash = hex::encode(Sha256::digest(bytes));
        if let Some(c) = self
            .components
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
        {
            return Ok((hash, c.clone()));
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(LoadError::Compile(
                "the file does not start with the Wasm magic bytes".into(),
            ));
        }
        let component = self.compile_or_load(&hash, bytes)?;
        self.components
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash.clone(), component.clone());
        Ok((hash, component))
    }

    fn compile_or_load(&self, hash: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        let cached = self
            .precompiled
            .as_ref()
            .map(|store| (store, store.precompiled_path(hash, &self.engine_hash)));
        if let Some((_, path)) = &cached
            && path.is_file()
        {
            // SAFETY: the file is one this host wrote with `Component::serialize`
            // for an engine of the same compatibility hash, in its own state folder.
            match unsafe { Component::deserialize_file(&self.engine, path) } {
                Ok(c) => return Ok(c),
                Err(e) => tracing::warn!("ignoring precompiled {}: {e:#}", path.display()),
            }
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        if let Some((store, path)) = cached {
            match component.serialize() {
                Ok(art) => {
                    if let Err(e) = store.put_precompiled(&path, &art) {
                        tracing::warn!("cannot cache {}: {e}", path.display());
                    }
                }
                Err(e) => tracing::warn!("cannot serialize component {hash}: {e:#}"),
            }
        }
        Ok(component)
    }

    /// Checks that a component implements the `edgewaf:policy` world without
    /// running it.
    pub fn check_world(&self, component: &Component) -> Result<(), LoadError> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        PolicyPre::new(pre).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        Ok(())
    }

    /// Loads one policy for one tenant: pre-instantiates, creates the first
    /// instance and runs `init`.
    pub async fn load_policy(
        self: &Arc<Self>,
        spec: PolicySpec,
    ) -> Result<Arc<PolicyPool>, LoadError> {
        let pre = self
            .linker
            .instantiate_pre(&spec.component)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        let pre = PolicyPre::new(pre).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        for (host, guest) in &spec.mounts {
            if !host.is_dir() {
                return Err(LoadError::Mount {
                    guest: guest.clone(),
                    host: host.display().to_string(),
                    message: "not a folder".into(),
                });
            }
        }
        let pool = PolicyPool {
            tenant: spec.tenant.into(),
            name: spec.name.into(),
            pre,
            config_json: spec.config_json,
            mounts: spec.mounts,
            limits: spec.limits,
            caps: Capabilities {
                request_body: false,
                inspect_response: false,
            },
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(spec.limits.max_instances),
            runtime: self.clone(),
        };
        let (first, caps) = pool.instantiate().await.map_err(|e| match e {
            PolicyError::Init(m) => LoadError::Init(m),
            other => LoadError::Init(other.to_string()),
        })?;
        let pool = PolicyPool { caps, ..pool };
        pool.put_back(first);
        Ok(Arc::new(pool))
    }
}

struct Instance {
    store: Store<GuestState>,
    policy: Policy,
}

/// The instances of one policy of one tenant. Instances are created on demand up
/// to `max_instances`, reused one call at a time, and never shared with another
/// tenant (the pool belongs to the tenant's chain).
pub struct PolicyPool {
    tenant: Arc<str>,
    name: Arc<str>,
    pre: PolicyPre<GuestState>,
    config_json: String,
    mounts: Vec<(PathBuf, String)>,
    limits: Limits,
    caps: Capabilities,
    idle: Mutex<Vec<Instance>>,
    permits: Semaphore,
    runtime: Arc<Runtime>,
}

impl PolicyPool {
    /// The policy's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the policy asked for in `init`.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// Instances currently idle (for tests and metrics).
    pub fn idle_instances(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn put_back(&self, inst: Instance) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(inst);
    }

    fn take_idle(&self) -> Option<Instance> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn new_store(&self) -> Result<Store<GuestState>, PolicyError> {
        let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
        for (host, guest) in &self.mounts {
            wasi.preopened_dir(host, guest, FsPerms::ReadOnly)
                .map_err(|e| PolicyError::Init(format!("mount {guest}: {e:#}")))?;
        }
        let limits = StoreLimitsBuilder::new()
            .memory_size((self.limits.memory_mib * 1024 * 1024) as usize)
            .instances(64)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build();
        let data = GuestState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits,
            host: HostCtx {
                tenant: self.tenant.clone(),
                policy: self.name.clone(),
                state: self.runtime.state.clone(),
            },
        };
        let mut store = Store::new(&self.runtime.engine, data);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        Ok(store)
    }

    fn classify(&self, err: wasmtime::Error) -> PolicyError {
        if let Some(trap) = err.downcast_ref::<Trap>()
            && *trap == Trap::Interrupt
        {
            return PolicyError::Deadline(self.limits.deadline_ms);
        }
        let text = format!("{err:#}");
        if text.contains("forcing trap when growing memory") {
            return PolicyError::Memory(self.limits.memory_mib);
        }
        PolicyError::Trap(crate::events::shorten(&text, 300))
    }

    async fn instantiate(&self) -> Result<(Instance, Capabilities), PolicyError> {
        let mut store = self.new_store()?;
        store.set_epoch_deadline(self.limits.init_deadline_ms);
        let policy = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| PolicyError::Init(format!("instantiate: {e:#}")))?;
        let result = policy
            .edgewaf_policy_filter()
            .call_init(&mut store, &self.config_json)
            .await;
        match result {
            Ok(Ok(caps)) => Ok((Instance { store, policy }, caps)),
            Ok(Err(message)) => Err(PolicyError::Init(message)),
            Err(e) => Err(PolicyError::Init(self.classify(e).to_string())),
        }
    }

    async fn checkout(&self) -> Result<(tokio::sync::SemaphorePermit<'_>, Instance), PolicyError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PolicyError::Init("policy pool closed".into()))?;
        let inst = match self.take_idle() {
            Some(i) => i,
            None => self.instantiate().await?.0,
        };
        Ok((permit, inst))
    }

    /// Calls `on-request` under the tenant's limits.
    pub async fn on_request(&self, req: &Request) -> Result<Verdict, PolicyError> {
        let (_permit, mut inst) = self.checkout().await?;
        inst.store.set_epoch_deadline(self.limits.deadline_ms);
        let filter = inst.policy.edgewaf_policy_filter();
        match filter.call_on_request(&mut inst.store, req).await {
            Ok(v) => {
                self.put_back(inst);
                Ok(v)
            }
            Err(e) => Err(self.classify(e)),
        }
    }

    /// Calls `on-response` under the tenant's limits.
    pub async fn on_response(
        &self,
        req: &Request,
        resp: &Response,
    ) -> Result<Verdict, PolicyError> {
        let (_permit, mut inst) = self.checkout().await?;
        inst.store.set_epoch_deadline(self.limits.deadline_ms);
        let filter = inst.policy.edgewaf_policy_filter();
        match filter.call_on_response(&mut inst.store, req, resp).await {
            Ok(v) => {
                self.put_back(inst);
                Ok(v)
            }
            Err(e) => Err(self.classify(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemoryState;

    /// The smallest valid component: it exports nothing.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn runtime(cache: Option<crate::store::Store>) -> Arc<Runtime> {
        let state: Arc<dyn StateBackend> = Arc::new(MemoryState::new());
        Runtime::with_cache(state, cache).unwrap()
    }

    #[test]
    fn garbage_and_core_modules_are_refused() {
        let rt = runtime(None);
        assert!(matches!(rt.compile(b"hello"), Err(LoadError::Compile(_))));
        let err = rt.compile(b"\0asm\x01\0\0\0").unwrap_err();
        assert!(matches!(err, LoadError::Compile(_)), "{err}");
    }

    #[test]
    fn a_component_of_another_world_is_named() {
        let rt = runtime(None);
        let (_, c) = rt.compile(EMPTY_COMPONENT).unwrap();
        let err = rt.check_world(&c).unwrap_err();
        assert!(err.to_string().contains("edgewaf:policy world"), "{err}");
    }

    #[test]
    fn compiled_components_are_cached_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::new(dir.path());
        let rt = runtime(Some(store.clone()));
        let (h1, _) = rt.compile(EMPTY_COMPONENT).unwrap();
        let (h2, _) = rt.compile(EMPTY_COMPONENT).unwrap();
        assert_eq!(h1, h2);
        let cached: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
            .unwrap()
            .collect();
        assert_eq!(cached.len(), 1, "one precompiled artifact");
        // A second runtime (a restart) loads the artifact instead of compiling.
        let rt2 = runtime(Some(store));
        let (h3, c) = rt2.compile(EMPTY_COMPONENT).unwrap();
        assert_eq!(h3, h1);
        assert!(rt2.check_world(&c).is_err());
    }

    #[test]
    fn error_kinds_for_metrics() {
        assert_eq!(PolicyError::Deadline(50).kind(), "deadline");
        assert_eq!(PolicyError::Memory(64).kind(), "memory");
        assert_eq!(PolicyError::Trap("x".into()).kind(), "trap");
        assert_eq!(PolicyError::Init("x".into()).kind(), "init");
        assert_eq!(
            PolicyError::Deadline(50).to_string(),
            "deadline of 50 ms exceeded"
        );
    }
}
