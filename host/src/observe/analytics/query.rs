//! The dashboard's queries: an overview of a time range (requests and blocked
//! over time, top rules, client IPs, paths, countries and attack classes, decision latency
//! percentiles, tenant versions) and a search over events.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

/// Which events: a time range, optionally one tenant.
#[derive(Debug, Clone, Default)]
pub struct Range {
    /// Tenant, or all.
    pub tenant: Option<String>,
    /// From, ms since the epoch (inclusive).
    pub from_ms: u64,
    /// To, ms since the epoch (exclusive).
    pub to_ms: u64,
}

impl Range {
    /// `WHERE` clause over `ts_ms` (and `tenant`) with its parameters.
    fn clause(&self) -> (String, Vec<Value>) {
        let mut sql = "ts_ms >= ? AND ts_ms < ?".to_string();
        let mut params = vec![
            Value::Integer(self.from_ms as i64),
            Value::Integer(self.to_ms as i64),
        ];
        if let Some(t) = &self.tenant {
            sql.push_str(" AND tenant = ?");
            params.push(Value::Text(t.clone()));
        }
        (sql, params)
    }
}

/// One bucket of the time series.
#[derive(Debug, Serialize, PartialEq)]
pub struct Bucket {
    /// Bucket start, ms since the epoch.
    pub t: u64,
    /// Requests.
    pub requests: u64,
    /// Requests blocked.
    pub blocked: u64,
}

/// A count by key.
#[derive(Debug, Serialize, PartialEq)]
pub struct Count {
    /// The key (rule id, IP, path, class).
    pub key: String,
    /// Attack class, for rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// How many.
    pub count: u64,
}

/// Everything the overview page shows.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// Bucket width, ms.
    pub bucket_ms: u64,
    /// Requests and blocked per bucket (empty buckets left out).
    pub series: Vec<Bucket>,
    /// Requests in the range.
    pub requests: u64,
    /// Blocked in the range.
    pub blocked: u64,
    /// Rules that fired most.
    pub top_rules: Vec<Count>,
    /// Client IPs with the most blocked requests.
    pub top_ips: Vec<Count>,
    /// Paths with the most blocked requests.
    pub top_paths: Vec<Count>,
    /// Client countries (ISO 3166-1 alpha-2) with the most blocked requests;
    /// events without a known country are left out.
    pub top_countries: Vec<Count>,
    /// Blocked requests per attack class.
    pub classes: Vec<Count>,
    /// Time in policies: p50, p90, p99, max (µs).
    pub latency_us: [u64; 4],
    /// Tenant versions that started serving in the range.
    pub versions: Vec<serde_json::Value>,
}

/// A bucket width giving about 60 buckets over the range (at least a second).
pub fn bucket_for(range: &Range) -> u64 {
    let span = range.to_ms.saturating_sub(range.from_ms).max(1);
    let steps = [
        1_000u64, 10_000, 60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000,
    ];
    steps
        .iter()
        .copied()
        .find(|s| span / s <= 120)
        .unwrap_or(86_400_000)
}

fn counts(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    with_class: bool,
) -> rusqlite::Result<Vec<Count>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        Ok(Count {
            key: r.get(0)?,
            class: if with_class { Some(r.get(1)?) } else { None },
            count: r.get::<_, i64>(if with_class { 2 } else { 1 })? as u64,
        })
    })?;
    rows.collect()
}

