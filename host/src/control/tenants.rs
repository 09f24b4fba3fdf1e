//! Tenants: loading a tenant's file into a ready chain of policies, mapping Host
//! names to tenants, and swapping the whole map atomically.

use crate::config::{ConfigError, PolicyConfig, TenantConfig, validate_tenant_name};
use crate::serve::runtime::{Limits, LoadError, PolicyPool, PolicySpec, Runtime};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a tenant could not be loaded. The other tenants are not affected.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The tenant file itself is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A policy of the chain could not be found or loaded.
    #[error("{file}: policy #{index} ({policy}): {message}")]
    Policy {
        /// The tenant file.
        file: PathBuf,
        /// 1-based position in the chain.
        index: usize,
        /// Display name.
        policy: String,
        /// What went wrong.
        message: String,
    },
}

/// A loaded tenant: its config and its ready chain. Immutable; a reload builds a
/// new one and swaps it in.
pub struct Tenant {
    /// Tenant name (the file stem).
    pub name: String,
    /// Short content hash of the config that built it.
    pub version: String,
    /// The config text that built it.
    pub text: String,
    /// The config.
    pub config: TenantConfig,
    /// The chain, in order.
    pub chain: Vec<Arc<PolicyPool>>,
    /// True when some policy asked for the request body.
    pub needs_body: bool,
    /// True when some policy asked for response inspection.
    pub inspects_response: bool,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish()
    }
}

/// Loads tenants: finds modules, compiles them (cached), initialises policies.
pub struct Loader {
    runtime: Arc<Runtime>,
    module_dirs: Vec<PathBuf>,
    store: Option<crate::control::store::Store>,
}

impl Loader {
    /// A loader that finds `module = "x"` as `x.wasm` in `module_dirs`.
    pub fn new(runtime: Arc<Runtime>, module_dirs: Vec<PathBuf>) -> Self {
        Loader {
            runtime,
            module_dirs,
            store: None,
        }
    }

    /// Also finds modules uploaded through the admin API (they win over files).
    pub fn with_store(mut self, store: crate::control::store::Store) -> Self {
        self.store = Some(store);
        self
    }

    /// True when `file` is a component or a mounted file a policy of `tenant` uses.
    pub fn uses_file(&self, tenant: &Tenant, policies_dir: &Path, file: &Path) -> bool {
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let file = canon(file);
        tenant.config.policies.iter().any(|p| {
            let by_path = p
                .path
                .as_ref()
                .is_some_and(|rel| canon(&policies_dir.join(rel)) == file);
            let by_module = p
                .module
                .as_ref()
                .and_then(|m| self.resolve_module(m).ok())
                .is_some_and(|m| canon(&m) == file);
            let by_mount = p
                .mounts
                .values()
                .any(|host| file.starts_with(canon(&policies_dir.join(host))));
            by_path || by_module || by_mount
        })
    }

    /// The runtime.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Finds a module by name: `name.wasm`, with `-` and `_` interchangeable.
    pub fn resolve_module(&self, name: &str) -> Result<PathBuf, String> {
        if name.is_empty() || name.contains(['/', '\\']) || name.contains("..") {
            return Err(format!("module name {name:?} must be a plain name"));
        }
        if let Some(p) = self.store.as_ref().and_then(|s| s.module_path(name)) {
            return Ok(p);
        }
        let candidates = [
            name.to_string(),
            name.replace('-', "_"),
            name.replace('_', "-"),
        ];
        for dir in &self.module_dirs {
            for c in &candidates {
                let p = dir.join(format!("{c}.wasm"));
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        let dirs: Vec<String> = self
            .module_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        Err(format!(
            "unknown module {name:?}: no {name}.wasm in {}",
            dirs.join(", ")
        ))
    }

    /// Loads a tenant from its file.
    pub async fn load_file(&self, path: &Path) -> Result<Tenant, TenantError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.load_text(&name, path, &text).await
    }

    /// Loads a tenant from its text; `path` names it in errors and anchors
    /// relative paths.
    pub async fn load_text(
        &self,
        name: &str,
        path: &Path,
        text: &str,
    ) -> Result<Tenant, TenantError> {
        validate_tenant_name(name).map_err(|m| ConfigError {
            path: path.to_path_buf(),
            message: m,
        })?;
        let config = TenantConfig::parse(path, text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let limits = Limits {
            memory_mib: config.limits.memory_mib,
            deadline_ms: config.limits.deadline_ms,
            init_deadline_ms: config.limits.init_deadline_ms,
            max_instances: config.limits.max_instances,
        };
        let mut chain = Vec::with_capacity(config.policies.len());
        for (i, p) in config.policies.iter().enumerate() {
            let err = |message: String| TenantError::Policy {
                file: path.to_path_buf(),
                index: i + 1,
                policy: p.display_name(),
                message,
            };
            let pool = self.load_policy(name, base, p, limits).await.map_err(err)?;
            chain.push(pool);
        }
        let needs_body = chain.iter().any(|p| p.capabilities().request_body);
        let inspects_response = chain.iter().any(|p| p.capabilities().inspect_response);
        let version = crate::control::store::content_hash(text);
        Ok(Tenant {
            name: name.to_string(),
            version,
            text: text.to_string(),
            config,
            chain,
            needs_body,
            inspects_response,
        })
    }

    async fn load_policy(
        &self,
        tenant: &str,
        base: &Path,
        p: &PolicyConfig,
        limits: Limits,
    ) -> Result<Arc<PolicyPool>, String> {
        let file = match (&p.module, &p.path) {
            (Some(m), _) => self.resolve_module(m)?,
            (None, Some(path)) => base.join(path),
            (None, None) => return Err("no module or path".into()),
        };
        let bytes =
            std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let (_hash, component) = self
            .runtime
            .compile(&bytes)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let config_json = serde_json::to_string(&p.config).map_err(|e| format!("config: {e}"))?;
        let mounts = p
            .mounts
            .iter()
            .map(|(guest, host)| (base.join(host), guest.clone()))
            .collect();
        let spec = PolicySpec {
            tenant: tenant.to_string(),
            name: p.display_name(),
            component,
            config_json,
            mounts,
            limits,
            source: p.snapshot.then(|| bytes.into()),
        };
        self.runtime
            .load_policy(spec)
            .await
            .map_err(|e: LoadError| e.to_string())
    }

    /// Loads every `*.toml` in `dir`. Broken tenants are returned as errors and
    /// left out; the others load.
    pub async fn load_dir(&self, dir: &Path) -> (Vec<Tenant>, Vec<TenantError>) {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
                .collect(),
            Err(e) => {
                let err = ConfigError {
                    path: dir.to_path_buf(),
                    message: format!("cannot read folder: {e}"),
                };
                return (Vec::new(), vec![err.into()]);
            }
        };
        files.sort();
        let mut tenants = Vec::new();
        let mut errors = Vec::new();
        for f in files {
            match self.load_file(&f).await {
                Ok(t) => tenants.push(t),
                Err(e) => errors.push(e),
            }
        }
        (tenants, errors)
    }
}

/// The tenants being served, by name and by Host.
#[derive(Default, Debug)]
pub struct TenantMap {
    by_name: HashMap<String, Arc<Tenant>>,
    by_host: HashMap<String, Arc<Tenant>>,
    default_tenant: Option<String>,
}

/// Normalises a Host header value: lower-case, port and trailing dot removed.
pub fn normalise_host(host: &str) -> String {
    let host = host.trim();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':')
            .map(|(h, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    host
                }
            })
            .unwrap_or(host)
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

