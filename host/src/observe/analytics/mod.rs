//! The durable event store: every decision event, every configuration change
//! (audit records) and every tenant version that served, in one SQLite file on
//! the node (`[analytics] path`, `<state dir>/analytics.db` by default).
//!
//! Why SQLite (rusqlite, with the library compiled in by its `bundled`
//! feature): one file, no server, no system package; WAL mode lets the
//! dashboard read while the writer appends; indexed aggregates over a day of
//! events answer in milliseconds (the `analytics` benchmark times the
//! dashboard's queries over 100,000 events). DuckDB would scan columns faster
//! but builds a large C++ library on every clean build of the host.
//!
//! How an event gets there, off the request path:
//! 1. [`crate::observe::events::EventSink::record`] hands the event to [`Analytics::record`],
//!    which makes its row (one buffer: its text columns and, when a policy
//!    decided or reported something, the rest of its JSON) and only tries
//!    to put it on a bounded queue
//!    (`[analytics] queue`).
//!    A full queue drops the event and counts it
//!    (`edgewaf_analytics_dropped_total`); a request never waits.
//! 2. The writer thread ([`writer`]) wakes on an event, takes what queues
//!    for 50 ms (or until 1,024 items) and inserts it in one transaction
//!    (senders never wait for it): a row per event, and the batch's details
//!    in one compressed row.
//! 3. After each batch it deletes up to 2,048 events past retention (older
//!    than `retention_days`, and the oldest beyond `max_events`); when idle,
//!    all of them.
//!
//! Readers ([`Analytics::read`]) open their own connection.

pub mod audit;
pub mod classify;
mod logged;
pub mod query;
pub mod report;
mod schema;
pub mod versions;
mod writer;

use crate::observe::events::DecisionEvent;
use rusqlite::Connection;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `[analytics]` in `edgewaf.toml`.
///
/// ```toml
/// [analytics]
/// enabled = true
/// path = "analytics.db"      # relative to [state] dir
/// retention_days = 30
/// max_events = 5000000
/// queue = 50000
/// cache_mib = 64
/// mmap_mib = 1024
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// `enabled = true`: keep events, audit records and versions in the store.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `path = "analytics.db"`: the SQLite file, relative to `[state] dir`.
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// `retention_days = 30`: events older than this are deleted.
    #[serde(default = "default_retention_days")]
    pub retention_days: u64,
    /// `max_events = 5000000`: past this many events the oldest are deleted.
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// `queue = 50000`: events waiting for the writer; past it they are dropped
    /// (and counted), never waited for. Big enough to ride out the writer
    /// waiting for CPU or the disk (about 3 s at 15,000 events/s); a queued
    /// event holds about 1 to 2 KB.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// `cache_mib = 64`: the writer's SQLite page cache (private memory; it
    /// fills as the file grows, then stays at this size). Smaller costs the
    /// writer CPU: index pages are read back from the file.
    #[serde(default = "default_cache_mib")]
    pub cache_mib: u32,
    /// `mmap_mib = 1024`: how much of the file the writer maps (0: none, reads
    /// through read(2)). Mapped pages are the kernel's page cache, shared and
    /// reclaimable, but they count in the process's RSS as the file grows.
    #[serde(default = "default_mmap_mib")]
    pub mmap_mib: u32,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            enabled: true,
            path: default_path(),
            retention_days: default_retention_days(),
            max_events: default_max_events(),
            queue: default_queue(),
            cache_mib: default_cache_mib(),
            mmap_mib: default_mmap_mib(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_path() -> PathBuf {
    "analytics.db".into()
}
fn default_retention_days() -> u64 {
    30
}
fn default_max_events() -> u64 {
    5_000_000
}
fn default_queue() -> usize {
    50_000
}
fn default_cache_mib() -> u32 {
    64
}
fn default_mmap_mib() -> u32 {
    1024
}

/// What the writer thread is given.
enum Item {
    /// An event, made into its row on the sender's thread.
    Event(schema::EventRow),
    Audit(audit::AuditRecord),
    Version(versions::VersionRecord),
    /// Answers once everything queued before it is written (tests, shutdown).
    Flush(std::sync::mpsc::Sender<()>),
}

/// A handle on the store; clones share the queue and the counters.
#[derive(Clone)]
pub struct Analytics {
    tx: SyncSender<Item>,
    path: PathBuf,
    dropped: prometheus_client::metrics::counter::Counter,
    written: Arc<AtomicU64>,
    reader: Arc<Mutex<Option<Connection>>>,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analytics")
            .field("path", &self.path)
            .finish()
    }
}

/// Retention limits the writer applies.
#[derive(Debug, Clone, Copy)]
struct Retention {
    max_age_ms: u64,
    max_events: u64,
}

impl Analytics {
    /// Opens (or creates) the store at `path` and starts its writer thread;
    /// `dropped` counts what a full queue drops.
    pub fn open(
        path: &Path,
        config: &AnalyticsConfig,
        dropped: prometheus_client::metrics::counter::Counter,
    ) -> anyhow::Result<Analytics> {
        Self::open_with(path, config, dropped, writer::Batching::DEFAULT)
    }

    /// [`Analytics::open`] with the writer's batching given.
    fn open_with(
        path: &Path,
        config: &AnalyticsConfig,
        dropped: prometheus_client::metrics::counter::Counter,
        batching: writer::Batching,
    ) -> anyhow::Result<Analytics> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let conn = schema::open(path, config.cache_mib, config.mmap_mib)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(config.queue.max(1));
        let written = Arc::new(AtomicU64::new(0));
        let retention = Retention {
            max_age_ms: config.retention_days.saturating_mul(86_400_000),
            max_events: config.max_events.max(1),
        };
        let w = written.clone();
        std::thread::Builder::new()
            .name("edgewaf-analytics".into())
            .spawn(move || writer::run(conn, rx, retention, batching, &w))?;
        Ok(Analytics {
            tx,
            path: path.to_path_buf(),
            dropped,
            written,
            reader: Arc::new(Mutex::new(None)),
        })
    }

    /// Queues one decision event; a full queue drops it (counted).
    pub fn record(&self, event: impl std::borrow::Borrow<DecisionEvent>) {
        self.send(Item::Event(schema::EventRow::new(event.borrow())));
    }

    /// Queues one audit record.
    pub fn audit(&self, record: audit::AuditRecord) {
        self.send(Item::Audit(record));
    }

    /// Queues one tenant version.
    pub fn version(&self, record: versions::VersionRecord) {
        self.send(Item::Version(record));
    }

    fn send(&self, item: Item) {
        match self.tx.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.inc();
            }
        }
    }

    /// Waits until everything queued so far is written (at most `timeout`).
    pub fn flush(&self, timeout: Duration) -> bool {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.tx.send(Item::Flush(tx)).is_err() {
            return false;
        }
        rx.recv_timeout(timeout).is_ok()
    }

    /// Items dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// Events written since the process started.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Runs `f` on the shared read connection (opened on first use).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> anyhow::Result<T> {
        let mut guard = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(schema::open_reader(&self.path)?);
        }
        let conn = guard.as_ref().expect("opened above");
        Ok(f(conn)?)
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
