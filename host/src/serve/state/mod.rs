//! State behind the policies' host interface: counters, key-value and runtime IP
//! lists. Counters and key-value are namespaced per tenant here, in the host, so
//! a policy can never reach another tenant's keys.
//!
//! Two backends, chosen by `[state] backend` in `edgewaf.toml`:
//!
//! 1. [`MemoryState`] (`backend = "memory"`, the default): in process memory;
//!    runtime lists are written to `<state dir>/lists.json` on every change and
//!    read back at start, so they survive a restart.
//! 2. [`RedisState`] (`backend = "redis"`, `redis_url = "redis://127.0.0.1:6379/0"`):
//!    every node using the same Redis shares counters, key-value entries
//!    (penalty boxes, token buckets) and runtime lists. Lists are cached on each
//!    node and re-read when they change (within about half a second); a change
//!    made through a node's admin API applies to that node's next request.
//!
//! ## When Redis is unreachable
//!
//! Every Redis call has a short connect/read/write timeout (`redis_timeout_ms`,
//! 20 ms by default), so a host call never hangs. On the first failure the
//! node logs one warning, sets the gauge `edgewaf_state_backend_up` to 0 and
//! serves counters and key-value from local memory (counted by
//! `edgewaf_state_fallback_total`, one per call served locally): limits then
//! hold per node, not across nodes. Runtime lists keep matching from the last
//! copy read from Redis; list changes made meanwhile apply locally at once and
//! are written to Redis when it is back. Redis is probed again once per
//! `redis_retry_ms` (1 s by default), not on every call; when a probe succeeds
//! the node logs it, sets the gauge to 1 and shares state again (what was
//! counted locally meanwhile is not merged).

mod memory;
mod redis;

pub use self::redis::{RedisOptions, RedisState};
pub use memory::MemoryState;

use crate::config::{StateBackendKind, StateConfig};
use ipnet::IpNet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// A storage backend for policy state.
pub trait StateBackend: Send + Sync {
    /// Adds `delta` to `key` of `tenant` in its fixed window of `window_ms`
    /// (aligned to the epoch) and returns the new count.
    fn counter_add(&self, tenant: &str, key: &str, delta: u64, window_ms: u32, now_ms: u64) -> u64;
    /// Reads a value that has not expired.
    fn kv_get(&self, tenant: &str, key: &str, now_ms: u64) -> Option<Vec<u8>>;
    /// Writes a value; `ttl_ms` 0 never expires.
    fn kv_set(&self, tenant: &str, key: &str, value: &[u8], ttl_ms: u32, now_ms: u64);
    /// The CIDR of list `list` that contains `addr`, if any and not expired.
    fn list_match(&self, list: &str, addr: IpAddr, now_ms: u64) -> Option<String>;
    /// Adds (or replaces) an entry of a runtime list.
    fn list_add(&self, list: &str, entry: ListEntry);
    /// Removes an entry; true when it was there.
    fn list_remove(&self, list: &str, net: &IpNet) -> bool;
    /// The entries of a list that have not expired.
    fn list_entries(&self, list: &str, now_ms: u64) -> Vec<ListEntry>;
}

/// The metrics a backend keeps up to date (registered in [`crate::observe::metrics`]).
#[derive(Clone, Debug, Default)]
pub struct StateMetrics {
    /// `edgewaf_state_backend_up`: 1 while the configured backend answers.
    pub up: Gauge,
    /// `edgewaf_state_fallback_total`: calls served from local memory because
    /// the shared backend was unreachable.
    pub fallback: Counter,
}

/// Opens the backend `config` asks for. A Redis that cannot be reached at
/// start is not an error: the node starts on the fallback and keeps probing.
pub fn open(config: &StateConfig, metrics: StateMetrics) -> anyhow::Result<Arc<dyn StateBackend>> {
    Ok(match config.backend {
        StateBackendKind::Memory => {
            metrics.up.set(1);
            Arc::new(MemoryState::with_lists_file(config.dir.join("lists.json"))?)
        }
        StateBackendKind::Redis => Arc::new(RedisState::open(
            RedisOptions {
                url: config.redis_url.clone(),
                prefix: config.redis_prefix.clone(),
                timeout: Duration::from_millis(config.redis_timeout_ms.max(1)),
                retry: Duration::from_millis(config.redis_retry_ms.max(1)),
            },
            metrics,
        )?),
    })
}

/// One entry of a runtime IP list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListEntry {
    /// The network (a single address is a /32 or /128).
    pub cidr: IpNet,
    /// Expiry in ms since the epoch; none never expires.
    #[serde(default)]
    pub expires_ms: Option<u64>,
    /// Free text.
    #[serde(default)]
    pub comment: String,
}

impl ListEntry {
    fn live(&self, now_ms: u64) -> bool {
        self.expires_ms.is_none_or(|e| e > now_ms)
    }
}

/// The first live entry of `entries` containing `addr`, as its CIDR text.
fn find_live(entries: &[ListEntry], addr: IpAddr, now_ms: u64) -> Option<String> {
    let addr = addr.to_canonical();
    entries
        .iter()
        .find(|e| e.live(now_ms) && e.cidr.contains(&addr))
        .map(|e| e.cidr.to_string())
}

/// Parses `10.0.0.0/8`, `2001:db8::/32` or a single address.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR"))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing() {
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            parse_cidr("2001:db8::1").unwrap().to_string(),
            "2001:db8::1/128"
        );
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("nope").is_err());
    }

    #[test]
    fn mapped_addresses_match_v4_entries() {
        let entries = vec![ListEntry {
            cidr: parse_cidr("203.0.113.0/24").unwrap(),
            expires_ms: None,
            comment: String::new(),
        }];
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(
            find_live(&entries, mapped, 0).as_deref(),
            Some("203.0.113.0/24")
        );
    }
}