impl TenantMap {
    /// Builds a map; a tenant claiming a Host another (earlier) tenant has is an error.
    pub fn build(
        tenants: impl IntoIterator<Item = Arc<Tenant>>,
        default_tenant: Option<String>,
    ) -> (Self, Vec<String>) {
        let mut map = TenantMap {
            default_tenant,
            ..Default::default()
        };
        let mut errors = Vec::new();
        let mut tenants: Vec<Arc<Tenant>> = tenants.into_iter().collect();
        tenants.sort_by(|a, b| a.name.cmp(&b.name));
        'tenants: for t in tenants {
            for h in &t.config.hosts {
                let h = normalise_host(h);
                if let Some(other) = map.by_host.get(&h)
                    && other.name != t.name
                {
                    errors.push(format!(
                        "tenant {}: host {h:?} is already served by tenant {}; tenant {} not loaded",
                        t.name, other.name, t.name
                    ));
                    continue 'tenants;
                }
            }
            for h in &t.config.hosts {
                map.by_host.insert(normalise_host(h), t.clone());
            }
            map.by_name.insert(t.name.clone(), t);
        }
        (map, errors)
    }

    /// The tenant for a Host header value (or the default tenant).
    pub fn for_host(&self, host: &str) -> Option<&Arc<Tenant>> {
        self.by_host.get(&normalise_host(host)).or_else(|| {
            self.default_tenant
                .as_ref()
                .and_then(|d| self.by_name.get(d))
        })
    }

    /// The tenant of a name.
    pub fn get(&self, name: &str) -> Option<&Arc<Tenant>> {
        self.by_name.get(name)
    }

    /// All tenants, sorted by name.
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        let mut v: Vec<_> = self.by_name.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The configured default tenant.
    pub fn default_tenant(&self) -> Option<&str> {
        self.default_tenant.as_deref()
    }
}

/// The live tenant map: readers take a snapshot per request; writers swap.
#[derive(Default)]
pub struct Registry {
    current: ArcSwap<TenantMap>,
}

impl Registry {
    /// A registry serving `map`.
    pub fn new(map: TenantMap) -> Self {
        Registry {
            current: ArcSwap::from_pointee(map),
        }
    }

    /// The map as of now (a request keeps using it until it ends).
    pub fn snapshot(&self) -> Arc<TenantMap> {
        self.current.load_full()
    }

    /// Replaces the map.
    pub fn swap(&self, map: TenantMap) {
        self.current.store(Arc::new(map));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_normalisation() {
        assert_eq!(normalise_host("Shop.Example.COM:8080"), "shop.example.com");
        assert_eq!(normalise_host("shop.example.com."), "shop.example.com");
        assert_eq!(normalise_host("[::1]:8080"), "::1");
        assert_eq!(normalise_host("localhost"), "localhost");
    }

    #[test]
    fn unknown_module_names_the_search_path() {
        let state: Arc<dyn crate::serve::state::StateBackend> =
            Arc::new(crate::serve::state::MemoryState::new());
        let rt = Runtime::new(state).unwrap();
        let loader = Loader::new(rt, vec![PathBuf::from("/nonexistent-dir")]);
        let err = loader.resolve_module("nope").unwrap_err();
        assert!(
            err.contains("unknown module") && err.contains("/nonexistent-dir"),
            "{err}"
        );
        assert!(loader.resolve_module("../etc/passwd").is_err());
    }
}
