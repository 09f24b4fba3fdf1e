//! Applying tenant configs while traffic flows: validate, swap atomically, keep
//! versions for rollback.
//!
//! Every change — a file edit, `PUT /api/tenants/{t}`, a rollback — goes through
//! [`Manager::apply`]:
//! 1. parse the config (errors name file, line and field);
//! 2. find and compile its components (cached by content hash, precompiled on disk);
//! 3. instantiate and `init` every policy (the guest's own error on failure);
//! 4. run a smoke request through the new chain (a trap or deadline refuses it);
//! 5. check its Host names against the other tenants;
//! 6. write the file (so a restart serves it), record the version, and swap the
//!    tenant into the live map. Requests in flight finish on the version they
//!    started with; requests that start after the swap see the new one; other
//!    tenants are untouched. Any failure leaves the old version serving.

use crate::control::store::{Store, VersionInfo, valid_name};
use crate::control::tenants::{Loader, Registry, Tenant, TenantError, TenantMap};
use crate::serve::chain;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a change was refused. The old version keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The config or a policy is invalid (HTTP 422 / 400).
    #[error("{0}")]
    Invalid(String),
    /// No such tenant or version (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The host could not write its files (HTTP 500).
    #[error("{0}")]
    Io(String),
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The tenant file changed on disk (it is not rewritten).
    File,
    /// The admin API.
    Api,
    /// A rollback through the admin API.
    Rollback,
}

/// What an applied change produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    /// Tenant.
    pub tenant: String,
    /// The recorded version.
    pub version: VersionInfo,
    /// Time from receiving the change to the swap, ms.
    pub apply_ms: u64,
}

/// Owns the tenant map's writers.
pub struct Manager {
    loader: Loader,
    registry: Arc<Registry>,
    store: Store,
    policies_dir: PathBuf,
    default_tenant: Option<String>,
    versions_kept: usize,
    lock: tokio::sync::Mutex<()>,
    on_applied: std::sync::OnceLock<AppliedHook>,
}

/// Called with each tenant version right after it is swapped in, and the
/// version's apply time (ms since the epoch).
pub type AppliedHook = Box<dyn Fn(Arc<Tenant>, u64) + Send + Sync>;

impl Manager {
    /// A manager over `registry`, writing tenant files to `policies_dir` and
    /// versions to `store`.
    pub fn new(
        loader: Loader,
        registry: Arc<Registry>,
        store: Store,
        policies_dir: PathBuf,
        default_tenant: Option<String>,
        versions_kept: usize,
    ) -> Self {
        Manager {
            loader,
            registry,
            store,
            policies_dir,
            default_tenant,
            versions_kept,
            lock: tokio::sync::Mutex::new(()),
            on_applied: std::sync::OnceLock::new(),
        }
    }

    /// Sets the hook told of every version swapped in (once; later calls
    /// are ignored). It must not block: the event store queues what it gets.
    pub fn on_applied(&self, hook: AppliedHook) {
        let _ = self.on_applied.set(hook);
    }

    /// The loader.
    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// The state store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The policies folder.
    pub fn policies_dir(&self) -> &Path {
        &self.policies_dir
    }

    /// Loads every tenant file at start-up; broken ones are logged and left out.
    pub async fn load_all(&self) {
        let _guard = self.lock.lock().await;
        let (tenants, errors) = self.loader.load_dir(&self.policies_dir).await;
        for e in &errors {
            tracing::error!("tenant not loaded: {e}");
        }
        for t in &tenants {
            self.note_version(t);
        }
        let (map, clashes) = TenantMap::build(
            tenants.into_iter().map(Arc::new),
            self.default_tenant.clone(),
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
        self.registry.swap(map);
    }

    /// Records the tenant's text as a version unless it is already the newest.
    fn note_version(&self, t: &Tenant) -> Option<VersionInfo> {
        let newest = self.store.versions(&t.name).into_iter().next();
        if let Some(v) = newest
            && v.hash == t.version
        {
            return Some(v);
        }
        match self
            .store
            .record_version(&t.name, &t.text, self.versions_kept)
        {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(tenant = %t.name, "cannot record version: {e}");
                None
            }
        }
    }

    fn tenant_file(&self, name: &str) -> PathBuf {
        self.policies_dir.join(format!("{name}.toml"))
    }

    /// Validates and applies a tenant config; see the module docs.
    pub async fn apply(
        &self,
        name: &str,
        text: &str,
        source: Source,
    ) -> Result<Applied, ApplyError> {
        let _guard = self.lock.lock().await;
        self.apply_locked(name, text, source).await
    }

