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
//!    When the policy's `init` is slow (at least the runtime's
//!    `snapshot_min_init_ms`), a snapshot of the initialised instance is built
//!    in the background and later instances start from it ([`snapshot`]);
//!    a tenant whose (module, config, mounts) already has one starts from it
//!    at once, without running `init`.
//! 4. [`PolicyPool::on_request`] / [`PolicyPool::on_response`] borrow an idle
//!    instance of that tenant (or create one), call it under the memory limit and
//!    CPU deadline, and return it. A trapped instance is dropped, never reused.

#[allow(missing_docs)]
mod bindings;
mod host_api;
pub mod snapshot;

pub use bindings::{
    Action, Annotation, Capabilities, Connection, Deny, Finding, Header, PeerCertificate, Request,
    Response, Severity, TlsInfo, Verdict,
};
pub use host_api::HostCtx;
pub use snapshot::{Snapshot, SnapshotCache, snapshot_key};

use crate::serve::state::StateBackend;
use anyhow::Context as _;
use bindings::{Policy, PolicyPre};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
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
    /// The component cannot be snapshotted (it still loads without one).
    #[error("cannot snapshot the policy: {0}")]
    Snapshot(String),
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
    /// The component's bytes, for a pre-initialised snapshot: when given, the
    /// policy starts from the snapshot of (these bytes, `config_json`,
    /// `mounts`) if there is one, and gets one when its `init` is slow.
    pub source: Option<Arc<[u8]>>,
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
    precompiled: Option<crate::control::store::Store>,
    snapshots: SnapshotCache,
    snapshot_min_init_ms: AtomicU64,
    idle: IdleBudget,
}

/// Idle instances kept across all tenants by default (see [`IdleBudget`]).
pub const IDLE_INSTANCES: usize = 64;

/// How many idle instances the whole process keeps, oldest dropped first.
///
/// Every tenant's pool keeps the instances it has made, so that the next
/// request finds one initialised; across 1,000 tenants that is 1,000 sets of
/// memory mappings even when most tenants are cold. Past the budget the
/// instance idle the longest (of any tenant) is dropped; its tenant makes a new
/// one when it needs it (from its snapshot, about 1 ms for the CRS).
struct IdleBudget {
    max: AtomicUsize,
    /// Idle instances right now.
    count: AtomicUsize,
    /// (instance id, its pool), oldest first; entries whose instance was taken
    /// since are stale and skipped (and compacted away).
    order: Mutex<VecDeque<(u64, Weak<PolicyPool>)>>,
    next_id: AtomicU64,
}

/// Snapshot policies whose `init` takes at least this long (ms) by default.
pub const SNAPSHOT_MIN_INIT_MS: u64 = 100;

impl Runtime {
    /// Builds the engine and starts the epoch ticker thread; no on-disk cache.
    pub fn new(state: Arc<dyn StateBackend>) -> anyhow::Result<Arc<Self>> {
        Self::with_cache(state, None)
    }

