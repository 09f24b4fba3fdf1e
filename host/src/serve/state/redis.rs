//! The shared backend: state in Redis, so several nodes share counters,
//! key-value entries and runtime lists, with local memory as the fallback
//! while Redis is unreachable (see the module docs of [`crate::serve::state`]).
//!
//! Keys (`ew` is `redis_prefix`; tenant names are `[a-z0-9_-]`, so the key a
//! policy chose, last, cannot reach another tenant's keys):
//!
//! | key | type | what |
//! |-----|------|------|
//! | `ew:{tenant}:c:{window_ms}:{window}:{key}` | string | a counter of one fixed window, expires after it |
//! | `ew:{tenant}:kv:{key}` | string | a key-value entry, with its TTL |
//! | `ew:list:{name}` | hash | CIDR -> entry JSON of one runtime list |
//! | `ew:lists` | set | the names of the runtime lists |
//! | `ew:lists:v` | counter | bumped on every list change: nodes re-read lists when it moves |

use super::memory::{Lists, add_entry, remove_entry};
use super::{ListEntry, MemoryState, StateBackend, StateMetrics, find_live, now_ms};
use ::redis::{Client, Connection, RedisError, RedisResult};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

/// How often a node checks whether the lists changed in Redis.
const LIST_REFRESH_MS: u64 = 500;
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 32;
/// List changes remembered while Redis is down, replayed when it is back.
const MAX_PENDING: usize = 10_000;

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// `redis://[user:password@]host:port/db`.
    pub url: String,
    /// The first part of every key.
    pub prefix: String,
    /// Connect, read and write timeout of every call.
    pub timeout: Duration,
    /// Time between probes while Redis is unreachable.
    pub retry: Duration,
}

/// A list change made while Redis was unreachable.
enum ListOp {
    Add(String, ListEntry),
    Remove(String, IpNet),
}

/// This node's copy of the runtime lists.
#[derive(Default)]
struct ListCache {
    lists: Lists,
    /// `ew:lists:v` when `lists` was read.
    version: Option<i64>,
    /// When Redis was last asked (ms since the epoch).
    checked_ms: u64,
    /// Bumped by every local change, so a refresh that raced one is dropped.
    generation: u64,
}

/// State in Redis, with local memory while Redis is unreachable.
pub struct RedisState {
    client: Client,
    /// The URL without its password, for logs.
    shown_url: String,
    prefix: String,
    timeout: Duration,
    retry_ms: u64,
    idle: Mutex<Vec<Connection>>,
    up: AtomicBool,
    next_probe_ms: AtomicU64,
    local: MemoryState,
    cache: RwLock<ListCache>,
    refreshing: AtomicBool,
    pending: Mutex<Vec<ListOp>>,
    metrics: StateMetrics,
}

/// `redis://user:secret@host:6379/0` -> `redis://host:6379/0`.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://{}", &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

impl RedisState {
    /// Checks the URL and tries Redis once; an unreachable Redis is logged
    /// and the node starts on its local fallback.
    pub fn open(opts: RedisOptions, metrics: StateMetrics) -> anyhow::Result<Self> {
        let client = Client::open(opts.url.as_str()).map_err(|e| {
            anyhow::anyhow!(
                "[state] redis_url: {:?} is not a Redis URL ({e}); expected e.g. \"redis://127.0.0.1:6379/0\"",
                redact(&opts.url)
            )
        })?;
        let state = RedisState {
            client,
            shown_url: redact(&opts.url),
            prefix: opts.prefix,
            timeout: opts.timeout,
            retry_ms: u64::try_from(opts.retry.as_millis()).unwrap_or(1000),
            idle: Mutex::new(Vec::new()),
            up: AtomicBool::new(false),
            next_probe_ms: AtomicU64::new(0),
            local: MemoryState::new(),
            cache: RwLock::new(ListCache::default()),
            refreshing: AtomicBool::new(false),
            pending: Mutex::new(Vec::new()),
            metrics,
        };
        metrics_down(&state.metrics);
        match state.connect().and_then(|mut c| {
            ::redis::cmd("PING").query::<String>(&mut c)?;
            Ok(c)
        }) {
            Ok(c) => {
                state.mark_up(c);
                tracing::info!(url = %state.shown_url, "state: sharing counters, key-value and lists through Redis");
                state.refresh_lists(now_ms());
            }
            Err(e) => {
                state
                    .next_probe_ms
                    .store(now_ms() + state.retry_ms, Ordering::Release);
                tracing::warn!(
                    url = %state.shown_url,
                    "state: Redis unreachable at start ({e}); serving from local memory, retrying every {} ms",
                    state.retry_ms
                );
            }
        }
        Ok(state)
    }

