//! The compliance report of one tenant over a time range: the rules and
//! versions in force each day, every configuration change with the token that
//! made it, blocked attacks per class, mode changes and gaps in coverage, and
//! the PCI DSS 4.0 requirements it gives evidence for.

use super::query::{Range, versions_in};
use rusqlite::Connection;
use serde::Serialize;

const DAY_MS: u64 = 86_400_000;

/// One UTC day of the report.
#[derive(Debug, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Versions in force during the day (the one serving at its start, then any applied in it).
    pub versions: Vec<serde_json::Value>,
    /// Requests seen.
    pub requests: u64,
    /// Requests blocked.
    pub blocked: u64,
}

/// A PCI DSS 4.0 requirement and what in this report bears on it.
#[derive(Debug, Serialize)]
pub struct Evidence {
    /// Requirement number.
    pub requirement: &'static str,
    /// What the report shows for it.
    pub evidence: &'static str,
}

/// The report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Tenant.
    pub tenant: String,
    /// From, ms since the epoch.
    pub from_ms: u64,
    /// To, ms since the epoch.
    pub to_ms: u64,
    /// Per day.
    pub days: Vec<Day>,
    /// Configuration changes (audit records) of this tenant, and of the
    /// shared IP lists, in the range.
    pub changes: Vec<serde_json::Value>,
    /// Blocked requests per attack class.
    pub blocked_by_class: Vec<super::query::Count>,
    /// Requests blocked in all.
    pub blocked: u64,
    /// Requests in all.
    pub requests: u64,
    /// Mode changes: `{ts_ms, from, to, version}`.
    pub mode_changes: Vec<serde_json::Value>,
    /// Gaps in coverage, each a sentence.
    pub gaps: Vec<String>,
    /// PCI DSS 4.0 requirements this report gives evidence for.
    pub pci_dss: Vec<Evidence>,
    /// Requirements it does not cover, said so.
    pub not_covered: Vec<&'static str>,
}

/// `YYYY-MM-DD` of a time in ms.
pub fn date_of(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_string()
}

fn day_counts(conn: &Connection, tenant: &str, from: u64, to: u64) -> rusqlite::Result<(u64, u64)> {
    conn.query_row(
        "SELECT count(*), coalesce(sum(blocked), 0) FROM events WHERE tenant = ?1 AND ts_ms >= ?2 AND ts_ms < ?3",
        rusqlite::params![tenant, from as i64, to as i64],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
}

fn changes(conn: &Connection, range: &Range) -> rusqlite::Result<Vec<serde_json::Value>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts_ms, token, scope, method, path, tenant, kind, status, summary, diff FROM audit
         WHERE ts_ms >= ?1 AND ts_ms < ?2 AND (tenant = ?3 OR tenant IS NULL) ORDER BY ts_ms, id",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![range.from_ms as i64, range.to_ms as i64, range.tenant],
        |r| {
            Ok(serde_json::json!({
                "ts_ms": r.get::<_, i64>(0)?, "token": r.get::<_, String>(1)?,
                "scope": r.get::<_, String>(2)?, "method": r.get::<_, String>(3)?,
                "path": r.get::<_, String>(4)?, "tenant": r.get::<_, Option<String>>(5)?,
                "kind": r.get::<_, String>(6)?, "status": r.get::<_, i64>(7)?,
                "summary": r.get::<_, String>(8)?, "diff": r.get::<_, String>(9)?,
            }))
        },
    )?;
    rows.collect()
}

