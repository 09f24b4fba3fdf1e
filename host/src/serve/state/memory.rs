//! The default backend: state in process memory. Runtime lists are also kept
//! in a JSON file (written atomically on every change, read at start) so they
//! survive a restart; counters and key-value entries do not.

use super::{ListEntry, StateBackend, find_live};
use anyhow::Context as _;
use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// Counters beyond this many get swept of past windows.
const SWEEP_AT: usize = 100_000;

/// (tenant, key, window) -> (count, window end ms).
type Counters = HashMap<(String, String, u64), (u64, u64)>;
/// (tenant, key) -> (value, expiry ms).
type KeyValues = HashMap<(String, String), (Vec<u8>, Option<u64>)>;
/// list name -> entries.
pub(super) type Lists = HashMap<String, Vec<ListEntry>>;

/// The lists file: `{"lists": {"blocklist": [{"cidr": ..., "expires_ms": ..., "comment": ...}]}}`.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct ListsFile {
    lists: BTreeMap<String, Vec<ListEntry>>,
}

/// State in process memory.
#[derive(Default)]
pub struct MemoryState {
    counters: Mutex<Counters>,
    kv: Mutex<KeyValues>,
    lists: RwLock<Lists>,
    /// Where runtime lists are persisted, if anywhere.
    lists_file: Option<PathBuf>,
}

impl MemoryState {
    /// An empty store that persists nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose runtime lists live in `path`: read now (expired entries
    /// dropped), rewritten on every change. A missing file is an empty set of
    /// lists; an unreadable one is an error naming the file.
    pub fn with_lists_file(path: PathBuf) -> anyhow::Result<Self> {
        let lists = load_lists(&path, super::now_ms())?;
        if !lists.is_empty() {
            tracing::info!(
                file = %path.display(),
                "loaded {} runtime list(s)",
                lists.len()
            );
        }
        Ok(MemoryState {
            lists: RwLock::new(lists),
            lists_file: Some(path),
            ..Self::default()
        })
    }

    /// Writes the lists file (under the caller's write lock, so writes happen
    /// in the order of the changes).
    fn persist(&self, lists: &Lists) {
        let Some(path) = &self.lists_file else {
            return;
        };
        if let Err(e) = save_lists(path, lists, super::now_ms()) {
            tracing::error!(file = %path.display(), "runtime lists not saved: {e:#}");
        }
    }
}

fn load_lists(path: &Path, now_ms: u64) -> anyhow::Result<Lists> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lists::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let file: ListsFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a runtime lists file (fix or remove it; it is rewritten on the next list change)",
            path.display()
        )
    })?;
    Ok(file
        .lists
        .into_iter()
        .map(|(name, entries)| {
            let live = entries.into_iter().filter(|e| e.live(now_ms)).collect();
            (name, live)
        })
        .collect())
}

fn save_lists(path: &Path, lists: &Lists, now_ms: u64) -> anyhow::Result<()> {
    let file = ListsFile {
        lists: lists
            .iter()
            .map(|(name, entries)| {
                let live: Vec<_> = entries.iter().filter(|e| e.live(now_ms)).cloned().collect();
                (name.clone(), live)
            })
            .filter(|(_, entries)| !entries.is_empty())
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&file)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Write a temporary file beside it, then rename: a crash leaves the old or
    // the new file, never half of one.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Adds or replaces `entry` in `lists` (shared with the Redis backend's cache).
pub(super) fn add_entry(lists: &mut Lists, list: &str, entry: ListEntry) {
    let entries = lists.entry(list.to_string()).or_default();
    entries.retain(|e| e.cidr != entry.cidr);
    entries.push(entry);
}

/// Removes `net` from `lists`; true when it was there.
pub(super) fn remove_entry(lists: &mut Lists, list: &str, net: &IpNet) -> bool {
    match lists.get_mut(list) {
        Some(entries) => {
            let before = entries.len();
            entries.retain(|e| e.cidr != *net);
            entries.len() != before
        }
        None => false,
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
        find_live(lists.get(list)?, addr, now_ms)
    }

    fn list_add(&self, list: &str, entry: ListEntry) {
        let mut lists = self.lists.write().unwrap_or_else(|e| e.into_inner());
        add_entry(&mut lists, list, entry);
        self.persist(&lists);
    }

    fn list_remove(&self, list: &str, net: &IpNet) -> bool {
        let mut lists = self.lists.write().unwrap_or_else(|e| e.into_inner());
        let removed = remove_entry(&mut lists, list, net);
        if removed {
            self.persist(&lists);
        }
        removed
    }

    fn list_entries(&self, list: &str, now_ms: u64) -> Vec<ListEntry> {
        let lists = self.lists.read().unwrap_or_else(|e| e.into_inner());
        lists
            .get(list)
            .map(|v| v.iter().filter(|e| e.live(now_ms)).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::state::parse_cidr;

    fn entry(cidr: &str, expires_ms: Option<u64>) -> ListEntry {
        ListEntry {
            cidr: parse_cidr(cidr).unwrap(),
            expires_ms,
            comment: "x".into(),
        }
    }

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
        s.list_add("block", entry("203.0.113.0/24", Some(2_000)));
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
    fn lists_survive_a_restart_and_expired_entries_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/lists.json");
        let s = MemoryState::with_lists_file(path.clone()).unwrap();
        let far = crate::serve::state::now_ms() + 3_600_000;
        s.list_add("block", entry("198.51.100.0/24", None));
        s.list_add("block", entry("2001:db8::/32", Some(far)));
        s.list_add("abuse", entry("192.0.2.1", Some(1)));
        s.list_add("gone", entry("192.0.2.2", None));
        assert!(s.list_remove("gone", &parse_cidr("192.0.2.2").unwrap()));
        drop(s);
        let s = MemoryState::with_lists_file(path.clone()).unwrap();
        let now = crate::serve::state::now_ms();
        let block = s.list_entries("block", now);
        assert_eq!(block.len(), 2, "{block:?}");
        assert_eq!(block[1].expires_ms, Some(far));
        assert!(
            s.list_entries("abuse", now).is_empty(),
            "expired entry dropped"
        );
        assert!(
            s.list_entries("gone", now).is_empty(),
            "removed entry stays removed"
        );
        assert!(
            s.list_match("block", "2001:db8::5".parse().unwrap(), now)
                .is_some()
        );
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn corrupt_lists_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lists.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = MemoryState::with_lists_file(path).err().unwrap();
        assert!(format!("{err:#}").contains("lists.json"), "{err:#}");
    }
}
