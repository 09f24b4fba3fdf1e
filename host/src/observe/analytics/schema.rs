//! The tables and the writer's statements.
//!
//! ```text
//! events         one row per decision: only the columns the dashboard and
//!                the report filter, group and count by, and the rule ids
//!                with their attack classes as a JSON array (`rules`, NULL
//!                when none fired)
//! event_details  the whole event as JSON, under the event's id (method,
//!                status, mode, policy, versions, findings: `json_extract`)
//! audit          one row per configuration change: who (token name), when, what
//! versions       one row per tenant version that started serving
//! ```
//!
//! Writing an event costs the writer three B-tree inserts, all at the right
//! edge (ids and times grow): the row, its detail, and one index over time
//! that carries `tenant`, `blocked` and `eval_us` so that the series and
//! latency percentiles read the index alone. Everything else (top IPs, paths,
//! countries, rules; searches by IP, request id or rule) scans the time range
//! the dashboard asks for. The first layout (`user_version` 0: every column
//! in the row, per-IP and partial indexes, a row per rule) cost the writer
//! more than twice the CPU per event, taken from the requests when both
//! cores are busy (docs/analytics.md, "Figures").

use super::audit::AuditRecord;
use super::classify::{class_of, event_class};
use super::versions::VersionRecord;
use crate::observe::events::DecisionEvent;
use rusqlite::{Connection, OpenFlags, Transaction, params};
use std::path::Path;

/// `PRAGMA user_version` of the current layout.
const LAYOUT: i64 = 1;

const EVENTS: &str = "
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    request_id TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    path TEXT NOT NULL,
    action TEXT NOT NULL,
    blocked INTEGER NOT NULL,
    class TEXT NOT NULL,
    eval_us INTEGER NOT NULL,
    country TEXT,
    rules TEXT
);
CREATE INDEX IF NOT EXISTS events_time ON events(ts_ms, tenant, blocked, eval_us);
CREATE TABLE IF NOT EXISTS event_details (
    id INTEGER PRIMARY KEY,
    detail TEXT NOT NULL
);
";

const OTHERS: &str = "
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    token TEXT NOT NULL,
    scope TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    tenant TEXT,
    kind TEXT NOT NULL,
    status INTEGER NOT NULL,
    summary TEXT NOT NULL,
    diff TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts_ms);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    version TEXT NOT NULL,
    mode TEXT NOT NULL,
    policies TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS versions_tenant_ts ON versions(tenant, ts_ms);
";

/// Opens the writer's connection and creates the tables; `cache_mib` and
/// `mmap_mib` are `[analytics]`'s (at least 1 MiB of cache).
pub(super) fn open(path: &Path, cache_mib: u32, mmap_mib: u32) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // The writer's costs were half in the kernel: index pages read back
    // through read(2) once the default 2 MB cache overflowed, and a
    // checkpoint every 1,000 WAL pages. A 64 MB cache, the file mapped
    // (1 GiB; both the defaults of `[analytics]`) and a checkpoint every
    // 8,000 pages (32 MB of WAL) cut that.
    conn.pragma_update(None, "cache_size", -(i64::from(cache_mib.max(1)) * 1024))?;
    conn.pragma_update(None, "mmap_size", i64::from(mmap_mib) << 20)?;
    conn.pragma_update(None, "wal_autocheckpoint", 8_000)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    migrate(&conn)?;
    conn.execute_batch(EVENTS)?;
    conn.execute_batch(OTHERS)?;
    conn.pragma_update(None, "user_version", LAYOUT)?;
    Ok(conn)
}

/// Brings a store of the first layout (`user_version` 0: the JSON in
/// `events.detail`, a row per rule in `event_rules`, five indexes on
/// `events`; the oldest also without `country`) to the current one, in one
/// transaction: its events keep their ids, JSON and rules.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let column = |name: &str| {
        conn.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = ?1")?
            .exists([name])
    };
    if !column("detail")? {
        return Ok(());
    }
    tracing::info!("analytics store: moving the events to the current layout");
    let started = std::time::Instant::now();
    let country = if column("country")? {
        "country"
    } else {
        "NULL"
    };
    let has_rules = conn
        .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'event_rules'")?
        .exists([])?;
    let rules = if has_rules {
        "(SELECT json_group_array(json_array(rule_id, class)) FROM event_rules r WHERE r.event_id = e.id)"
    } else {
        "NULL"
    };
    let columns = "id, ts_ms, tenant, request_id, client_ip, path, action, blocked, class, eval_us";
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         DROP INDEX IF EXISTS events_time;
         DROP INDEX IF EXISTS events_tenant_time;
         DROP INDEX IF EXISTS events_blocked_time;
         DROP INDEX IF EXISTS events_blocked_tenant_time;
         DROP INDEX IF EXISTS events_ip;
         ALTER TABLE events RENAME TO events_layout0;
         {EVENTS}
         INSERT INTO events ({columns}, country, rules)
           SELECT {columns}, {country}, nullif({rules}, '[]') FROM events_layout0 e;
         INSERT INTO event_details (id, detail) SELECT id, detail FROM events_layout0;
         DROP TABLE events_layout0;
         DROP TABLE IF EXISTS event_rules;
         COMMIT;"
    ))?;
    let events: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    tracing::info!(
        events,
        ms = started.elapsed().as_millis() as u64,
        "analytics store: events moved to the current layout"
    );
    Ok(())
}

/// Opens a read-only connection (the dashboard's).
pub(super) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// The event's time in ms since the epoch (now if it does not parse).
fn ts_ms(event: &DecisionEvent) -> u64 {
    humantime::parse_rfc3339_weak(&event.ts)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or_else(super::now_ms)
}