    /// Like [`Runtime::new`], keeping precompiled components in `store` so a
    /// restart does not recompile them.
    pub fn with_cache(
        state: Arc<dyn StateBackend>,
        precompiled: Option<crate::control::store::Store>,
    ) -> anyhow::Result<Arc<Self>> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Hot swapping loads and drops many modules: registering native unwind info
        // for each becomes quadratic.
        config.native_unwind_info(false);
        // New instances map a module's initialised memory copy-on-write (the
        // default, stated here because snapshots rely on it: every instance of a
        // snapshot shares the pages no request writes). A snapshot's heap may
        // have holes; keep the image dense up to 512 MiB rather than falling
        // back to copying data segments at each instantiation.
        config.memory_init_cow(true);
        config.memory_guaranteed_dense_image_size(512 << 20);
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
        let snapshots = SnapshotCache::new(precompiled.as_ref().map(|s| s.dir().join("snapshots")));
        Ok(Arc::new(Runtime {
            engine,
            engine_hash,
            linker,
            components: Mutex::new(HashMap::new()),
            state,
            precompiled,
            snapshots,
            snapshot_min_init_ms: AtomicU64::new(SNAPSHOT_MIN_INIT_MS),
            idle: IdleBudget {
                max: AtomicUsize::new(IDLE_INSTANCES),
                count: AtomicUsize::new(0),
                order: Mutex::new(VecDeque::new()),
                next_id: AtomicU64::new(1),
            },
        }))
    }

    /// How many idle instances the process keeps across all tenants (at
    /// least 1); past it, the one idle the longest is dropped.
    pub fn set_idle_instances(&self, max: usize) {
        self.idle.max.store(max.max(1), Ordering::Relaxed);
        self.enforce_idle_budget();
    }

    /// Idle instances across all tenants right now.
    pub fn idle_instances(&self) -> usize {
        self.idle.count.load(Ordering::Relaxed)
    }

    /// Drops the longest-idle instances until the budget holds.
    fn enforce_idle_budget(&self) {
        let b = &self.idle;
        let mut order = b.order.lock().unwrap_or_else(|e| e.into_inner());
        while b.count.load(Ordering::Relaxed) > b.max.load(Ordering::Relaxed) {
            let Some((id, pool)) = order.pop_front() else {
                break;
            };
            if let Some(pool) = pool.upgrade()
                && let Some(inst) = pool.take_idle_id(id)
            {
                drop(inst);
            }
        }
        // Stale entries (instances taken since) would pile up between
        // evictions: keep the queue within a small multiple of the live ones.
        if order.len() > 2 * b.count.load(Ordering::Relaxed) + 64 {
            order.retain(|(id, pool)| pool.upgrade().is_some_and(|p| p.holds_idle(*id)));
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Which policies get a snapshot: those whose `init` took at least `ms`;
    /// `None` turns snapshots off (existing ones are no longer used either).
    pub fn set_snapshot_min_init_ms(&self, ms: Option<u64>) {
        self.snapshot_min_init_ms
            .store(ms.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn snapshots_on(&self) -> bool {
        self.snapshot_min_init_ms.load(Ordering::Relaxed) != u64::MAX
    }

    /// The snapshot cache.
    pub fn snapshots(&self) -> &SnapshotCache {
        &self.snapshots
    }

    /// Compiles component bytes (cached) and pre-instantiates them for the
    /// policy world.
    fn pre_of(&self, bytes: &[u8]) -> Result<PolicyPre<GuestState>, String> {
        let (_, component) = self.compile(bytes).map_err(|e| e.to_string())?;
        self.policy_pre(&component).map_err(|e| e.to_string())
    }

    fn policy_pre(&self, component: &Component) -> Result<PolicyPre<GuestState>, LoadError> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        PolicyPre::new(pre).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))
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

    /// Loads one policy for one tenant: pre-instantiates (from a snapshot when
    /// there is one), creates the first instance and runs `init`. A slow `init`
    /// gets a snapshot built in the background for the instances after it.
    pub async fn load_policy(
        self: &Arc<Self>,
        spec: PolicySpec,
    ) -> Result<Arc<PolicyPool>, LoadError> {
        for (host, guest) in &spec.mounts {
            if !host.is_dir() {
                return Err(LoadError::Mount {
                    guest: guest.clone(),
                    host: host.display().to_string(),
                    message: "not a folder".into(),
                });
            }
        }
        let key = match &spec.source {
            Some(bytes) if self.snapshots_on() => {
                Some(snapshot_key(bytes, &spec.config_json, &spec.mounts))
            }
            _ => None,
        };
        let snapshot = match &key {
            Some(k) => self.snapshots.find(self, k).await,
            None => None,
        };
        let from_snapshot = snapshot.is_some();
        let pre = match snapshot {
            Some(pre) => pre,
            None => self.policy_pre(&spec.component)?,
        };
        let pool = PolicyPool {
            tenant: spec.tenant.into(),
            name: spec.name.into(),
            pre: Mutex::new(pre),
            config_json: spec.config_json,
            mounts: spec.mounts,
            limits: spec.limits,
            caps: Capabilities {
                request_body: false,
                inspect_response: false,
            },
            idle: IdleList {
                list: Mutex::new(Vec::new()),
                runtime: self.clone(),
            },
            permits: Semaphore::new(spec.limits.max_instances),
            runtime: self.clone(),
            me: Weak::new(),
            affinity: Mutex::new(Affinity::default()),
            returned: tokio::sync::Notify::new(),
        };
        let started = std::time::Instant::now();
        let (first, caps) = pool.instantiate().await.map_err(|e| match e {
            PolicyError::Init(m) => LoadError::Init(m),
            other => LoadError::Init(other.to_string()),
        })?;
        let init_ms = started.elapsed().as_millis() as u64;
        let pool = Arc::new_cyclic(|me| PolicyPool {
            caps,
            me: me.clone(),
            ..pool
        });
        pool.put_back(first);
        if let (Some(key), Some(source), false) = (key, spec.source, from_snapshot)
            && init_ms >= self.snapshot_min_init_ms.load(Ordering::Relaxed)
        {
            self.snapshot_in_background(key, source, &pool);
        }
        Ok(pool)
    }

    /// Builds the snapshot of `pool`'s policy (unless another load already
    /// is) and moves the pool onto it; the pool serves meanwhile.
    fn snapshot_in_background(
        self: &Arc<Self>,
        key: String,
        source: Arc<[u8]>,
        pool: &Arc<PolicyPool>,
    ) {
        let runtime = self.clone();
        let pool = Arc::downgrade(pool);
        let Some(p) = pool.upgrade() else { return };
        let (config, mounts, limits) = (p.config_json.clone(), p.mounts.clone(), p.limits);
        let (tenant, name) = (p.tenant.clone(), p.name.clone());
        drop(p);
        // On a thread of its own: building a snapshot is seconds of CPU
        // (instrumenting, init, serialising) that must not hold up the async
        // workers serving requests.
        let build = move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::warn!(%tenant, policy = %name, "no snapshot: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                let started = std::time::Instant::now();
                let built = runtime
                    .snapshots
                    .get_or_build(&runtime, &key, async || {
                        runtime.snapshot(&source, &config, &mounts, limits).await
                    })
                    .await;
                match built {
                    Ok(pre) => {
                        tracing::info!(
                            %tenant, policy = %name, snapshot = &key[..12],
                            ms = started.elapsed().as_millis() as u64,
                            "policy snapshot ready"
                        );
                        if let Some(pool) = pool.upgrade() {
                            pool.use_snapshot(pre);
                        }
                    }
                    Err(e) => tracing::warn!(%tenant, policy = %name, "no snapshot: {e}"),
                }
            });
        };
        if let Err(e) = std::thread::Builder::new()
            .name("edgewaf-snapshot".into())
            .spawn(build)
        {
            tracing::warn!("no snapshot: cannot start its thread: {e}");
        }
    }
}

