//! One instance's store: WASI with read-only mounts, the host context that
//! namespaces state by tenant, the memory limiter and epoch interruption.

use super::bindings::Policy;
use super::{HostCtx, Limits, PolicyError, Runtime};
use crate::serve::state::StateBackend;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

/// The store data of one instance.
pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub(super) host: HostCtx,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A store for one instance: WASI with read-only `mounts`, the memory limit and
/// epoch interruption.
pub(super) fn new_store(
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
    let data = GuestState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limits: limits.store_limits(),
        host: HostCtx {
            tenant: tenant.into(),
            policy: policy.into(),
            state,
        },
    };
    let mut store = Store::new(runtime.engine(), data);
    store.limiter(|s| &mut s.limits);
    store.epoch_deadline_trap();
    Ok(store)
}

/// One initialised policy instance of a tenant's pool.
pub(super) struct Instance {
    pub(super) store: Store<GuestState>,
    pub(super) policy: Policy,
    /// Set each time the instance goes idle (for the process-wide budget).
    pub(super) idle_id: u64,
    /// Fixed for the instance's life (for response affinity).
    pub(super) uid: u64,
}