/// The overview of `range`.
pub fn overview(conn: &Connection, range: &Range) -> rusqlite::Result<Overview> {
    let (w, p) = range.clause();
    let bucket_ms = bucket_for(range);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT (ts_ms / {bucket_ms}) * {bucket_ms} AS b, count(*), sum(blocked)
         FROM events WHERE {w} GROUP BY b ORDER BY b"
    ))?;
    let series: Vec<Bucket> = stmt
        .query_map(params_from_iter(p.iter()), |r| {
            Ok(Bucket {
                t: r.get::<_, i64>(0)? as u64,
                requests: r.get::<_, i64>(1)? as u64,
                blocked: r.get::<_, i64>(2)? as u64,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let requests = series.iter().map(|b| b.requests).sum();
    let blocked = series.iter().map(|b| b.blocked).sum();
    let top_rules = counts(
        conn,
        &format!(
            "SELECT r.value ->> 0 AS rule, min(r.value ->> 1), count(*) AS n
             FROM events, json_each(events.rules) AS r WHERE {w} AND rules IS NOT NULL
             GROUP BY rule ORDER BY n DESC, rule LIMIT 10"
        ),
        &p,
        true,
    )?;
    let blocked_w = format!("{w} AND blocked = 1");
    let top_ips = counts(
        conn,
        &format!(
            "SELECT client_ip, count(*) AS n FROM events WHERE {blocked_w} GROUP BY client_ip ORDER BY n DESC, client_ip LIMIT 10"
        ),
        &p,
        false,
    )?;
    let top_paths = counts(
        conn,
        &format!(
            "SELECT path, count(*) AS n FROM events WHERE {blocked_w} GROUP BY path ORDER BY n DESC, path LIMIT 10"
        ),
        &p,
        false,
    )?;
    let top_countries = counts(
        conn,
        &format!(
            "SELECT country, count(*) AS n FROM events WHERE {blocked_w} AND country IS NOT NULL GROUP BY country ORDER BY n DESC, country LIMIT 10"
        ),
        &p,
        false,
    )?;
    let classes = counts(
        conn,
        &format!(
            "SELECT class, count(*) AS n FROM events WHERE {blocked_w} AND class != '' GROUP BY class ORDER BY n DESC, class"
        ),
        &p,
        false,
    )?;
    Ok(Overview {
        bucket_ms,
        series,
        requests,
        blocked,
        top_rules,
        top_ips,
        top_paths,
        top_countries,
        classes,
        latency_us: latency(conn, &w, &p)?,
        versions: versions_in(conn, range)?,
    })
}

fn latency(conn: &Connection, w: &str, p: &[Value]) -> rusqlite::Result<[u64; 4]> {
    let mut stmt = conn.prepare_cached(&format!("SELECT eval_us FROM events WHERE {w}"))?;
    let mut all: Vec<u64> = stmt
        .query_map(params_from_iter(p.iter()), |r| {
            Ok(r.get::<_, i64>(0)? as u64)
        })?
        .collect::<rusqlite::Result<_>>()?;
    if all.is_empty() {
        return Ok([0; 4]);
    }
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Ok([at(0.5), at(0.9), at(0.99), all[all.len() - 1]])
}

/// Versions that started serving in the range (and the one serving at its start).
pub fn versions_in(conn: &Connection, range: &Range) -> rusqlite::Result<Vec<serde_json::Value>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts_ms, tenant, version, mode, policies FROM versions
         WHERE ts_ms < ?2 AND (?3 IS NULL OR tenant = ?3)
           AND (ts_ms >= ?1 OR id IN (SELECT max(id) FROM versions WHERE ts_ms < ?1 GROUP BY tenant))
         ORDER BY ts_ms, id",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![range.from_ms as i64, range.to_ms as i64, range.tenant],
        |r| {
            let policies: String = r.get(4)?;
            Ok(serde_json::json!({
                "ts_ms": r.get::<_, i64>(0)?,
                "tenant": r.get::<_, String>(1)?,
                "version": r.get::<_, String>(2)?,
                "mode": r.get::<_, String>(3)?,
                "policies": serde_json::from_str::<serde_json::Value>(&policies).unwrap_or_default(),
            }))
        },
    )?;
    rows.collect()
}

/// What the event list searches by.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Time range and tenant.
    pub range: Range,
    /// A rule id that fired.
    pub rule_id: Option<String>,
    /// Client IP.
    pub client_ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Only blocked requests.
    pub blocked_only: bool,
    /// At most this many, newest first.
    pub limit: usize,
}

/// Events matching `search`, newest first, each the logged JSON.
pub fn search(conn: &Connection, search: &Search) -> rusqlite::Result<Vec<serde_json::Value>> {
    let (mut w, mut p) = search.range.clause();
    if let Some(ip) = &search.client_ip {
        w.push_str(" AND client_ip = ?");
        p.push(Value::Text(ip.clone()));
    }
    if let Some(id) = &search.request_id {
        w.push_str(" AND request_id = ?");
        p.push(Value::Text(id.clone()));
    }
    if let Some(rule) = &search.rule_id {
        w.push_str(
            " AND rules IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(events.rules) AS r WHERE r.value ->> 0 = ?)",
        );
        p.push(Value::Text(rule.clone()));
    }
    if search.blocked_only {
        w.push_str(" AND blocked = 1");
    }
    p.push(Value::Integer(search.limit.clamp(1, 1000) as i64));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT class, blocked, {} FROM events WHERE {w} ORDER BY ts_ms DESC, id DESC LIMIT ?",
        super::logged::columns()
    ))?;
    let mut details = super::logged::Details::new(conn);
    let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
        let mut o = super::logged::json(r, 2, &mut details)?;
        o.insert("class".into(), r.get::<_, String>(0)?.into());
        o.insert("blocked".into(), (r.get::<_, i64>(1)? == 1).into());
        Ok(serde_json::Value::Object(o))
    })?;
    rows.collect()
}