/// A store for one instance: WASI with read-only `mounts`, the memory limit and
/// epoch interruption.
fn new_store(
    runtime: &Runtime,
    state: Arc<dyn StateBackend>,
    tenant: &str,
    policy: &str,
    mounts: &[(PathBuf, String)],
    limits: Limits,
) -> Result<Store<GuestState>, PolicyError> {
    let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
    for (host, guest) in mounts {
        wasi.preopened_dir(host, guest, FsPerms::ReadOnly)
            .map_err(|e| PolicyError::Init(format!("mount {guest}: {e:#}")))?;
    }
    let store_limits = StoreLimitsBuilder::new()
        .memory_size((limits.memory_mib * 1024 * 1024) as usize)
        .instances(64)
        .tables(64)
        .memories(16)
        .trap_on_grow_failure(true)
        .build();
    let data = GuestState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limits: store_limits,
        host: HostCtx {
            tenant: tenant.into(),
            policy: policy.into(),
            state,
        },
    };
    let mut store = Store::new(&runtime.engine, data);
    store.limiter(|s| &mut s.limits);
    store.epoch_deadline_trap();
    Ok(store)
}

struct Instance {
    store: Store<GuestState>,
    policy: Policy,
    /// Set each time the instance goes idle (for the process-wide budget).
    idle_id: u64,
    /// Fixed for the instance's life (for response affinity).
    uid: u64,
}

