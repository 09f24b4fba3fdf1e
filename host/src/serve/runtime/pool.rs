//! [`PolicyPool`]: the instances of one policy of one tenant, and how a new
//! instance is made (a store, the pre-instantiated component, `init`).
//! Borrowing and returning instances on each call is in `call.rs`.

use super::bindings::PolicyPre;
use super::idle::IdleList;
use super::store::{Instance, new_store};
use super::{Capabilities, GuestState, Limits, PolicyError, PolicySpec, Runtime};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Semaphore;
use wasmtime::Store;

/// The instances of one policy of one tenant. Instances are created on demand up
/// to `max_instances`, reused one call at a time, and never shared with another
/// tenant (the pool belongs to the tenant's chain).
pub struct PolicyPool {
    pub(super) tenant: Arc<str>,
    pub(super) name: Arc<str>,
    pre: Mutex<PolicyPre<GuestState>>,
    pub(super) config_json: String,
    pub(super) mounts: Vec<(PathBuf, String)>,
    pub(super) limits: Limits,
    pub(super) caps: Capabilities,
    pub(super) idle: IdleList,
    pub(super) permits: Semaphore,
    pub(super) runtime: Arc<Runtime>,
    /// This pool, for the process-wide idle budget's queue.
    pub(super) me: Weak<PolicyPool>,
    /// Request id -> the instance whose `on-request` saw it, for policies that
    /// inspect responses: `on-response` goes to the same instance, which
    /// still holds what `on-request` found (see [`PolicyPool::on_response`]).
    pub(super) affinity: Mutex<Affinity>,
    /// Notified whenever an instance goes idle.
    pub(super) returned: tokio::sync::Notify,
}

/// Requests waiting for their response, bounded (oldest forgotten first).
#[derive(Default)]
pub(super) struct Affinity {
    pub(super) by_request: HashMap<String, u64>,
    pub(super) order: VecDeque<String>,
}

impl PolicyPool {
    /// A pool for `spec` whose instances start from `pre`, with no instance
    /// yet; [`PolicyPool::into_shared`] makes it usable.
    pub(super) fn new(
        runtime: &Arc<Runtime>,
        spec: PolicySpec,
        pre: PolicyPre<GuestState>,
    ) -> Self {
        PolicyPool {
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
            idle: IdleList::new(runtime.clone()),
            permits: Semaphore::new(spec.limits.max_instances),
            runtime: runtime.clone(),
            me: Weak::new(),
            affinity: Mutex::new(Affinity::default()),
            returned: tokio::sync::Notify::new(),
        }
    }

    /// The pool behind an `Arc` that knows itself (for the idle budget),
    /// with the capabilities its policy's `init` returned.
    pub(super) fn into_shared(self, caps: Capabilities) -> Arc<Self> {
        Arc::new_cyclic(|me| PolicyPool {
            caps,
            me: me.clone(),
            ..self
        })
    }

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

    /// New instances start from `pre` (a snapshot); idle ones stay.
    pub(super) fn use_snapshot(&self, pre: PolicyPre<GuestState>) {
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

    /// A new instance with `init(config)` done, under the init deadline.
    pub(super) async fn instantiate(&self) -> Result<(Instance, Capabilities), PolicyError> {
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
}