    fn connect(&self) -> RedisResult<Connection> {
        let c = self.client.get_connection_with_timeout(self.timeout)?;
        c.set_read_timeout(Some(self.timeout))?;
        c.set_write_timeout(Some(self.timeout))?;
        Ok(c)
    }

    fn mark_up(&self, con: Connection) {
        self.replay_pending(con);
        self.metrics.up.set(1);
    }

    fn mark_down(&self, e: &RedisError) {
        self.next_probe_ms
            .store(now_ms() + self.retry_ms, Ordering::Release);
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                url = %self.shown_url,
                "state: Redis unreachable ({e}); serving counters and key-value from local memory \
                 (limits hold per node until it is back), lists from the last copy; retrying every {} ms",
                self.retry_ms
            );
        } else {
            tracing::debug!("state: Redis unreachable: {e}");
        }
        metrics_down(&self.metrics);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Writes the list changes made while Redis was down, then shares again.
    fn replay_pending(&self, mut con: Connection) {
        let ops = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let n = ops.len();
        for op in ops {
            let result = match &op {
                ListOp::Add(list, entry) => self.write_add(&mut con, list, entry),
                ListOp::Remove(list, net) => self.write_remove(&mut con, list, net).map(|_| ()),
            };
            if let Err(e) = result {
                tracing::warn!("state: replaying a list change to Redis failed: {e}");
            }
        }
        if n > 0 {
            tracing::info!("state: {n} list change(s) made while Redis was down written to it");
        }
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .checked_ms = 0;
        self.up.store(true, Ordering::Release);
        self.put_back(con);
    }

    fn put_back(&self, con: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(con);
        }
    }

    /// Runs `f` on a pooled connection; `None` means "serve it locally".
    /// While Redis is down, only one caller per `retry_ms` probes it.
    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Option<T> {
        if !self.up.load(Ordering::Acquire) {
            let now = now_ms();
            let next = self.next_probe_ms.load(Ordering::Acquire);
            if now < next
                || self
                    .next_probe_ms
                    .compare_exchange(
                        next,
                        now + self.retry_ms,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_err()
            {
                return None;
            }
            match self.connect().and_then(|mut c| {
                ::redis::cmd("PING").query::<String>(&mut c)?;
                Ok(c)
            }) {
                Ok(c) => {
                    tracing::info!(url = %self.shown_url, "state: Redis reachable again; sharing state again");
                    self.mark_up(c);
                }
                Err(e) => {
                    tracing::debug!("state: Redis still unreachable: {e}");
                    return None;
                }
            }
        }
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut con = match pooled {
            Some(c) => c,
            None => match self.connect() {
                Ok(c) => c,
                Err(e) => {
                    self.mark_down(&e);
                    return None;
                }
            },
        };
        match f(&mut con) {
            Ok(v) => {
                self.put_back(con);
                Some(v)
            }
            Err(e) if is_connection_error(&e) => {
                self.mark_down(&e);
                None
            }
            Err(e) => {
                // A reply we did not expect (e.g. a key of another type): Redis
                // is there, the answer is not usable; serve this call locally
                // and do not reuse a connection whose state we cannot vouch for.
                tracing::warn!("state: Redis error: {e}");
                None
            }
        }
    }

    /// Serves a call locally, counted.
    fn fallback(&self) -> &MemoryState {
        self.metrics.fallback.inc();
        &self.local
    }

    fn tenant_key(&self, tenant: &str, kind: &str, key: &str) -> String {
        format!("{}:{tenant}:{kind}:{key}", self.prefix)
    }

    fn list_key(&self, list: &str) -> String {
        format!("{}:list:{list}", self.prefix)
    }

    fn write_add(&self, con: &mut Connection, list: &str, entry: &ListEntry) -> RedisResult<()> {
        let json = serde_json::to_string(entry).unwrap_or_default();
        let key = self.list_key(list);
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(&key)
            .arg(entry.cidr.to_string())
            .arg(json)
            .ignore()
            .cmd("SADD")
            .arg(format!("{}:lists", self.prefix))
            .arg(list)
            .ignore()
            .cmd("INCR")
            .arg(format!("{}:lists:v", self.prefix))
            .ignore();
        // Expired entries of this list go while we are at it.
        let now = now_ms();
        let expired: Vec<String> = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .lists
            .get(list)
            .map(|v| {
                v.iter()
                    .filter(|e| !e.live(now) && e.cidr != entry.cidr)
                    .map(|e| e.cidr.to_string())
                    .collect()
            })
            .unwrap_or_default();
        if !expired.is_empty() {
            pipe.cmd("HDEL").arg(&key).arg(expired).ignore();
        }
        pipe.query::<()>(con)
    }

    fn write_remove(&self, con: &mut Connection, list: &str, net: &IpNet) -> RedisResult<bool> {
        let (removed,): (i64,) = ::redis::pipe()
            .atomic()
            .cmd("HDEL")
            .arg(self.list_key(list))
            .arg(net.to_string())
            .cmd("INCR")
            .arg(format!("{}:lists:v", self.prefix))
            .ignore()
            .query(con)?;
        Ok(removed > 0)
    }

    /// Reads one list's hash.
    fn read_list(&self, con: &mut Connection, list: &str) -> RedisResult<Vec<ListEntry>> {
        let raw: HashMap<String, String> = ::redis::cmd("HGETALL")
            .arg(self.list_key(list))
            .query(con)?;
        Ok(raw
            .into_iter()
            .filter_map(
                |(cidr, json)| match serde_json::from_str::<ListEntry>(&json) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        tracing::warn!(
                            list,
                            cidr,
                            "state: ignoring a list entry in Redis that is not an entry: {e}"
                        );
                        None
                    }
                },
            )
            .collect())
    }

    /// Re-reads every list when `ew:lists:v` moved since the last read.
    fn refresh_lists(&self, now: u64) {
        let (known, generation) = {
            let c = self.cache.read().unwrap_or_else(|e| e.into_inner());
            (c.version, c.generation)
        };
        let fetched = self.with_conn(|con| {
            let version: Option<i64> = ::redis::cmd("GET")
                .arg(format!("{}:lists:v", self.prefix))
                .query(con)?;
            if version == known && known.is_some() {
                return Ok((version, None));
            }
            let names: Vec<String> = ::redis::cmd("SMEMBERS")
                .arg(format!("{}:lists", self.prefix))
                .query(con)?;
            let mut lists = Lists::new();
            for name in names {
                let entries = self.read_list(con, &name)?;
                lists.insert(name, entries);
            }
            Ok((version, Some(lists)))
        });
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        c.checked_ms = now;
        if let Some((version, lists)) = fetched
            && c.generation == generation
        {
            c.version = version.or(Some(0));
            if let Some(lists) = lists {
                c.lists = lists;
            }
        }
    }

    /// A local change: apply it to the cache at once (the next request sees it).
    fn change_cache<T>(&self, f: impl FnOnce(&mut Lists) -> T) -> T {
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        c.generation += 1;
        f(&mut c.lists)
    }

    fn remember(&self, op: ListOp) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() < MAX_PENDING {
            pending.push(op);
        } else {
            tracing::error!(
                "state: too many list changes while Redis is down; this one is local only"
            );
        }
    }
}

