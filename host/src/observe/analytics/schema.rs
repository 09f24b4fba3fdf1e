//! The tables and the writer's statements.
//!
//! ```text
//! events         one row per decision: the columns the dashboard and the
//!                report filter, group and count by, the rule ids with their
//!                attack classes as a JSON array (`rules`, NULL when none
//!                fired), and method, status, mode and tenant version
//! detail_batches what the rows of one writer batch do not hold, as JSON,
//!                one line per event that has any (the deciding policy,
//!                findings, reason, errors, annotations), LZ4-compressed,
//!                under the first and last ids of those events; an event's
//!                `detail_at` is its line
//! event_details  the whole JSON of each event stored before layout 2
//! audit          one row per configuration change: who (token name), when, what
//! versions       one row per tenant version that started serving
//! ```
//!
//! Writing an event costs the writer two B-tree inserts, both at the right
//! edge (ids and times grow): the row and one index over time that carries
//! `tenant`, `blocked` and `eval_us` so that the series and latency
//! percentiles read the index alone; its detail, if any, goes into its
//! batch's one row. Everything else (top IPs, paths, countries, rules;
//! searches by IP, request id or rule) scans the time range the dashboard
//! asks for. The search puts each event's JSON back together from its row
//! and detail ([`super::logged`]).
//!
//! The writer's CPU per event is mostly bytes (copied into pages, checksummed
//! into the WAL, copied again at checkpoints) and B-tree inserts. The first
//! layout (`user_version` 0: every column in the row, per-IP and partial
//! indexes, a row per rule) cost more than twice what the second did; the
//! second (1: every event's whole JSON as its own detail row) about twice
//! what this one (2) does (docs/analytics.md, "Figures").

use super::audit::AuditRecord;
use super::classify::{class_of, event_class};
use super::versions::VersionRecord;
use crate::observe::events::DecisionEvent;
use rusqlite::{Connection, OpenFlags, Transaction, params};
use std::path::Path;

/// `PRAGMA user_version` of the current layout.
pub(super) const LAYOUT: i64 = 2;

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
    rules TEXT,
    method TEXT,
    status INTEGER,
    mode TEXT,
    version TEXT,
    detail_at INTEGER
);
CREATE INDEX IF NOT EXISTS events_time ON events(ts_ms, tenant, blocked, eval_us);
CREATE TABLE IF NOT EXISTS detail_batches (
    first_id INTEGER PRIMARY KEY,
    last_id INTEGER NOT NULL,
    details BLOB NOT NULL
);
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

/// Brings a store of an earlier layout to the current one, in one
/// transaction; its events keep their ids, JSON and rules:
/// - the second (`user_version` 1: every event's whole JSON in
///   `event_details`) gets the columns `method`, `status`, `mode`,
///   `version` and `detail_at`, NULL in its events: their details hold them
///   ([`super::logged`] reads both);
/// - the first (0: the JSON in `events.detail`, a row per rule in
///   `event_rules`, five indexes on `events`; the oldest also without
///   `country`) is copied into the current tables.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let column = |name: &str| {
        conn.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = ?1")?
            .exists([name])
    };
    if !column("detail")? {
        if column("id")? && !column("method")? {
            tracing::info!("analytics store: adding the columns of layout 2");
            conn.execute_batch(
                "BEGIN IMMEDIATE;
                 ALTER TABLE events ADD COLUMN method TEXT;
                 ALTER TABLE events ADD COLUMN status INTEGER;
                 ALTER TABLE events ADD COLUMN mode TEXT;
                 ALTER TABLE events ADD COLUMN version TEXT;
                 ALTER TABLE events ADD COLUMN detail_at INTEGER;
                 COMMIT;",
            )?;
        }
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
         INSERT INTO events ({columns}, country, rules, method, status, mode, version)
           SELECT {columns}, {country}, nullif({rules}, '[]'), method, status, mode,
             tenant_version FROM events_layout0 e;
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

/// What an event's JSON holds beyond its row: stored as its detail, and
/// only when not empty.
#[derive(serde::Serialize)]
struct Detail<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    would_deny: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    findings: &'a [crate::observe::events::LoggedFinding],
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    annotations: &'a [(String, String)],
}

impl<'a> Detail<'a> {
    /// `e`'s detail, None when it has nothing beyond the row (an allowed
    /// request that no policy reported on).
    fn of(e: &'a DecisionEvent) -> Option<Detail<'a>> {
        let d = Detail {
            policy: e.policy.as_deref(),
            would_deny: e.would_deny.as_deref(),
            findings: &e.findings,
            reason: e.reason.as_deref(),
            errors: &e.errors,
            annotations: &e.annotations,
        };
        let empty = d.policy.is_none()
            && d.would_deny.is_none()
            && d.findings.is_empty()
            && d.reason.is_none()
            && d.errors.is_empty()
            && d.annotations.is_empty();
        (!empty).then_some(d)
    }
}

/// One event as the writer stores it, made on the request's thread: its
/// detail and every other text column in one buffer. The writer frees that
/// one allocation instead of the event's dozen or more; freeing memory that
/// another thread allocated takes a lock in the allocator, and under an SQLi
/// flood those frees were a seventh of the writer's time.
pub(super) struct EventRow {
    /// detail, tenant, request_id, client_ip, path, action, class, country,
    /// rules, method, mode, version, one after the other (an empty detail,
    /// country, rules or version is NULL).
    buf: String,
    /// Where each of them ends in `buf`.
    ends: [usize; 12],
    ts_ms: i64,
    blocked: bool,
    eval_us: i64,
    status: u16,
}

impl EventRow {
    /// The row of `e`.
    pub(super) fn new(e: &DecisionEvent) -> EventRow {
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
            &e.method,
            e.mode,
            e.tenant_version.as_deref().unwrap_or(""),
        ];
        let size = texts.iter().map(|t| t.len()).sum();
        let mut buf = match Detail::of(e) {
            Some(d) => {
                let mut json = serde_json::to_string(&d).unwrap_or_default();
                json.reserve(size);
                json
            }
            None => String::with_capacity(size),
        };
        let mut ends = [buf.len(); 12];
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
            status: e.status,
        }
    }

    fn text(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    /// Text `i`, or None (NULL) when empty: a detail, country, rules list
    /// or version is never an empty string.
    fn optional(&self, i: usize) -> Option<&str> {
        Some(self.text(i)).filter(|t| !t.is_empty())
    }
}

