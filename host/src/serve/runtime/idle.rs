//! The process-wide budget of idle instances.
//!
//! Every tenant's pool keeps the instances it has made, so that the next
//! request finds one initialised; across 1,000 tenants that is 1,000 sets of
//! memory mappings even when most tenants are cold. Past the budget the
//! instance idle the longest (of any tenant) is dropped; its tenant makes a new
//! one when it needs it (from its snapshot, about 1 ms for the CRS).

use super::store::Instance;
use super::{PolicyPool, Runtime};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Idle instances kept across all tenants by default (see [`Runtime::set_idle_instances`]).
pub const IDLE_INSTANCES: usize = 64;

/// How many idle instances the whole process keeps, oldest dropped first.
pub(super) struct IdleBudget {
    max: AtomicUsize,
    /// Idle instances right now.
    pub(super) count: AtomicUsize,
    /// (instance id, its pool), oldest first; entries whose instance was taken
    /// since are stale and skipped (and compacted away).
    pub(super) order: Mutex<VecDeque<(u64, Weak<PolicyPool>)>>,
    /// The next instance id (idle ids and instance uids share it).
    pub(super) next_id: AtomicU64,
}

impl Default for IdleBudget {
    fn default() -> Self {
        IdleBudget {
            max: AtomicUsize::new(IDLE_INSTANCES),
            count: AtomicUsize::new(0),
            order: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(1),
        }
    }
}

/// A pool's idle instances; when the pool goes, they leave the process-wide
/// count with it.
pub(super) struct IdleList {
    pub(super) list: Mutex<Vec<Instance>>,
    runtime: Arc<Runtime>,
}

impl IdleList {
    /// An empty list counted in `runtime`'s budget.
    pub(super) fn new(runtime: Arc<Runtime>) -> Self {
        IdleList {
            list: Mutex::new(Vec::new()),
            runtime,
        }
    }
}

impl Drop for IdleList {
    fn drop(&mut self) {
        let n = self.list.get_mut().map(|v| v.len()).unwrap_or(0);
        self.runtime.idle.count.fetch_sub(n, Ordering::Relaxed);
    }
}

impl Runtime {
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
    pub(super) fn enforce_idle_budget(&self) {
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
}

impl PolicyPool {
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
}