/// The instances of one policy of one tenant. Instances are created on demand up
/// to `max_instances`, reused one call at a time, and never shared with another
/// tenant (the pool belongs to the tenant's chain).
pub struct PolicyPool {
    tenant: Arc<str>,
    name: Arc<str>,
    pre: Mutex<PolicyPre<GuestState>>,
    config_json: String,
    mounts: Vec<(PathBuf, String)>,
    limits: Limits,
    caps: Capabilities,
    idle: IdleList,
    permits: Semaphore,
    runtime: Arc<Runtime>,
    /// This pool, for the process-wide idle budget's queue.
    me: Weak<PolicyPool>,
    /// Request id -> the instance whose `on-request` saw it, for policies that
    /// inspect responses: `on-response` goes to the same instance, which
    /// still holds what `on-request` found (see [`PolicyPool::on_response`]).
    affinity: Mutex<Affinity>,
    /// Notified whenever an instance goes idle.
    returned: tokio::sync::Notify,
}

/// Requests waiting for their response, bounded (oldest forgotten first).
#[derive(Default)]
struct Affinity {
    by_request: HashMap<String, u64>,
    order: VecDeque<String>,
}

/// Requests remembered for response affinity per pool.
const AFFINITY_MAX: usize = 4096;

/// How long `on-response` waits for its request's instance to come back
/// before it takes another one (which then re-derives what it needs).
const AFFINITY_WAIT: Duration = Duration::from_millis(20);

/// A pool's idle instances; when the pool goes, they leave the process-wide
/// count with it.
struct IdleList {
    list: Mutex<Vec<Instance>>,
    runtime: Arc<Runtime>,
}

impl Drop for IdleList {
    fn drop(&mut self) {
        let n = self.list.get_mut().map(|v| v.len()).unwrap_or(0);
        self.runtime.idle.count.fetch_sub(n, Ordering::Relaxed);
    }
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
        self.idle
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Returns an instance to the pool; it counts against the process-wide
    /// idle budget, which may drop the longest-idle instance of any tenant.
    fn put_back(&self, mut inst: Instance) {
        let budget = &self.runtime.idle;
        inst.idle_id = budget.next_id.fetch_add(1, Ordering::Relaxed);
        let id = inst.idle_id;
        self.idle
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(inst);
        budget.count.fetch_add(1, Ordering::Relaxed);
        budget
            .order
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back((id, self.me.clone()));
        self.runtime.enforce_idle_budget();
        self.returned.notify_waiters();
    }

    /// Takes the idle instance `uid` out of the pool, if it is idle.
    fn take_idle_uid(&self, uid: u64) -> Option<Instance> {
        let mut idle = self.idle.list.lock().unwrap_or_else(|e| e.into_inner());
        let at = idle.iter().position(|i| i.uid == uid)?;
        self.runtime.idle.count.fetch_sub(1, Ordering::Relaxed);
        Some(idle.swap_remove(at))
    }

    /// Remembers that instance `uid` served `on-request` for `request`.
    fn remember(&self, request: &str, uid: u64) {
        let mut a = self.affinity.lock().unwrap_or_else(|e| e.into_inner());
        if a.by_request.insert(request.to_string(), uid).is_none() {
            a.order.push_back(request.to_string());
        }
        while a.order.len() > AFFINITY_MAX {
            if let Some(old) = a.order.pop_front() {
                a.by_request.remove(&old);
            }
        }
    }

    /// The instance that served `on-request` for `request`, forgotten now.
    fn recall(&self, request: &str) -> Option<u64> {
        let mut a = self.affinity.lock().unwrap_or_else(|e| e.into_inner());
        let uid = a.by_request.remove(request)?;
        if let Some(at) = a.order.iter().position(|r| r == request) {
            a.order.remove(at);
        }
        Some(uid)
    }

    /// Takes idle instance `id` out of the pool, if it is still idle.
    fn take_idle_id(&self, id: u64) -> Option<Instance> {
        let mut idle = self.idle.list.lock().unwrap_or_else(|e| e.into_inner());
        let at = idle.iter().position(|i| i.idle_id == id)?;
        self.runtime.idle.count.fetch_sub(1, Ordering::Relaxed);
        Some(idle.swap_remove(at))
    }