fn metrics_down(m: &StateMetrics) {
    m.up.set(0);
}

impl StateBackend for RedisState {
    fn counter_add(&self, tenant: &str, key: &str, delta: u64, window_ms: u32, now_ms: u64) -> u64 {
        let w = u64::from(window_ms.max(1));
        let window = now_ms / w;
        // Kept one window past its end, for clocks of other nodes a little behind.
        let ttl = (window + 1) * w - now_ms + w;
        let k = self.tenant_key(tenant, "c", &format!("{w}:{window}:{key}"));
        let delta = i64::try_from(delta).unwrap_or(i64::MAX);
        let shared = self.with_conn(|con| {
            let (count,): (i64,) = ::redis::pipe()
                .cmd("INCRBY")
                .arg(&k)
                .arg(delta)
                .cmd("PEXPIRE")
                .arg(&k)
                .arg(ttl)
                .ignore()
                .query(con)?;
            Ok(u64::try_from(count).unwrap_or(0))
        });
        shared.unwrap_or_else(|| {
            self.fallback()
                .counter_add(tenant, key, delta as u64, window_ms, now_ms)
        })
    }

    fn kv_get(&self, tenant: &str, key: &str, now_ms: u64) -> Option<Vec<u8>> {
        let k = self.tenant_key(tenant, "kv", key);
        match self.with_conn(|con| ::redis::cmd("GET").arg(&k).query::<Option<Vec<u8>>>(con)) {
            Some(v) => v,
            None => self.fallback().kv_get(tenant, key, now_ms),
        }
    }

