//! The `edgewaf:policy/host` interface as the host implements it for one
//! policy instance: every key is namespaced by the instance's tenant.

use super::bindings::Level;
use super::bindings::edgewaf::policy::{host, types};
use crate::serve::state::{StateBackend, now_ms};
use std::sync::Arc;

/// Longest key a policy may use (longer keys are cut; they are never an error).
const MAX_KEY: usize = 512;
/// Largest value a policy may store in the key-value store.
const MAX_VALUE: usize = 64 * 1024;

/// What the host functions of one instance know: whose they are and where
/// state lives.
pub struct HostCtx {
    /// The tenant this instance belongs to.
    pub tenant: Arc<str>,
    /// The policy's display name.
    pub policy: Arc<str>,
    /// The state backend.
    pub state: Arc<dyn StateBackend>,
}

fn clip(key: &str) -> &str {
    if key.len() <= MAX_KEY {
        return key;
    }
    let mut end = MAX_KEY;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

impl types::Host for HostCtx {}

impl host::Host for HostCtx {
    fn log(&mut self, level: Level, message: String) {
        let message = crate::observe::events::shorten(&message, 2048);
        let (tenant, policy) = (&*self.tenant, &*self.policy);
        match level {
            Level::Error => tracing::error!(tenant, policy, "{message}"),
            Level::Warn => tracing::warn!(tenant, policy, "{message}"),
            Level::Info => tracing::info!(tenant, policy, "{message}"),
            Level::Debug => tracing::debug!(tenant, policy, "{message}"),
        }
    }

    fn now_ms(&mut self) -> u64 {
        now_ms()
    }

    fn counter_add(&mut self, key: String, delta: u64, window_ms: u32) -> u64 {
        self.state
            .counter_add(&self.tenant, clip(&key), delta, window_ms, now_ms())
    }

    fn kv_get(&mut self, key: String) -> Option<Vec<u8>> {
        self.state.kv_get(&self.tenant, clip(&key), now_ms())
    }

    fn kv_set(&mut self, key: String, value: Vec<u8>, ttl_ms: u32) {
        if value.len() > MAX_VALUE {
            tracing::warn!(
                tenant = &*self.tenant,
                policy = &*self.policy,
                "kv-set of {} bytes refused (limit {MAX_VALUE})",
                value.len()
            );
            return;
        }
        self.state
            .kv_set(&self.tenant, clip(&key), &value, ttl_ms, now_ms())
    }

    fn ip_list_match(&mut self, name: String, addr: String) -> Option<String> {
        let ip = addr.trim().parse().ok()?;
        self.state.list_match(&name, ip, now_ms())
    }
}
