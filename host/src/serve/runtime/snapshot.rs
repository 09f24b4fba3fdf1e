//! Pre-initialised policy snapshots: `init` runs once per (module, config), and
//! every instance after that starts from the initialised memory.
//!
//! A policy's `init` can be expensive: the CRS parses about 1 MB of rules (0.3 s)
//! into a ruleset that lives in the instance's linear memory. A snapshot is a
//! new component (wasmtime-wizer) whose data segments are that memory after
//! `init(config)`:
//!
//! 1. [`Runtime::snapshot`] instruments the component (wizer adds exports that
//!    read every core instance's memories and globals), instantiates it with the
//!    policy's mounts under the init deadline and memory limit, calls
//!    `init(config)`, and writes the state out as a component.
//! 2. wasmtime turns the snapshot's data segments into a memory image that new
//!    instances map copy-on-write (`memory_init_cow`, on by default): the parsed
//!    ruleset is shared by every instance of every tenant that uses the same
//!    snapshot, and only the pages a request writes become private.
//! 3. The host still calls `init(config)` on each new instance; the SDK
//!    (`export_policy!`) returns at once when the instance already holds a
//!    policy built from that exact config.
//! 4. [`SnapshotCache`] keys snapshots by SHA-256 of (module bytes, config JSON,
//!    a fingerprint of the mounted folders: paths, sizes, mtimes); a changed
//!    module, config or rule file gives a new key, hence a new snapshot. They
//!    are kept in memory and under `<state dir>/snapshots/<key>.wasm` (the
//!    compiled code goes to the usual precompiled cache).
//!
//! Before the state is taken the instance serves two synthetic requests (a
//! benign GET, an SQLi/XSS GET) so that what a policy builds lazily on first
//! use (regex caches) lands in the shared image; a policy that keeps
//! per-instance request state sees them.
//!
//! What a snapshot cannot carry: resource handles (open files, streams) held by
//! the guest at snapshot time do not exist in a new instance. The SDK makes
//! wasi-libc forget its preopened folders after `init`; a policy that keeps a
//! file or stream open across `init` must opt out (`snapshot = false`).

use super::bindings::{Policy, PolicyPre};
use super::store::new_store;
use super::{Capabilities, GuestState, Limits, LoadError, Runtime};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use wasmtime::Store;
use wasmtime::component::{Instance, Lift, WasmList};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

/// The requests a snapshot serves before it is taken (see [`Runtime::snapshot`]).
const WARM_UP: [&str; 2] = [
    "/products?page=2&sort=price",
    "/item?id=1%27%20OR%20%271%27%3D%271&q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
];

const WARM_UP_FAILED: &str = "warm-up request";

/// A policy's state after `init(config)`, as a component.
pub struct Snapshot {
    /// The snapshot component.
    pub bytes: Vec<u8>,
    /// What `init` returned.
    pub caps: Capabilities,
    /// How long `init` took, ms.
    pub init_ms: u64,
}

/// The cache key of a snapshot: SHA-256 (hex) over the module bytes, the config
/// JSON and the mounted folders' fingerprint.
pub fn snapshot_key(module: &[u8], config_json: &str, mounts: &[(PathBuf, String)]) -> String {
    let mut h = Sha256::new();
    h.update(b"edgewaf-snapshot-v2\0");
    h.update(Sha256::digest(module));
    h.update((config_json.len() as u64).to_le_bytes());
    h.update(config_json.as_bytes());
    for (host, guest) in mounts {
        h.update(guest.as_bytes());
        h.update(b"\0");
        fingerprint(host, Path::new(""), &mut h);
    }
    hex::encode(h.finalize())
}

/// Hashes every file under `root/rel`: relative path, size, modification time.
fn fingerprint(root: &Path, rel: &Path, h: &mut Sha256) {
    let Ok(rd) = std::fs::read_dir(root.join(rel)) else {
        h.update(b"unreadable\0");
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let rel = rel.join(e.file_name());
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            fingerprint(root, &rel, h);
            continue;
        }
        h.update(rel.to_string_lossy().as_bytes());
        h.update(b"\0");
        h.update(meta.len().to_le_bytes());
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        h.update(mtime.to_le_bytes());
    }
}

/// Reads the instrumented instance's state for wizer; a failed call is kept
/// and reported after the snapshot (wizer's interface cannot fail).
struct Access<'a> {
    store: &'a mut Store<GuestState>,
    instance: Instance,
    error: Option<String>,
}

impl Access<'_> {
    async fn call<R: Lift + Send + Sync + 'static>(
        &mut self,
        iface: &str,
        func: &str,
    ) -> Option<R> {
        let result = async {
            let i = self
                .instance
                .get_export_index(&mut *self.store, None, iface)
                .ok_or_else(|| format!("no export {iface}"))?;
            let f = self
                .instance
                .get_export_index(&mut *self.store, Some(&i), func)
                .ok_or_else(|| format!("no export {iface}#{func}"))?;
            let f = self
                .instance
                .get_typed_func::<(), (R,)>(&mut *self.store, &f)
                .map_err(|e| format!("{iface}#{func}: {e:#}"))?;
            f.call_async(&mut *self.store, ())
                .await
                .map(|r| r.0)
                .map_err(|e| format!("{iface}#{func}: {e:#}"))
        }
        .await;
        match result {
            Ok(r) => Some(r),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }
}