    async fn apply_locked(
        &self,
        name: &str,
        text: &str,
        source: Source,
    ) -> Result<Applied, ApplyError> {
        let started = std::time::Instant::now();
        if !valid_name(name) {
            return Err(ApplyError::Invalid(format!(
                "tenant name {name:?} must be 1-64 characters of a-z, 0-9, '-' or '_'"
            )));
        }
        let path = self.tenant_file(name);
        let tenant = self
            .loader
            .load_text(name, &path, text)
            .await
            .map_err(|e: TenantError| ApplyError::Invalid(e.to_string()))?;
        smoke(&tenant).await?;
        let current = self.registry.snapshot();
        let others = current.all().into_iter().filter(|t| t.name != name);
        let (map, clashes) = TenantMap::build(
            others.chain(std::iter::once(Arc::new(tenant))),
            self.default_tenant.clone(),
        );
        if let Some(c) = clashes.into_iter().next() {
            return Err(ApplyError::Invalid(c));
        }
        let Some(new) = map.get(name).cloned() else {
            return Err(ApplyError::Invalid(format!(
                "tenant {name} was not applied"
            )));
        };
        if source != Source::File {
            crate::control::store::write_atomic(&path, text.as_bytes())
                .map_err(|e| ApplyError::Io(format!("writing {}: {e}", path.display())))?;
        }
        let version = self
            .note_version(&new)
            .ok_or_else(|| ApplyError::Io("cannot record the version".into()))?;
        self.registry.swap(map);
        if let Some(hook) = self.on_applied.get() {
            hook(new.clone(), version.applied_ms);
        }
        let apply_ms = started.elapsed().as_millis() as u64;
        tracing::info!(tenant = name, version = %version.id, ?source, apply_ms, "tenant applied");
        Ok(Applied {
            tenant: name.to_string(),
            version,
            apply_ms,
        })
    }