    /// True when instance `id` is idle in this pool.
    fn holds_idle(&self, id: u64) -> bool {
        self.idle
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|i| i.idle_id == id)
    }

    fn take_idle(&self) -> Option<Instance> {
        let inst = self
            .idle
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        if inst.is_some() {
            self.runtime.idle.count.fetch_sub(1, Ordering::Relaxed);
        }
        inst
    }

    /// New instances start from `pre` (a snapshot); idle ones stay.
    fn use_snapshot(&self, pre: PolicyPre<GuestState>) {
        *self.pre.lock().unwrap_or_else(|e| e.into_inner()) = pre;
    }

    fn new_store(&self) -> Result<Store<GuestState>, PolicyError> {
        let state = self.runtime.state.clone();
        let mut store = new_store(&self.runtime, state, "", "", &self.mounts, self.limits)?;
        let host = &mut store.data_mut().host;
        host.tenant = self.tenant.clone();
        host.policy = self.name.clone();
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
        PolicyError::Trap(crate::observe::events::shorten(&text, 300))
    }

    async fn instantiate(&self) -> Result<(Instance, Capabilities), PolicyError> {
        let mut store = self.new_store()?;
        store.set_epoch_deadline(self.limits.init_deadline_ms);
        let pre = self.pre.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let policy = pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| PolicyError::Init(format!("instantiate: {e:#}")))?;
        let result = policy
            .edgewaf_policy_filter()
            .call_init(&mut store, &self.config_json)
            .await;
        match result {
            Ok(Ok(caps)) => Ok((
                Instance {
                    store,
                    policy,
                    idle_id: 0,
                    uid: self.runtime.idle.next_id.fetch_add(1, Ordering::Relaxed),
                },
                caps,
            )),
            Ok(Err(message)) => Err(PolicyError::Init(message)),
            Err(e) => Err(PolicyError::Init(self.classify(e).to_string())),
        }
    }

    async fn checkout(&self) -> Result<(tokio::sync::SemaphorePermit<'_>, Instance), PolicyError> {
        self.checkout_preferring(None).await
    }

    /// Checks an instance out: `preferred` if it comes back idle within
    /// [`AFFINITY_WAIT`], else any idle one, else a new one.
    async fn checkout_preferring(
        &self,
        preferred: Option<u64>,
    ) -> Result<(tokio::sync::SemaphorePermit<'_>, Instance), PolicyError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PolicyError::Init("policy pool closed".into()))?;
        if let Some(uid) = preferred {
            let deadline = tokio::time::Instant::now() + AFFINITY_WAIT;
            loop {
                // Register before looking, so a return in between is not missed.
                let returned = self.returned.notified();
                if let Some(inst) = self.take_idle_uid(uid) {
                    return Ok((permit, inst));
                }
                if tokio::time::timeout_at(deadline, returned).await.is_err() {
                    break;
                }
            }
        }
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
                if self.caps.inspect_response && matches!(v.action, Action::Allow) {
                    self.remember(&req.id, inst.uid);
                }
                self.put_back(inst);
                Ok(v)
            }
            Err(e) => Err(self.classify(e)),
        }
    }

    /// Calls `on-response` under the tenant's limits, on the instance whose
    /// `on-request` saw the request when it comes back within
    /// [`AFFINITY_WAIT`] (a policy such as the CRS keeps its request phases
    /// there; any other instance has to derive them again).
    pub async fn on_response(
        &self,
        req: &Request,
        resp: &Response,
    ) -> Result<Verdict, PolicyError> {
        let preferred = self.recall(&req.id);
        let (_permit, mut inst) = self.checkout_preferring(preferred).await?;
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
    use crate::serve::state::MemoryState;

    /// The smallest valid component: it exports nothing.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn runtime(cache: Option<crate::control::store::Store>) -> Arc<Runtime> {
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
        let store = crate::control::store::Store::new(dir.path());
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
