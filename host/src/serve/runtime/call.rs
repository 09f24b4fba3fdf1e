//! The call path: borrow an idle instance (or make one), call the guest under
//! the tenant's CPU deadline and memory limit, return the instance, and turn a
//! failed call into a [`PolicyError`]. A trapped instance is dropped, never
//! reused. This runs on every request.

use super::store::Instance;
use super::{Action, PolicyError, PolicyPool, Request, Response, Verdict};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::SemaphorePermit;
use wasmtime::Trap;

/// Requests remembered for response affinity per pool.
const AFFINITY_MAX: usize = 4096;

/// How long `on-response` waits for its request's instance to come back
/// before it takes another one (which then re-derives what it needs).
const AFFINITY_WAIT: Duration = Duration::from_millis(20);

impl PolicyPool {
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

    /// What a failed call means for the tenant: its deadline, its memory
    /// limit, or a trap (with the guest's message, shortened).
    pub(super) fn classify(&self, err: wasmtime::Error) -> PolicyError {
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

    async fn checkout(&self) -> Result<(SemaphorePermit<'_>, Instance), PolicyError> {
        self.checkout_preferring(None).await
    }

    /// Checks an instance out: `preferred` if it comes back idle within
    /// [`AFFINITY_WAIT`], else any idle one, else a new one.
    async fn checkout_preferring(
        &self,
        preferred: Option<u64>,
    ) -> Result<(SemaphorePermit<'_>, Instance), PolicyError> {
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

    /// Takes the idle instance `uid` out of the pool, if it is idle.
    fn take_idle_uid(&self, uid: u64) -> Option<Instance> {
        let mut idle = self.idle.list.lock().unwrap_or_else(|e| e.into_inner());
        let at = idle.iter().position(|i| i.uid == uid)?;
        self.runtime.idle.count.fetch_sub(1, Ordering::Relaxed);
        Some(idle.swap_remove(at))
    }

    /// Returns an instance to the pool; it counts against the process-wide
    /// idle budget, which may drop the longest-idle instance of any tenant.
    pub(super) fn put_back(&self, mut inst: Instance) {
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
}
