//! The host functions a policy may call: log, clock, per-tenant counters,
//! key-value and runtime IP lists.
//!
//! Inside a component these call the edgewaf host (or whichever platform runs
//! the policy). Natively (unit tests) they use the in-memory host of
//! [`crate::testing`], one per thread.

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Error.
    Error,
    /// Warning.
    Warn,
    /// Information.
    Info,
    /// Debugging detail.
    Debug,
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Level;
    use crate::bindings::edgewaf::policy::host as h;

    pub fn log(level: Level, message: &str) {
        let level = match level {
            Level::Error => h::Level::Error,
            Level::Warn => h::Level::Warn,
            Level::Info => h::Level::Info,
            Level::Debug => h::Level::Debug,
        };
        h::log(level, message)
    }
    pub fn now_ms() -> u64 {
        h::now_ms()
    }
    pub fn counter_add(key: &str, delta: u64, window_ms: u32) -> u64 {
        h::counter_add(key, delta, window_ms)
    }
    pub fn kv_get(key: &str) -> Option<Vec<u8>> {
        h::kv_get(key)
    }
    pub fn kv_set(key: &str, value: &[u8], ttl_ms: u32) {
        h::kv_set(key, value, ttl_ms)
    }
    pub fn ip_list_match(name: &str, addr: &str) -> Option<String> {
        h::ip_list_match(name, addr)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Level;
    use crate::testing::with_host;

    pub fn log(level: Level, message: &str) {
        with_host(|h| h.log(level, message))
    }
    pub fn now_ms() -> u64 {
        with_host(|h| h.now_ms())
    }
    pub fn counter_add(key: &str, delta: u64, window_ms: u32) -> u64 {
        with_host(|h| h.counter_add(key, delta, window_ms))
    }
    pub fn kv_get(key: &str) -> Option<Vec<u8>> {
        with_host(|h| h.kv_get(key))
    }
    pub fn kv_set(key: &str, value: &[u8], ttl_ms: u32) {
        with_host(|h| h.kv_set(key, value, ttl_ms))
    }
    pub fn ip_list_match(name: &str, addr: &str) -> Option<String> {
        with_host(|h| h.ip_list_match(name, addr))
    }
}

/// Writes a line to the host's log, tagged with tenant and policy.
pub fn log(level: Level, message: &str) {
    imp::log(level, message)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    imp::now_ms()
}

/// Adds `delta` to counter `key` in its current fixed window of `window_ms` and
/// returns the new count. Namespaced per tenant by the host.
pub fn counter_add(key: &str, delta: u64, window_ms: u32) -> u64 {
    imp::counter_add(key, delta, window_ms)
}

/// Reads a per-tenant value.
pub fn kv_get(key: &str) -> Option<Vec<u8>> {
    imp::kv_get(key)
}

/// Stores a per-tenant value; `ttl_ms` 0 keeps it until overwritten.
pub fn kv_set(key: &str, value: &[u8], ttl_ms: u32) {
    imp::kv_set(key, value, ttl_ms)
}

/// Looks `addr` up in the runtime IP list `name`; returns the matching CIDR.
pub fn ip_list_match(name: &str, addr: &str) -> Option<String> {
    imp::ip_list_match(name, addr)
}