    fn kv_set(&self, tenant: &str, key: &str, value: &[u8], ttl_ms: u32, now_ms: u64) {
        let k = self.tenant_key(tenant, "kv", key);
        let done = self.with_conn(|con| {
            let mut cmd = ::redis::cmd("SET");
            cmd.arg(&k).arg(value);
            if ttl_ms > 0 {
                cmd.arg("PX").arg(ttl_ms);
            }
            cmd.query::<()>(con)
        });
        if done.is_none() {
            self.fallback().kv_set(tenant, key, value, ttl_ms, now_ms);
        }
    }

    fn list_match(&self, list: &str, addr: IpAddr, now_ms: u64) -> Option<String> {
        let stale = {
            let c = self.cache.read().unwrap_or_else(|e| e.into_inner());
            now_ms.saturating_sub(c.checked_ms) >= LIST_REFRESH_MS
        };
        // One caller refreshes; the others match against the copy they have.
        if stale
            && self
                .refreshing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.refresh_lists(now_ms);
            self.refreshing.store(false, Ordering::Release);
        }
        let c = self.cache.read().unwrap_or_else(|e| e.into_inner());
        find_live(c.lists.get(list)?, addr, now_ms)
    }

    fn list_add(&self, list: &str, entry: ListEntry) {
        if self
            .with_conn(|con| self.write_add(con, list, &entry))
            .is_none()
        {
            self.metrics.fallback.inc();
            self.remember(ListOp::Add(list.to_string(), entry.clone()));
        }
        self.change_cache(|lists| add_entry(lists, list, entry));
    }

    fn list_remove(&self, list: &str, net: &IpNet) -> bool {
        let shared = self.with_conn(|con| self.write_remove(con, list, net));
        let local = self.change_cache(|lists| remove_entry(lists, list, net));
        match shared {
            Some(removed) => removed || local,
            None => {
                self.metrics.fallback.inc();
                self.remember(ListOp::Remove(list.to_string(), *net));
                local
            }
        }
    }

    fn list_entries(&self, list: &str, now_ms: u64) -> Vec<ListEntry> {
        let entries = match self.with_conn(|con| self.read_list(con, list)) {
            Some(mut fresh) => {
                fresh.sort_by_key(|e| e.cidr);
                fresh
            }
            None => self
                .cache
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .lists
                .get(list)
                .cloned()
                .unwrap_or_default(),
        };
        entries.into_iter().filter(|e| e.live(now_ms)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            redact("redis://u:secret@10.0.0.1:6379/0"),
            "redis://10.0.0.1:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn unreachable_redis_falls_back_without_hanging() {
        // A port nothing listens on: connection refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let metrics = StateMetrics::default();
        let start = std::time::Instant::now();
        let s = RedisState::open(
            RedisOptions {
                url: format!("redis://127.0.0.1:{port}/0"),
                prefix: "ew".into(),
                timeout: Duration::from_millis(20),
                retry: Duration::from_secs(60),
            },
            metrics.clone(),
        )
        .unwrap();
        let now = now_ms();
        for i in 1..=100 {
            assert_eq!(s.counter_add("t", "k", 1, 10_000, now), i);
        }
        s.kv_set("t", "k", b"v", 0, now);
        assert_eq!(s.kv_get("t", "k", now).as_deref(), Some(&b"v"[..]));
        s.list_add(
            "block",
            ListEntry {
                cidr: "192.0.2.0/24".parse().unwrap(),
                expires_ms: None,
                comment: String::new(),
            },
        );
        assert!(
            s.list_match("block", "192.0.2.7".parse().unwrap(), now)
                .is_some()
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(metrics.up.get(), 0);
        assert!(metrics.fallback.get() >= 102, "{}", metrics.fallback.get());
    }

    #[test]
    fn bad_url_names_the_field() {
        let err = RedisState::open(
            RedisOptions {
                url: "http://nope".into(),
                prefix: "ew".into(),
                timeout: Duration::from_millis(20),
                retry: Duration::from_secs(1),
            },
            StateMetrics::default(),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("redis_url"), "{err}");
    }
}