/// The statements that store events, prepared once per batch, and the
/// batch's details.
pub(super) struct EventInserts<'tx> {
    row: rusqlite::CachedStatement<'tx>,
    batch: rusqlite::CachedStatement<'tx>,
    /// The details so far, one line each.
    details: Vec<u8>,
    lines: i64,
    /// Ids of the first and the last event with a detail.
    first_id: i64,
    last_id: i64,
}

impl<'tx> EventInserts<'tx> {
    pub(super) fn new(tx: &'tx Transaction<'_>) -> rusqlite::Result<Self> {
        Ok(EventInserts {
            row: tx.prepare_cached(
                "INSERT INTO events (ts_ms, tenant, request_id, client_ip, path, action, blocked,
                 class, eval_us, country, rules, method, status, mode, version, detail_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?,
            batch: tx.prepare_cached(
                "INSERT INTO detail_batches (first_id, last_id, details) VALUES (?1, ?2, ?3)",
            )?,
            details: Vec::new(),
            lines: 0,
            first_id: 0,
            last_id: 0,
        })
    }

    /// Stores `row`; its detail waits for [`EventInserts::finish`].
    pub(super) fn insert(&mut self, row: &EventRow) -> rusqlite::Result<()> {
        let detail = row.optional(0);
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
            row.text(9),
            row.status,
            row.text(10),
            row.optional(11),
            detail.map(|_| self.lines),
        ])?;
        if let Some(detail) = detail {
            if self.lines == 0 {
                self.first_id = id;
            }
            self.last_id = id;
            self.lines += 1;
            // JSON has no raw line breaks: they are escaped inside strings.
            self.details.extend_from_slice(detail.as_bytes());
            self.details.push(b'\n');
        }
        Ok(())
    }

    /// Stores the batch's details, if any, in one row (LZ4 block, its size
    /// prepended; [`super::logged`] unpacks it).
    pub(super) fn finish(mut self) -> rusqlite::Result<()> {
        if self.lines > 0 {
            let packed = lz4_flex::block::compress_prepend_size(&self.details);
            self.batch
                .execute(params![self.first_id, self.last_id, packed])?;
        }
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

/// Deletes events older than `cutoff_ms` and the oldest beyond `max_events`,
/// looking at no more than the `limit` lowest ids, in one transaction;
/// returns how many went.
///
/// Ids have no gaps but those retention made, so the newest `max_events`
/// are an id bound. Ids follow time only to within the few ms events wait in
/// the queue, so age is tested on each row of the window; a pass does
/// nothing when the oldest id is within the age and under the count (an
/// event a few ms older behind it goes once that one does). A pass costs a
/// few lookups by id when there is nothing to delete, and never scans the
/// table.
pub(crate) fn prune(
    conn: &Connection,
    cutoff_ms: u64,
    max_events: u64,
    limit: usize,
) -> rusqlite::Result<usize> {
    let (min_id, max_id): (Option<i64>, Option<i64>) =
        conn.query_row(PRUNE[0], [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (Some(min_id), Some(max_id)) = (min_id, max_id) else {
        return Ok(0);
    };
    let cutoff = i64::try_from(cutoff_ms).unwrap_or(i64::MAX);
    let by_count = max_id.saturating_sub(i64::try_from(max_events).unwrap_or(i64::MAX) - 1);
    let oldest: i64 = conn.query_row(PRUNE[1], [min_id], |r| r.get(0))?;
    if by_count <= min_id && oldest >= cutoff {
        return Ok(0);
    }
    let window = min_id.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX));
    let tx = conn.unchecked_transaction()?;
    let deleted = tx.execute(PRUNE[2], [window, by_count, cutoff])?;
    tx.execute(PRUNE[3], [])?;
    tx.execute(PRUNE[4], [])?;
    tx.commit()?;
    Ok(deleted)
}

/// [`prune`]'s statements: the id range (as two subqueries: SQLite finds a
/// lone `min()` or `max()` at the end of the B-tree, but `SELECT min(id),
/// max(id)` scans the whole table), the oldest event's time, the delete in
/// the window, and the details no remaining event points into. None scans a
/// table (`tests::retention_never_scans`).
pub(super) const PRUNE: [&str; 5] = [
    "SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)",
    "SELECT ts_ms FROM events WHERE id = ?1",
    "DELETE FROM events WHERE id < ?1 AND (id < ?2 OR ts_ms < ?3)",
    "DELETE FROM detail_batches WHERE first_id < (SELECT coalesce(min(id), 1 << 62) FROM events)
       AND last_id < (SELECT coalesce(min(id), 1 << 62) FROM events)",
    "DELETE FROM event_details WHERE id < (SELECT coalesce(min(id), 1 << 62) FROM events)",
];
