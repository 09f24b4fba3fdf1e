//! Loading one tenant's policy: check its mounts, start from a snapshot when
//! there is one, make the first instance (its `init` decides the load), and
//! build a snapshot in the background when `init` was slow.

use super::bindings::PolicyPre;
use super::{GuestState, Limits, LoadError, PolicyError, PolicyPool, Runtime, snapshot_key};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use wasmtime::component::Component;

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

/// Refuses a mount whose host side is not a folder, naming both sides.
fn check_mounts(mounts: &[(PathBuf, String)]) -> Result<(), LoadError> {
    for (host, guest) in mounts {
        if !host.is_dir() {
            return Err(LoadError::Mount {
                guest: guest.clone(),
                host: host.display().to_string(),
                message: "not a folder".into(),
            });
        }
    }
    Ok(())
}

impl Runtime {
    /// Loads one policy for one tenant: pre-instantiates (from a snapshot when
    /// there is one), creates the first instance and runs `init`. A slow `init`
    /// gets a snapshot built in the background for the instances after it.
    pub async fn load_policy(
        self: &Arc<Self>,
        mut spec: PolicySpec,
    ) -> Result<Arc<PolicyPool>, LoadError> {
        check_mounts(&spec.mounts)?;
        let key = match &spec.source {
            Some(bytes) if self.snapshots_on() => {
                Some(snapshot_key(bytes, &spec.config_json, &spec.mounts))
            }
            _ => None,
        };
        let (pre, from_snapshot) = self.starting_pre(&spec.component, key.as_deref()).await?;
        let source = spec.source.take();
        let pool = PolicyPool::new(self, spec, pre);
        let started = std::time::Instant::now();
        let (first, caps) = pool.instantiate().await.map_err(|e| match e {
            PolicyError::Init(m) => LoadError::Init(m),
            other => LoadError::Init(other.to_string()),
        })?;
        let init_ms = started.elapsed().as_millis() as u64;
        let pool = pool.into_shared(caps);
        pool.put_back(first);
        if let (Some(key), Some(source), false) = (key, source, from_snapshot)
            && init_ms >= self.snapshot_min_init_ms.load(Ordering::Relaxed)
        {
            self.snapshot_in_background(key, source, &pool);
        }
        Ok(pool)
    }

    /// Where new instances start: the snapshot of `key` when there is one
    /// (then `true`), else the component itself.
    async fn starting_pre(
        &self,
        component: &Component,
        key: Option<&str>,
    ) -> Result<(PolicyPre<GuestState>, bool), LoadError> {
        let snapshot = match key {
            Some(k) => self.snapshots.find(self, k).await,
            None => None,
        };
        match snapshot {
            Some(pre) => Ok((pre, true)),
            None => Ok((self.policy_pre(component)?, false)),
        }
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