impl ComponentInstanceState for Access<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        match self.call::<WasmList<u8>>(instance, func).await {
            Some(list) => contents(list.as_le_slice(&*self.store)),
            None => contents(&[]),
        }
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func).await.unwrap_or_default()
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func).await.unwrap_or_default()
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call::<f32>(instance, func)
            .await
            .unwrap_or_default()
            .to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call::<f64>(instance, func)
            .await
            .unwrap_or_default()
            .to_bits()
    }
}

impl Runtime {
    /// Runs `init(config_json)` on a fresh instance of `component` (with `mounts`
    /// and under `limits`) and returns the initialised state as a component.
    /// `LoadError::Init` carries the guest's own error; `LoadError::Snapshot`
    /// says the component cannot be snapshotted (use it as it is).
    pub async fn snapshot(
        &self,
        component: &[u8],
        config_json: &str,
        mounts: &[(PathBuf, String)],
        limits: Limits,
    ) -> Result<Snapshot, LoadError> {
        match self
            .take_snapshot(component, config_json, mounts, limits, true)
            .await
        {
            // A policy that traps on the synthetic requests still gets a
            // snapshot, of a fresh instance after `init` only.
            Err(LoadError::Snapshot(e)) if e.starts_with(WARM_UP_FAILED) => {
                tracing::info!("snapshot without warm-up: {e}");
                self.take_snapshot(component, config_json, mounts, limits, false)
                    .await
            }
            other => other,
        }
    }

    async fn take_snapshot(
        &self,
        component: &[u8],
        config_json: &str,
        mounts: &[(PathBuf, String)],
        limits: Limits,
        warm_up: bool,
    ) -> Result<Snapshot, LoadError> {
        let wizer = Wizer::new();
        let (cx, instrumented) = wizer
            .instrument_component(component)
            .map_err(|e| snap_err("instrumenting", format!("{e:#}")))?;
        let (mut store, instance, policy) = self
            .instrumented_instance(&instrumented, mounts, limits)
            .await?;
        let started = std::time::Instant::now();
        let caps = match policy
            .edgewaf_policy_filter()
            .call_init(&mut store, config_json)
            .await
        {
            Ok(Ok(caps)) => caps,
            Ok(Err(message)) => return Err(LoadError::Init(message)),
            Err(e) => return Err(LoadError::Init(format!("{e:#}"))),
        };
        let init_ms = started.elapsed().as_millis() as u64;
        if warm_up {
            warm_up_instance(&mut store, &policy, limits).await?;
        }
        store.set_epoch_deadline(limits.init_deadline_ms);
        let mut access = Access {
            store: &mut store,
            instance,
            error: None,
        };
        let bytes = wizer
            .snapshot_component(&cx, &mut access)
            .await
            .map_err(|e| snap_err("writing the snapshot", format!("{e:#}")))?;
        if let Some(e) = access.error {
            return Err(snap_err("reading the initialised state", e));
        }
        Ok(Snapshot {
            bytes,
            caps,
            init_ms,
        })
    }

    /// An instance of the instrumented component with the policy's mounts,
    /// under its memory limit and init deadline, before `init`.
    async fn instrumented_instance(
        &self,
        instrumented: &[u8],
        mounts: &[(PathBuf, String)],
        limits: Limits,
    ) -> Result<(Store<GuestState>, Instance, Policy), LoadError> {
        // Compiled through the usual cache: a second config of the same module
        // reuses the instrumented code.
        let (_, compiled) = self.compile(instrumented)?;
        let pre = self
            .linker
            .instantiate_pre(&compiled)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        // A state backend of its own: nothing the snapshot run counts or stores
        // reaches a tenant's state.
        let state: Arc<dyn crate::serve::state::StateBackend> =
            Arc::new(crate::serve::state::MemoryState::new());
        let mut store = new_store(self, state, "snapshot", "snapshot", mounts, limits)
            .map_err(|e| LoadError::Init(e.to_string()))?;
        store.set_epoch_deadline(limits.init_deadline_ms);
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| LoadError::Init(format!("instantiate: {e:#}")))?;
        let policy = Policy::new(&mut store, &instance)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        Ok((store, instance, policy))
    }
}

/// A [`LoadError::Snapshot`] saying which step failed.
fn snap_err(what: &str, e: String) -> LoadError {
    LoadError::Snapshot(format!("{what}: {e}"))
}

