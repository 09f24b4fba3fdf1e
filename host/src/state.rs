//! State behind the policies' host interface: counters, key-value and runtime IP
//! lists. Counters and key-value are namespaced per tenant here, in the host, so
//! a policy can never reach another tenant's keys.

use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};

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

/// Parses `10.0.0.0/8`, `2001:db8::/32` or a single address.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR"))
}

/// Counters beyond this many get swept of past windows.
const SWEEP_AT: usize = 100_000;

/// (tenant, key, window) -> (count, window end ms).
type Counters = HashMap<(String, String, u64), (u64, u64)>;
/// (tenant, key) -> (value, expiry ms).
type KeyValues = HashMap<(String, String), (Vec<u8>, Option<u64>)>;

/// The default backend: in process memory.
#[derive(Default)]
pub struct MemoryState {
    counters: Mutex<Counters>,
    kv: Mutex<KeyValues>,
    lists: RwLock<HashMap<String, Vec<ListEntry>>>,
}

impl MemoryState {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl StateBackend for MemoryState {
    fn counter_add(&self, tenant: &str, key: &str, delta: u64, window_ms: u32, now_ms: u64) -> u64 {
        let window_ms = u64::from(window_ms.max(1));
        let window = now_ms / window_ms;
        let window_end = (window + 1) * window_ms;
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SWEEP_AT {
            map.retain(|_, (_, end)| *end > now_ms);
        }
        let entry = map
            .entry((tenant.to_string(), key.to_string(), window))
            .or_insert((0, window_end));
        entry.0 = entry.0.saturating_add(delta);
        entry.0
    }

    fn kv_get(&self, tenant: &str, key: &str, now_ms: u64) -> Option<Vec<u8>> {
        let map = self.kv.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(tenant.to_string(), key.to_string()))
            .filter(|(_, exp)| exp.is_none_or(|e| e > now_ms))
            .map(|(v, _)| v.clone())
    }

    fn kv_set(&self, tenant: &str, key: &str, value: &[u8], ttl_ms: u32, now_ms: u64) {
        let exp = (ttl_ms > 0).then(|| now_ms + u64::from(ttl_ms));
        let mut map = self.kv.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SWEEP_AT {
            map.retain(|_, (_, exp)| exp.is_none_or(|e| e > now_ms));
        }
        map.insert((tenant.to_string(), key.to_string()), (value.to_vec(), exp));
    }

    fn list_match(&self, list: &str, addr: IpAddr, now_ms: u64) -> Option<String> {
        let lists = self.lists.read().unwrap_or_else(|e| e.into_inner());
        lists
            .get(list)?
            .iter()
            .find(|e| e.live(now_ms) && e.cidr.contains(&addr))
            .map(|e| e.cidr.to_string())
    }

    fn list_add(&self, list: &str, entry: ListEntry) {
        let mut lists = self.lists.write().unwrap_or_else(|e| e.into_inner());
        let entries = lists.entry(list.to_string()).or_default();
        entries.retain(|e| e.cidr != entry.cidr);
        entries.push(entry);
    }

    fn list_remove(&self, list: &str, net: &IpNet) -> bool {
        let mut lists = self.lists.write().unwrap_or_else(|e| e.into_inner());
        match lists.get_mut(list) {
            Some(entries) => {
                let before = entries.len();
                entries.retain(|e| e.cidr != *net);
                entries.len() != before
            }
            None => false,
        }
    }

    fn list_entries(&self, list: &str, now_ms: u64) -> Vec<ListEntry> {
        let lists = self.lists.read().unwrap_or_else(|e| e.into_inner());
        lists
            .get(list)
            .map(|v| v.iter().filter(|e| e.live(now_ms)).cloned().collect())
            .unwrap_or_default()
    }
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
    fn counters_are_per_tenant_and_per_window() {
        let s = MemoryState::new();
        assert_eq!(s.counter_add("a", "k", 1, 1000, 5_000), 1);
        assert_eq!(s.counter_add("a", "k", 2, 1000, 5_999), 3);
        assert_eq!(
            s.counter_add("b", "k", 1, 1000, 5_500),
            1,
            "tenant b is separate"
        );
        assert_eq!(s.counter_add("a", "k", 1, 1000, 6_000), 1, "new window");
    }

    #[test]
    fn kv_expires_and_is_per_tenant() {
        let s = MemoryState::new();
        s.kv_set("a", "k", b"v", 100, 1_000);
        assert_eq!(s.kv_get("a", "k", 1_050).as_deref(), Some(&b"v"[..]));
        assert_eq!(s.kv_get("b", "k", 1_050), None);
        assert_eq!(s.kv_get("a", "k", 1_100), None);
        s.kv_set("a", "p", b"x", 0, 1_000);
        assert!(s.kv_get("a", "p", u64::MAX / 2).is_some());
    }

    #[test]
    fn lists_match_add_remove_expire() {
        let s = MemoryState::new();
        let net = parse_cidr("203.0.113.0/24").unwrap();
        s.list_add(
            "block",
            ListEntry {
                cidr: net,
                expires_ms: Some(2_000),
                comment: "x".into(),
            },
        );
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            s.list_match("block", ip, 1_000).as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(s.list_match("block", ip, 2_000), None, "expired");
        assert_eq!(s.list_match("other", ip, 1_000), None);
        assert!(s.list_remove("block", &net));
        assert!(!s.list_remove("block", &net));
    }

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
}