    /// Stops serving a tenant and removes its file (its versions stay).
    pub async fn remove(&self, name: &str, source: Source) -> Result<(), ApplyError> {
        let _guard = self.lock.lock().await;
        let current = self.registry.snapshot();
        if current.get(name).is_none() {
            return Err(ApplyError::NotFound(format!("no tenant {name:?}")));
        }
        if source != Source::File {
            let path = self.tenant_file(name);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(ApplyError::Io(format!("removing {}: {e}", path.display())));
            }
        }
        let others = current.all().into_iter().filter(|t| t.name != name);
        let (map, _) = TenantMap::build(others, self.default_tenant.clone());
        self.registry.swap(map);
        tracing::info!(tenant = name, ?source, "tenant removed");
        Ok(())
    }

    /// Re-applies a recorded version: `version`, or the newest one that differs
    /// from what is serving now.
    pub async fn rollback(&self, name: &str, version: Option<&str>) -> Result<Applied, ApplyError> {
        let current_hash = self
            .registry
            .snapshot()
            .get(name)
            .map(|t| t.version.clone());
        let versions = self.store.versions(name);
        if versions.is_empty() {
            return Err(ApplyError::NotFound(format!(
                "tenant {name:?} has no recorded versions"
            )));
        }
        let target = match version {
            Some(id) => versions
                .iter()
                .find(|v| v.id == id || v.hash == id)
                .ok_or_else(|| {
                    ApplyError::NotFound(format!("tenant {name:?} has no version {id:?}"))
                })?,
            None => versions
                .iter()
                .find(|v| Some(&v.hash) != current_hash.as_ref())
                .ok_or_else(|| {
                    ApplyError::NotFound(format!("tenant {name:?} has no earlier version"))
                })?,
        };
        let text = self.store.version_text(name, &target.id).ok_or_else(|| {
            ApplyError::NotFound(format!("version {} of {name} is gone", target.id))
        })?;
        self.apply(name, &text, Source::Rollback).await
    }

    /// Reacts to a changed file under the policies folder: a tenant file is
    /// applied (or removed), any other file reloads the tenants that use it.
    pub async fn file_changed(&self, path: &Path) {
        let in_dir = path
            .parent()
            .is_some_and(|p| same_dir(p, &self.policies_dir));
        if in_dir && path.extension().is_some_and(|e| e == "toml") {
            let Some(name) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                return;
            };
            // Read the file under the lock, so an older edit can never be applied
            // after a newer change from the API.
            let _guard = self.lock.lock().await;
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let unchanged = self
                        .registry
                        .snapshot()
                        .get(&name)
                        .is_some_and(|t| t.text == text);
                    if unchanged {
                        return;
                    }
                    if let Err(e) = self.apply_locked(&name, &text, Source::File).await {
                        tracing::error!("ignoring the edit of {}: {e}", path.display());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if self.registry.snapshot().get(&name).is_some() {
                        drop(_guard);
                        let _ = self.remove(&name, Source::File).await;
                    }
                }
                Err(e) => tracing::error!("cannot read {}: {e}", path.display()),
            }
            return;
        }
        // A component or rule file: reload the tenants that reference it.
        for t in self.registry.snapshot().all() {
            if self.loader.uses_file(&t, &self.policies_dir, path) {
                let text = t.text.clone();
                match self.apply(&t.name, &text, Source::File).await {
                    Ok(a) => {
                        tracing::info!(tenant = %t.name, file = %path.display(), version = %a.version.id, "reloaded after a file change")
                    }
                    Err(e) => {
                        tracing::error!(tenant = %t.name, "ignoring the change of {}: {e}", path.display())
                    }
                }
            }
        }
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Runs a benign request through a new chain before it may serve: a policy that
/// traps or times out on it is refused.
async fn smoke(tenant: &Tenant) -> Result<(), ApplyError> {
    let mut req = crate::serve::request::empty_request();
    req.tenant = tenant.name.clone();
    req.id = format!("smoke-{}", crate::serve::request::new_request_id());
    let host = tenant.config.hosts.first().cloned().unwrap_or_default();
    req.headers.push(crate::serve::runtime::Header {
        name: "host".into(),
        value: host.into_bytes(),
    });
    req.headers.push(crate::serve::runtime::Header {
        name: "user-agent".into(),
        value: b"edgewaf-smoke/1".to_vec(),
    });
    let mut body = Vec::new();
    let d = chain::on_request(tenant, &mut req, &mut body, None).await;
    if let Some(e) = d.errors.first() {
        return Err(ApplyError::Invalid(format!("smoke request failed: {e}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::runtime::Runtime;
    use crate::serve::state::{MemoryState, StateBackend};

    fn manager(dir: &Path) -> Manager {
        let state: Arc<dyn StateBackend> = Arc::new(MemoryState::new());
        let loader = Loader::new(Runtime::new(state).unwrap(), vec![]);
        std::fs::create_dir_all(dir.join("policies")).unwrap();
        Manager::new(
            loader,
            Arc::new(Registry::default()),
            Store::new(dir.join("state")),
            dir.join("policies"),
            None,
            3,
        )
    }

    /// The deny status of the version of `name` now serving.
    fn deny_status(m: &Manager, name: &str) -> u16 {
        m.registry.snapshot().get(name).unwrap().config.deny_status
    }

    fn tenant(host: &str, status: u16) -> String {
        format!("hosts = [\"{host}\"]\nupstream = \"http://127.0.0.1:9\"\ndeny_status = {status}\n")
    }

    #[tokio::test]
    async fn apply_writes_records_and_swaps() {
        let d = tempfile::tempdir().unwrap();
        let m = manager(d.path());
        let a = m
            .apply("shop", &tenant("shop.test", 403), Source::Api)
            .await
            .unwrap();
        assert_eq!(
            m.registry.snapshot().for_host("shop.test").unwrap().version,
            a.version.hash
        );
        let on_disk = std::fs::read_to_string(d.path().join("policies/shop.toml")).unwrap();
        assert!(
            on_disk.contains("shop.test"),
            "a restart serves the applied version"
        );
        m.apply("shop", &tenant("shop.test", 451), Source::Api)
            .await
            .unwrap();
        assert_eq!(deny_status(&m, "shop"), 451);
        assert_eq!(m.store().versions("shop").len(), 2);
    }

    #[tokio::test]
    async fn invalid_changes_leave_the_old_version_serving() {
        let d = tempfile::tempdir().unwrap();
        let m = manager(d.path());
        m.apply("shop", &tenant("shop.test", 403), Source::Api)
            .await
            .unwrap();
        let err = m
            .apply(
                "shop",
                "hosts = [\"shop.test\"]\nupstrem = 1\n",
                Source::Api,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApplyError::Invalid(_)) && err.to_string().contains("upstrem"),
            "{err}"
        );
        let err = m
            .apply("shop", "hosts = [\"shop.test\"]\nupstream = \"http://127.0.0.1:9\"\n[[policy]]\nmodule = \"nope\"\n", Source::Api)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unknown module"), "{err}");
        assert!(
            m.apply("../etc", &tenant("x.test", 403), Source::Api)
                .await
                .is_err()
        );
        assert_eq!(deny_status(&m, "shop"), 403);
    }

    #[tokio::test]
    async fn host_clashes_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let m = manager(d.path());
        m.apply("a", &tenant("same.test", 403), Source::Api)
            .await
            .unwrap();
        let err = m
            .apply("b", &tenant("same.test", 403), Source::Api)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("already served by tenant a"),
            "{err}"
        );
        assert!(m.registry.snapshot().get("b").is_none());
    }

    #[tokio::test]
    async fn rollback_and_remove() {
        let d = tempfile::tempdir().unwrap();
        let m = manager(d.path());
        m.apply("shop", &tenant("shop.test", 403), Source::Api)
            .await
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3));
        m.apply("shop", &tenant("shop.test", 451), Source::Api)
            .await
            .unwrap();
        m.rollback("shop", None).await.unwrap();
        assert_eq!(deny_status(&m, "shop"), 403);
        assert!(matches!(
            m.rollback("shop", Some("nope")).await,
            Err(ApplyError::NotFound(_))
        ));
        assert!(matches!(
            m.rollback("ghost", None).await,
            Err(ApplyError::NotFound(_))
        ));
        m.remove("shop", Source::Api).await.unwrap();
        assert!(m.registry.snapshot().get("shop").is_none());
        assert!(!d.path().join("policies/shop.toml").exists());
        assert!(matches!(
            m.remove("shop", Source::Api).await,
            Err(ApplyError::NotFound(_))
        ));
    }
}