/// Builds the report of `tenant` over `[from_ms, to_ms)`.
pub fn compliance(
    conn: &Connection,
    tenant: &str,
    from_ms: u64,
    to_ms: u64,
) -> rusqlite::Result<Report> {
    let range = Range {
        tenant: Some(tenant.to_string()),
        from_ms,
        to_ms,
    };
    let mut days = Vec::new();
    let mut start = from_ms - from_ms % DAY_MS;
    while start < to_ms && days.len() < 400 {
        let (a, b) = (start.max(from_ms), (start + DAY_MS).min(to_ms));
        let day_range = Range {
            tenant: range.tenant.clone(),
            from_ms: a,
            to_ms: b,
        };
        let (requests, blocked) = day_counts(conn, tenant, a, b)?;
        days.push(Day {
            date: date_of(a),
            versions: versions_in(conn, &day_range)?,
            requests,
            blocked,
        });
        start += DAY_MS;
    }
    let blocked_by_class = conn
        .prepare_cached(
            "SELECT CASE class WHEN '' THEN 'unclassified' ELSE class END AS c, count(*) AS n FROM events
             WHERE tenant = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 AND blocked = 1 GROUP BY c ORDER BY n DESC, c",
        )?
        .query_map(rusqlite::params![tenant, from_ms as i64, to_ms as i64], |r| {
            Ok(super::query::Count { key: r.get(0)?, class: None, count: r.get::<_, i64>(1)? as u64 })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (requests, blocked) = day_counts(conn, tenant, from_ms, to_ms)?;
    let versions = versions_in(conn, &range)?;
    let mode_changes = mode_changes(&versions);
    let errors: i64 = conn.query_row(
        "SELECT count(*) FROM events WHERE tenant = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 AND action = 'error'",
        rusqlite::params![tenant, from_ms as i64, to_ms as i64],
        |r| r.get(0),
    )?;
    let gaps = gaps(&versions, from_ms, to_ms, errors as u64);
    Ok(Report {
        tenant: tenant.to_string(),
        from_ms,
        to_ms,
        days,
        changes: changes(conn, &range)?,
        blocked_by_class,
        blocked,
        requests,
        mode_changes,
        gaps,
        pci_dss: evidence(),
        not_covered: vec![
            "11.6.1 (change and tamper detection of payment pages as the browser receives them): edgewaf does not watch page scripts or security headers, so this report gives no evidence for it.",
        ],
    })
}

fn mode_changes(versions: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for pair in versions.windows(2) {
        let (a, b) = (&pair[0]["mode"], &pair[1]["mode"]);
        if a != b {
            out.push(serde_json::json!({
                "ts_ms": pair[1]["ts_ms"], "from": a, "to": b, "version": pair[1]["version"],
            }));
        }
    }
    out
}

/// Periods without protection: before the first version, in detect mode, and
/// policy errors.
fn gaps(versions: &[serde_json::Value], from_ms: u64, to_ms: u64, errors: u64) -> Vec<String> {
    let mut out = Vec::new();
    match versions.first().and_then(|v| v["ts_ms"].as_u64()) {
        None => out.push("no version of this tenant served in the range".to_string()),
        Some(first) if first > from_ms => out.push(format!(
            "no recorded version before {} (the tenant was not served, or the store was not on)",
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(first)
            )
        )),
        _ => {}
    }
    for (i, v) in versions.iter().enumerate() {
        if v["mode"] == "detect" {
            let since = v["ts_ms"].as_u64().unwrap_or(from_ms).max(from_ms);
            let until = versions
                .get(i + 1)
                .and_then(|n| n["ts_ms"].as_u64())
                .unwrap_or(to_ms);
            out.push(format!(
                "detect mode (attacks logged, not blocked) for {} min from version {}",
                until.saturating_sub(since) / 60_000,
                v["version"].as_str().unwrap_or("?")
            ));
        }
    }
    if errors > 0 {
        out.push(format!(
            "{errors} requests met a policy error (trap, deadline or memory limit)"
        ));
    }
    out
}

fn evidence() -> Vec<Evidence> {
    vec![
        Evidence {
            requirement: "6.4.1",
            evidence: "public-facing web application behind an automated technical solution that detects and prevents web-based attacks: the rules in force each day and the attacks blocked",
        },
        Evidence {
            requirement: "6.4.2",
            evidence: "the solution runs in front of the application, in blocking mode (mode changes and detect-mode periods listed), with its rule versions recorded per day and every decision logged",
        },
        Evidence {
            requirement: "10.2",
            evidence: "audit records of administrative actions on the WAF: who (the admin token's name), what (method, path, diff), when, and the outcome",
        },
    ]
}