/// True for a request the WAF refused (deny or error in block mode).
pub(crate) fn is_blocked(event: &DecisionEvent) -> bool {
    event.mode == "block"
        && (event.action == "deny" || (event.action == "error" && event.status >= 400))
}

/// One event as the writer stores it, made on the request's thread: the
/// JSON, then every other text column, in one buffer. The writer frees that
/// one allocation instead of the event's dozen or more; freeing memory that
/// another thread allocated takes a lock in the allocator, and under an SQLi
/// flood those frees were a seventh of the writer's time.
pub(super) struct EventRow {
    /// detail, tenant, request_id, client_ip, path, action, class, country,
    /// rules, one after the other.
    buf: String,
    /// Where each of them ends in `buf`.
    ends: [usize; 9],
    ts_ms: i64,
    blocked: bool,
    eval_us: i64,
}

impl EventRow {
    /// The row of `e`; `json` is the decision log's line for it, if made
    /// (its buffer is reused).
    pub(super) fn new(e: &DecisionEvent, json: Option<Vec<u8>>) -> EventRow {
        let mut buf = json
            .and_then(|j| String::from_utf8(j).ok())
            .unwrap_or_else(|| serde_json::to_string(e).unwrap_or_default());
        buf.truncate(buf.trim_end().len());
        let (class, rules) = (event_class(e), rules_json(e));
        let texts = [
            e.tenant.as_str(),
            &e.request_id,
            &e.client_ip,
            &e.path,
            e.action,
            &class,
            e.country.as_deref().unwrap_or(""),
            rules.as_deref().unwrap_or(""),
        ];
        buf.reserve(texts.iter().map(|t| t.len()).sum());
        let mut ends = [buf.len(); 9];
        for (end, text) in ends[1..].iter_mut().zip(texts) {
            buf.push_str(text);
            *end = buf.len();
        }
        EventRow {
            buf,
            ends,
            ts_ms: ts_ms(e) as i64,
            blocked: is_blocked(e),
            eval_us: e.eval_us as i64,
        }
    }

    fn text(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    /// Text `i`, or None (NULL) when empty: a country or rules list is
    /// never an empty string.
    fn optional(&self, i: usize) -> Option<&str> {
        Some(self.text(i)).filter(|t| !t.is_empty())
    }
}

/// The statements that store events, prepared once per batch.
pub(super) struct EventInserts<'tx> {
    row: rusqlite::CachedStatement<'tx>,
    detail: rusqlite::CachedStatement<'tx>,
}

impl<'tx> EventInserts<'tx> {
    pub(super) fn new(tx: &'tx Transaction<'_>) -> rusqlite::Result<Self> {
        Ok(EventInserts {
            row: tx.prepare_cached(
                "INSERT INTO events (ts_ms, tenant, request_id, client_ip, path, action, blocked,
                 class, eval_us, country, rules)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
            detail: tx.prepare_cached("INSERT INTO event_details (id, detail) VALUES (?1, ?2)")?,
        })
    }

    /// Stores `row`.
    pub(super) fn insert(&mut self, row: &EventRow) -> rusqlite::Result<()> {
        let id = self.row.insert(params![
            row.ts_ms,
            row.text(1),
            row.text(2),
            row.text(3),
            row.text(4),
            row.text(5),
            row.blocked,
            row.text(6),
            row.eval_us,
            row.optional(7),
            row.optional(8),
        ])?;
        self.detail.execute(params![id, row.text(0)])?;
        Ok(())
    }
}

/// `[["rule id", "class"], ...]`, each rule id of the findings once; None
/// when there are none.
fn rules_json(e: &DecisionEvent) -> Option<String> {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for f in &e.findings {
        if !seen.iter().any(|(id, _)| *id == f.rule_id) {
            seen.push((&f.rule_id, class_of(&f.rule_id, &f.tags)));
        }
    }
    (!seen.is_empty()).then(|| serde_json::to_string(&seen).unwrap_or_default())
}

pub(super) fn insert_audit(tx: &Transaction<'_>, a: &AuditRecord) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit (ts_ms, token, scope, method, path, tenant, kind, status, summary, diff)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        a.ts_ms as i64,
        a.token,
        a.scope,
        a.method,
        a.path,
        a.tenant,
        a.kind,
        a.status,
        a.summary,
        a.diff,
    ])?;
    Ok(())
}

pub(super) fn insert_version(tx: &Transaction<'_>, v: &VersionRecord) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO versions (ts_ms, tenant, version, mode, policies) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        v.ts_ms as i64,
        v.tenant,
        v.version,
        v.mode,
        serde_json::to_string(&v.policies).unwrap_or_default(),
    ])?;
    Ok(())
}

/// Deletes events older than `cutoff_ms` and the oldest beyond `max_events`;
/// returns how many events went.
pub(crate) fn prune(conn: &Connection, cutoff_ms: u64, max_events: u64) -> rusqlite::Result<usize> {
    let mut deleted = conn.execute("DELETE FROM events WHERE ts_ms < ?1", [cutoff_ms as i64])?;
    let count: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    let excess = count - max_events as i64;
    if excess > 0 {
        deleted += conn.execute(
            "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?1)",
            [excess],
        )?;
    }
    if deleted > 0 {
        conn.execute(
            "DELETE FROM event_details WHERE id < (SELECT coalesce(min(id), 1 << 62) FROM events)",
            [],
        )?;
    }
    Ok(deleted)
}
