//! The [`Runtime`]: one wasmtime engine with its epoch ticker, the linker of
//! the policy world, and components compiled once per content hash (in memory,
//! and on disk when the runtime has a state folder).

use super::bindings::{Policy, PolicyPre};
use super::idle::IdleBudget;
use super::{GuestState, HostCtx, LoadError, SnapshotCache};
use crate::serve::state::StateBackend;
use anyhow::Context as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

/// One epoch tick.
const TICK: Duration = Duration::from_millis(1);

/// Snapshot policies whose `init` takes at least this long (ms) by default.
pub const SNAPSHOT_MIN_INIT_MS: u64 = 100;

/// The engine, the linker and the compiled-component cache.
pub struct Runtime {
    engine: Engine,
    engine_hash: String,
    pub(super) linker: Linker<GuestState>,
    components: Mutex<HashMap<String, Component>>,
    pub(super) state: Arc<dyn StateBackend>,
    precompiled: Option<crate::control::store::Store>,
    pub(super) snapshots: SnapshotCache,
    pub(super) snapshot_min_init_ms: AtomicU64,
    pub(super) idle: IdleBudget,
}

/// The engine's settings: component model, epoch interruption, and what hot
/// swapping and snapshots need.
fn new_engine() -> anyhow::Result<Engine> {
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
    // Profiling aid (docs/perf): `perf` names the guests' compiled functions
    // from /tmp/perf-<pid>.map.
    if std::env::var_os("EDGEWAF_PERFMAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// WASI 0.2 and the `edgewaf:policy/host` interface.
fn new_linker(engine: &Engine) -> anyhow::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(|e| anyhow::anyhow!("linking WASI: {e:?}"))?;
    Policy::add_to_linker::<_, HasSelf<HostCtx>>(&mut linker, |s: &mut GuestState| &mut s.host)
        .map_err(|e| anyhow::anyhow!("linking host interface: {e:?}"))?;
    Ok(linker)
}

/// Advances the engine's epoch every [`TICK`] until the engine is dropped:
/// a call's deadline is counted in ticks.
fn start_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
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
    Ok(())
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
        precompiled: Option<crate::control::store::Store>,
    ) -> anyhow::Result<Arc<Self>> {
        let engine = new_engine()?;
        let linker = new_linker(&engine)?;
        start_epoch_ticker(&engine)?;
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
            idle: IdleBudget::default(),
        }))
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

    pub(super) fn snapshots_on(&self) -> bool {
        self.snapshot_min_init_ms.load(Ordering::Relaxed) != u64::MAX
    }

    /// The snapshot cache.
    pub fn snapshots(&self) -> &SnapshotCache {
        &self.snapshots
    }

    /// The state backend policies reach through the host interface.
    pub fn state(&self) -> &Arc<dyn StateBackend> {
        &self.state
    }

    /// Compiles component bytes (cached) and pre-instantiates them for the
    /// policy world.
    pub(super) fn pre_of(&self, bytes: &[u8]) -> Result<PolicyPre<GuestState>, String> {
        let (_, component) = self.compile(bytes).map_err(|e| e.to_string())?;
        self.policy_pre(&component).map_err(|e| e.to_string())
    }

    /// Pre-instantiates a compiled component for the policy world.
    pub(super) fn policy_pre(
        &self,
        component: &Component,
    ) -> Result<PolicyPre<GuestState>, LoadError> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        PolicyPre::new(pre).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))
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
        self.policy_pre(component).map(|_| ())
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
}