/// Serves the [`WARM_UP`] requests: lazily built per-instance structures
/// (regex caches...) are made now, inside the shared image, instead of in
/// private pages of every instance. Verdicts are not used; a trap here refuses
/// the snapshot (with [`WARM_UP_FAILED`]).
async fn warm_up_instance(
    store: &mut Store<GuestState>,
    policy: &Policy,
    limits: Limits,
) -> Result<(), LoadError> {
    for target in WARM_UP {
        // A request's deadline (at least 1 s), not init's: a policy that
        // spins on requests is cut short and snapshotted without warm-up.
        store.set_epoch_deadline(limits.deadline_ms.max(1000));
        let req = crate::serve::request::new_request(
            "GET",
            target,
            [
                ("host", "snapshot.invalid"),
                ("user-agent", "Mozilla/5.0 (edgewaf snapshot warm-up)"),
                ("accept", "text/html,application/json;q=0.9,*/*;q=0.8"),
                ("accept-language", "en-US,en;q=0.5"),
            ],
            Vec::new(),
        );
        policy
            .edgewaf_policy_filter()
            .call_on_request(&mut *store, &req)
            .await
            .map_err(|e| snap_err(WARM_UP_FAILED, format!("{e:#}")))?;
    }
    Ok(())
}

/// Snapshots by key, in memory and on disk; one build per key at a time.
#[derive(Default)]
pub struct SnapshotCache {
    dir: Option<PathBuf>,
    cells: Mutex<HashMap<String, Arc<OnceCell<PolicyPre<GuestState>>>>>,
    building: Mutex<HashSet<String>>,
}

impl SnapshotCache {
    /// A cache writing to `dir` (`<state dir>/snapshots`), or memory only.
    pub fn new(dir: Option<PathBuf>) -> Self {
        SnapshotCache {
            dir,
            cells: Mutex::new(HashMap::new()),
            building: Mutex::new(HashSet::new()),
        }
    }

    fn cell(&self, key: &str) -> Arc<OnceCell<PolicyPre<GuestState>>> {
        self.cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    /// The snapshot for `key` if it is ready in memory or on disk, or being
    /// built (then waits for it). `None`: nobody has made it.
    pub async fn find(&self, runtime: &Runtime, key: &str) -> Option<PolicyPre<GuestState>> {
        let cell = self.cell(key);
        if let Some(pre) = cell.get() {
            return Some(pre.clone());
        }
        let building = self
            .building
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key);
        if building {
            // Waits for the build under way; if it fails, this "build" fails too.
            return cell
                .get_or_try_init(|| async { Err(()) })
                .await
                .ok()
                .cloned();
        }
        let path = self.path(key)?;
        if !path.is_file() {
            return None;
        }
        cell.get_or_try_init(|| async {
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            runtime.pre_of(&bytes)
        })
        .await
        .inspect_err(|e| tracing::warn!("ignoring snapshot {}: {e}", path.display()))
        .ok()
        .cloned()
    }

    /// The snapshot for `key`, built with `build` unless it is in memory, on
    /// disk, or being built by another caller (then waits for that one).
    pub async fn get_or_build<F>(
        &self,
        runtime: &Runtime,
        key: &str,
        build: F,
    ) -> Result<PolicyPre<GuestState>, LoadError>
    where
        F: AsyncFnOnce() -> Result<Snapshot, LoadError>,
    {
        if let Some(pre) = self.find(runtime, key).await {
            return Ok(pre);
        }
        let cell = self.cell(key);
        self.building
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string());
        let result = cell
            .get_or_try_init(|| async {
                let snap = build().await?;
                if let Some(path) = self.path(key)
                    && let Err(e) = crate::control::store::write_atomic(&path, &snap.bytes)
                {
                    tracing::warn!("cannot keep snapshot {}: {e}", path.display());
                }
                runtime
                    .pre_of(&snap.bytes)
                    .map_err(|e| LoadError::Snapshot(format!("compiling the snapshot: {e}")))
            })
            .await
            .cloned();
        self.building
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        result
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{key}.wasm")))
    }

    /// Snapshots held in memory.
    pub fn len(&self) -> usize {
        self.cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|c| c.initialized())
            .count()
    }

    /// True when no snapshot is held in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key changes with the module, the config and any mounted file
    /// (content size or mtime), and only with them.
    #[test]
    fn the_key_follows_module_config_and_mounted_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        std::fs::write(dir.path().join("rules/a.conf"), "SecRule 1").unwrap();
        let mounts = vec![(dir.path().to_path_buf(), "/crs".to_string())];
        let key = |m: &[u8], c: &str| snapshot_key(m, c, &mounts);
        let k = key(b"module", "{}");
        assert_eq!(k, key(b"module", "{}"));
        assert_ne!(k, key(b"module2", "{}"));
        assert_ne!(k, key(b"module", "{\"paranoia_level\":2}"));
        assert_ne!(k, snapshot_key(b"module", "{}", &[]));
        std::fs::write(dir.path().join("rules/a.conf"), "SecRule 12").unwrap();
        let k2 = key(b"module", "{}");
        assert_ne!(k, k2, "a changed rule file");
        std::fs::write(dir.path().join("rules/b.conf"), "").unwrap();
        assert_ne!(k2, key(b"module", "{}"), "a new rule file");
    }
}
