//! The store end to end in one process: events in, queries and the report out,
//! reopening keeps them, retention deletes, a full queue drops and counts.

use super::*;
use crate::observe::events::{DecisionEvent, LoggedFinding};
use prometheus_client::metrics::counter::Counter;

/// An event at `ts_ms`; `rule` set makes it a blocked SQLi.
pub(crate) fn event(ts_ms: u64, tenant: &str, ip: &str, rule: Option<&str>) -> DecisionEvent {
    let ts = humantime::format_rfc3339_millis(UNIX + Duration::from_millis(ts_ms)).to_string();
    DecisionEvent {
        ts,
        request_id: format!("r{ts_ms}{ip}"),
        tenant: tenant.into(),
        tenant_version: Some("abc123".into()),
        client_ip: ip.into(),
        country: None,
        method: "GET".into(),
        path: if rule.is_some() {
            "/products".into()
        } else {
            "/".into()
        },
        action: if rule.is_some() { "deny" } else { "allow" },
        status: if rule.is_some() { 403 } else { 200 },
        mode: "block",
        policy: rule.map(|_| "signatures".into()),
        would_deny: None,
        rule_ids: rule.iter().map(|r| r.to_string()).collect(),
        findings: rule
            .iter()
            .map(|r| LoggedFinding {
                policy: "signatures".into(),
                rule_id: r.to_string(),
                message: "SQL injection".into(),
                severity: "critical",
                tags: vec!["attack-sqli".into()],
                data: "' OR 1=1".into(),
            })
            .collect(),
        reason: None,
        errors: vec![],
        annotations: vec![],
        eval_us: ts_ms % 1000,
    }
}

const UNIX: std::time::SystemTime = std::time::UNIX_EPOCH;
/// 2026-12-01T00:00:00Z.
const DAY: u64 = 1_796_083_200_000;

fn open(dir: &Path) -> Analytics {
    Analytics::open(
        &dir.join("a.db"),
        &AnalyticsConfig::default(),
        Counter::default(),
    )
    .unwrap()
}

#[test]
fn events_are_queried_and_survive_reopening() {
    let d = tempfile::tempdir().unwrap();
    let a = open(d.path());
    for i in 0..10 {
        a.record(Arc::new(event(DAY + i * 1000, "shop", "10.0.0.1", None)));
    }
    a.record(Arc::new(event(
        DAY + 20_000,
        "shop",
        "203.0.113.9",
        Some("sig-sqli-1"),
    )));
    a.record(Arc::new(event(
        DAY + 21_000,
        "other",
        "203.0.113.9",
        Some("sig-sqli-2"),
    )));
    assert!(a.flush(Duration::from_secs(5)));
    assert_eq!(a.written(), 12);
    drop(a);
    let a = open(d.path());
    let range = query::Range {
        tenant: Some("shop".into()),
        from_ms: DAY,
        to_ms: DAY + 60_000,
    };
    let o = a.read(|c| query::overview(c, &range)).unwrap();
    assert_eq!((o.requests, o.blocked), (11, 1));
    assert_eq!(o.top_rules[0].key, "sig-sqli-1");
    assert_eq!(o.top_rules[0].class.as_deref(), Some("sqli"));
    assert_eq!(o.top_ips[0].key, "203.0.113.9");
    assert_eq!(o.classes[0].key, "sqli");
    let search = query::Search {
        range: query::Range {
            tenant: None,
            from_ms: DAY,
            to_ms: DAY + 60_000,
        },
        client_ip: Some("203.0.113.9".into()),
        limit: 10,
        ..Default::default()
    };
    let found = a.read(|c| query::search(c, &search)).unwrap();
    assert_eq!(found.len(), 2, "both tenants' events of that IP");
    assert_eq!(found[0]["tenant"], "other", "newest first");
    assert_eq!(found[1]["findings"][0]["rule_id"], "sig-sqli-1");
    let by_rule = query::Search {
        rule_id: Some("sig-sqli-2".into()),
        ..search
    };
    assert_eq!(a.read(|c| query::search(c, &by_rule)).unwrap().len(), 1);
}

/// Searches one event by its request id; its JSON without the store's
/// `class` and `blocked`.
fn logged(a: &Analytics, request_id: &str) -> serde_json::Value {
    let found = a
        .read(|c| {
            query::search(
                c,
                &query::Search {
                    range: query::Range {
                        tenant: None,
                        from_ms: DAY,
                        to_ms: DAY + 60_000,
                    },
                    request_id: Some(request_id.into()),
                    limit: 10,
                    ..Default::default()
                },
            )
        })
        .unwrap();
    assert_eq!(found.len(), 1, "{request_id}");
    let mut v = found.into_iter().next().unwrap();
    let o = v.as_object_mut().unwrap();
    assert!(o.remove("class").is_some() && o.remove("blocked").is_some());
    v
}

#[test]
fn the_event_list_gives_back_each_event_as_logged() {
    let d = tempfile::tempdir().unwrap();
    let a = open(d.path());
    let benign = event(DAY + 1, "shop", "10.0.0.1", None);
    let mut sqli = event(DAY + 2, "shop", "203.0.113.9", Some("sig-sqli-1"));
    sqli.country = Some("NL".into());
    let mut detect = event(DAY + 3, "api", "203.0.113.9", Some("942100"));
    detect.mode = "detect";
    detect.action = "allow";
    detect.status = 200;
    detect.policy = None;
    detect.would_deny = Some("crs".into());
    detect.reason = Some("anomaly score 5".into());
    let mut failed = event(DAY + 4, "api", "10.0.0.2", None);
    failed.tenant_version = None;
    failed.method = "POST".into();
    failed.action = "error";
    failed.status = 503;
    failed.policy = Some("auth".into());
    failed.errors = vec!["auth: deadline exceeded".into()];
    failed.annotations = vec![("user".into(), "u-1".into())];
    let events = [benign, sqli, detect, failed];
    // Two writer batches (a flush ends one).
    for (i, e) in events.iter().enumerate() {
        a.record(e);
        if i == 1 {
            assert!(a.flush(Duration::from_secs(5)));
        }
    }
    assert!(a.flush(Duration::from_secs(5)));
    for e in &events {
        assert_eq!(logged(&a, &e.request_id), serde_json::to_value(e).unwrap());
    }
    let count = |sql: &str| -> i64 { a.read(|c| c.query_row(sql, [], |r| r.get(0))).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM events WHERE detail_at IS NOT NULL"),
        3,
        "no detail for the allowed request without findings"
    );
    assert_eq!(count("SELECT count(*) FROM detail_batches"), 2);
}

#[test]
fn a_damaged_batch_of_details_leaves_its_events_listed_without_them() {
    let d = tempfile::tempdir().unwrap();
    let a = open(d.path());
    let e = event(DAY + 1, "shop", "203.0.113.9", Some("sig-sqli-1"));
    a.record(&e);
    assert!(a.flush(Duration::from_secs(5)));
    let conn = schema::open(&d.path().join("a.db"), 64, 1024).unwrap();
    // A size prefix of 4 GiB, then garbage.
    conn.execute(
        "UPDATE detail_batches SET details = x'ffffffff0102030405'",
        [],
    )
    .unwrap();
    let listed = logged(&a, &e.request_id);
    assert_eq!(listed["request_id"], e.request_id.as_str());
    assert_eq!(listed["status"], 403);
    assert!(listed.get("findings").is_none());
    conn.execute("UPDATE detail_batches SET details = x'0400000001'", [])
        .unwrap();
    assert!(logged(&a, &e.request_id).get("findings").is_none());
}

/// The second layout (`user_version` 1): every event's whole JSON in
/// `event_details`, no method, status, mode or version columns.
const LAYOUT_1: &str = "
CREATE TABLE events (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, tenant TEXT NOT NULL,
    request_id TEXT NOT NULL, client_ip TEXT NOT NULL, path TEXT NOT NULL, action TEXT NOT NULL,
    blocked INTEGER NOT NULL, class TEXT NOT NULL, eval_us INTEGER NOT NULL, country TEXT,
    rules TEXT);
CREATE INDEX events_time ON events(ts_ms, tenant, blocked, eval_us);
CREATE TABLE event_details (id INTEGER PRIMARY KEY, detail TEXT NOT NULL);
PRAGMA user_version = 1;
";

#[test]
fn a_store_of_the_second_layout_gets_the_new_columns() {
    let d = tempfile::tempdir().unwrap();
    let old = event(DAY + 1, "shop", "203.0.113.9", Some("sig-sqli-1"));
    {
        let c = Connection::open(d.path().join("a.db")).unwrap();
        c.execute_batch(LAYOUT_1).unwrap();
        c.execute(
            "INSERT INTO events VALUES (1, ?1, 'shop', ?2, '203.0.113.9', '/products', 'deny',
               1, 'sqli', ?3, NULL, '[[\"sig-sqli-1\",\"sqli\"]]')",
            rusqlite::params![(DAY + 1) as i64, old.request_id, old.eval_us as i64],
        )
        .unwrap();
        c.execute(
            "INSERT INTO event_details VALUES (1, ?1)",
            [serde_json::to_string(&old).unwrap()],
        )
        .unwrap();
    }
    let a = open(d.path());
    let new = event(DAY + 2, "shop", "10.0.0.1", None);
    a.record(&new);
    assert!(a.flush(Duration::from_secs(5)));
    assert_eq!(
        logged(&a, &old.request_id),
        serde_json::to_value(&old).unwrap()
    );
    assert_eq!(
        logged(&a, &new.request_id),
        serde_json::to_value(&new).unwrap()
    );
    let range = query::Range {
        tenant: None,
        from_ms: DAY,
        to_ms: DAY + 60_000,
    };
    let o = a.read(|c| query::overview(c, &range)).unwrap();
    assert_eq!((o.requests, o.blocked), (2, 1));
    drop(a);
    let version: i64 = Connection::open(d.path().join("a.db"))
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::LAYOUT);
}

#[test]
fn retention_deletes_by_age_and_count() {
    let d = tempfile::tempdir().unwrap();
    let a = open(d.path());
    // Two writer batches (a flush ends one): events 0-3, then 4-9.
    for i in 0..10 {
        a.record(Arc::new(event(
            DAY + i * 1000,
            "shop",
            "10.0.0.1",
            Some("sig-sqli-1"),
        )));
        if i == 3 {
            assert!(a.flush(Duration::from_secs(5)));
        }
    }
    assert!(a.flush(Duration::from_secs(5)));
    let conn = schema::open(&d.path().join("a.db"), 64, 1024).unwrap();
    let batches = || -> i64 {
        conn.query_row("SELECT count(*) FROM detail_batches", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(batches(), 2);
    assert_eq!(
        schema::prune(&conn, DAY + 2000, 100, 1000).unwrap(),
        2,
        "two older than the cutoff"
    );
    assert_eq!(batches(), 2, "the first batch still holds events 2 and 3");
    assert_eq!(
        schema::prune(&conn, 0, 5, 1).unwrap(),
        1,
        "one at a time: three over"
    );
    assert_eq!(schema::prune(&conn, 0, 5, 1000).unwrap(), 2, "down to five");
    assert_eq!(schema::prune(&conn, 0, 5, 1000).unwrap(), 0);
    let left: Vec<i64> = conn
        .prepare("SELECT ts_ms FROM events ORDER BY ts_ms")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        left,
        (5..10).map(|i| (DAY + i * 1000) as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        batches(),
        1,
        "the first batch's details went with its events"
    );
    let kept = logged(&a, &event(DAY + 5000, "shop", "10.0.0.1", None).request_id);
    assert_eq!(kept["findings"][0]["rule_id"], "sig-sqli-1");
    assert_eq!(schema::prune(&conn, u64::MAX, 5, usize::MAX).unwrap(), 5);
    assert_eq!(batches(), 0);
}

#[test]
fn retention_keeps_events_within_the_age_whatever_their_order() {
    let d = tempfile::tempdir().unwrap();
    let a = open(d.path());
    // Ids in arrival order, times not: the same ms, and one earlier.
    for ts in [DAY + 5, DAY + 5, DAY + 3, DAY + 6] {
        a.record(Arc::new(event(ts, "shop", "10.0.0.1", Some("sig-sqli-1"))));
    }
    assert!(a.flush(Duration::from_secs(5)));
    let conn = schema::open(&d.path().join("a.db"), 64, 1024).unwrap();
    assert_eq!(schema::prune(&conn, DAY + 3, 100, 1000).unwrap(), 0);
    assert_eq!(schema::prune(&conn, DAY, 4, 1000).unwrap(), 0);
    assert_eq!(schema::prune(&conn, DAY + 6, 100, 1000).unwrap(), 3);
}

#[test]
fn retention_never_scans() {
    let d = tempfile::tempdir().unwrap();
    let conn = schema::open(&d.path().join("a.db"), 64, 1024).unwrap();
    for sql in schema::PRUNE {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let params = rusqlite::params_from_iter(std::iter::repeat_n(1, stmt.parameter_count()));
        let plan: Vec<String> = stmt
            .query_map(params, |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(
            plan.iter()
                .all(|step| !step.starts_with("SCAN") || step == "SCAN CONSTANT ROW"),
            "{sql}: {plan:?}"
        );
    }
    // What the first statement replaced: the check sees a scan.
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT min(id), max(id) FROM events",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.starts_with("SCAN"), "{plan}");
}

#[test]
fn a_full_queue_drops_and_counts_without_waiting() {
    let (tx, _rx) = std::sync::mpsc::sync_channel(2);
    let dropped = Counter::default();
    let a = Analytics {
        tx,
        path: "unused".into(),
        dropped: dropped.clone(),
        written: Arc::new(AtomicU64::new(0)),
        reader: Arc::new(Mutex::new(None)),
    };
    for i in 0..5 {
        a.record(Arc::new(event(DAY + i, "shop", "10.0.0.1", None)));
    }
    assert_eq!(
        dropped.get(),
        3,
        "nobody drains the queue: 2 queued, 3 dropped"
    );
    assert_eq!(a.dropped(), 3);
}

#[test]
fn compliance_report_counts_versions_and_changes() {
    let d = tempfile::tempdir().unwrap();
    let a = open(d.path());
    let policies = vec![versions::PolicyInfo {
        name: "crs".into(),
        module: "crs".into(),
        sha256: Some("0123456789ab".into()),
        rule_sets: vec!["crs/v4.28.0".into()],
    }];
    let v = |ts_ms, version: &str, mode: &str| versions::VersionRecord {
        ts_ms,
        tenant: "shop".into(),
        version: version.into(),
        mode: mode.into(),
        policies: policies.clone(),
    };
    a.version(v(DAY - 5000, "v1", "block"));
    a.version(v(DAY + 3_600_000, "v2", "detect"));
    a.audit(audit::AuditRecord {
        ts_ms: DAY + 3_600_000,
        token: "ops".into(),
        scope: "admin".into(),
        method: "PUT".into(),
        path: "/api/tenants/shop".into(),
        tenant: Some("shop".into()),
        kind: "mode-change".into(),
        status: 200,
        summary: "mode block → detect".into(),
        diff: "@@ line 3\n+mode = \"detect\"\n-mode = \"block\"\n".into(),
    });
    for i in 0..3 {
        a.record(Arc::new(event(
            DAY + 60_000 + i,
            "shop",
            "203.0.113.9",
            Some("sig-sqli-1"),
        )));
    }
    a.record(Arc::new(event(DAY + 70_000, "shop", "10.0.0.1", None)));
    assert!(a.flush(Duration::from_secs(5)));
    let r = a
        .read(|c| report::compliance(c, "shop", DAY, DAY + 86_400_000))
        .unwrap();
    assert_eq!((r.requests, r.blocked), (4, 3));
    assert_eq!(r.blocked_by_class[0].key, "sqli");
    assert_eq!(r.blocked_by_class[0].count, 3);
    assert_eq!(r.days.len(), 1);
    assert_eq!(r.days[0].date, "2026-12-01");
    let versions: Vec<&str> = r.days[0]
        .versions
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        ["v1", "v2"],
        "the one serving at the start, then the new one"
    );
    assert_eq!(
        r.days[0].versions[0]["policies"][0]["rule_sets"][0],
        "crs/v4.28.0"
    );
    assert_eq!(r.changes.len(), 1);
    assert_eq!(r.changes[0]["token"], "ops");
    assert_eq!(r.mode_changes.len(), 1);
    assert!(
        r.gaps.iter().any(|g| g.contains("detect mode")),
        "{:?}",
        r.gaps
    );
    let reqs: Vec<&str> = r.pci_dss.iter().map(|e| e.requirement).collect();
    assert_eq!(reqs, ["6.4.1", "6.4.2", "10.2"]);
}

fn with_country(mut e: DecisionEvent, cc: &str) -> Arc<DecisionEvent> {
    e.country = Some(cc.into());
    Arc::new(e)
}

#[test]
fn top_countries_per_tenant_and_overall() {
    let d = tempfile::tempdir().unwrap();
    let a = open(d.path());
    let sqli = Some("sig-sqli-1");
    for i in 0..3 {
        a.record(with_country(
            event(DAY + i, "shop", "198.51.100.1", sqli),
            "NL",
        ));
    }
    a.record(with_country(
        event(DAY + 10, "shop", "192.0.2.1", sqli),
        "BR",
    ));
    for i in 0..5 {
        a.record(with_country(
            event(DAY + 20 + i, "api", "192.0.2.2", sqli),
            "BR",
        ));
    }
    // Allowed requests and unknown countries do not count.
    a.record(with_country(
        event(DAY + 30, "shop", "10.0.0.1", None),
        "DE",
    ));
    a.record(Arc::new(event(DAY + 31, "shop", "10.0.0.2", sqli)));
    assert!(a.flush(Duration::from_secs(5)));
    let top = |tenant: Option<&str>| {
        let range = query::Range {
            tenant: tenant.map(str::to_string),
            from_ms: DAY,
            to_ms: DAY + 60_000,
        };
        let o = a.read(|c| query::overview(c, &range)).unwrap();
        o.top_countries
            .iter()
            .map(|c| (c.key.clone(), c.count))
            .collect::<Vec<_>>()
    };
    let pair = |k: &str, n| (k.to_string(), n);
    assert_eq!(top(None), [pair("BR", 6), pair("NL", 3)]);
    assert_eq!(top(Some("shop")), [pair("NL", 3), pair("BR", 1)]);
    assert_eq!(top(Some("api")), [pair("BR", 5)]);
}

#[test]
fn a_store_without_the_country_column_is_migrated() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("a.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,
               tenant TEXT NOT NULL, request_id TEXT NOT NULL, client_ip TEXT NOT NULL,
               method TEXT NOT NULL, path TEXT NOT NULL, action TEXT NOT NULL,
               status INTEGER NOT NULL, mode TEXT NOT NULL, blocked INTEGER NOT NULL,
               policy TEXT, would_deny TEXT, rule_ids TEXT NOT NULL, class TEXT NOT NULL,
               eval_us INTEGER NOT NULL, tenant_version TEXT, detail TEXT NOT NULL);
             INSERT INTO events (ts_ms, tenant, request_id, client_ip, method, path, action,
               status, mode, blocked, rule_ids, class, eval_us, detail)
             VALUES (1796083200001, 'shop', 'old', '192.0.2.9', 'GET', '/', 'deny', 403,
               'block', 1, 'x', 'sqli', 5, '{}');",
        )
        .unwrap();
    }
    let a = open(d.path());
    a.record(with_country(
        event(DAY + 5, "shop", "192.0.2.9", Some("x")),
        "FR",
    ));
    assert!(a.flush(Duration::from_secs(5)));
    let range = query::Range {
        tenant: None,
        from_ms: DAY,
        to_ms: DAY + 60_000,
    };
    let o = a.read(|c| query::overview(c, &range)).unwrap();
    assert_eq!(o.blocked, 2, "the old event is still there");
    assert_eq!(o.top_countries.len(), 1);
    assert_eq!(
        (o.top_countries[0].key.as_str(), o.top_countries[0].count),
        ("FR", 1)
    );
    drop(a);
    let a = open(d.path());
    assert_eq!(
        a.read(|c| query::overview(c, &range)).unwrap().blocked,
        2,
        "reopened"
    );
}

/// The first layout's events and rule rows, as edgewaf wrote them before
/// `user_version` 1.
const LAYOUT_0: &str = "
CREATE TABLE events (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, tenant TEXT NOT NULL,
    request_id TEXT NOT NULL, client_ip TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    action TEXT NOT NULL, status INTEGER NOT NULL, mode TEXT NOT NULL, blocked INTEGER NOT NULL,
    policy TEXT, would_deny TEXT, rule_ids TEXT NOT NULL, class TEXT NOT NULL,
    eval_us INTEGER NOT NULL, tenant_version TEXT, detail TEXT NOT NULL, country TEXT);
CREATE INDEX events_time ON events(ts_ms, blocked, eval_us);
CREATE INDEX events_tenant_time ON events(tenant, ts_ms, blocked, eval_us);
CREATE INDEX events_blocked_time ON events(ts_ms) WHERE blocked = 1;
CREATE INDEX events_blocked_tenant_time ON events(tenant, ts_ms) WHERE blocked = 1;
CREATE INDEX events_ip ON events(client_ip, ts_ms);
CREATE TABLE event_rules (event_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL,
    tenant TEXT NOT NULL, rule_id TEXT NOT NULL, class TEXT NOT NULL, blocked INTEGER NOT NULL);
CREATE INDEX event_rules_ts ON event_rules(ts_ms);
CREATE INDEX event_rules_rule ON event_rules(rule_id, ts_ms);
CREATE INDEX event_rules_event ON event_rules(event_id);
INSERT INTO events VALUES (7, 1796083200001, 'shop', 'old-1', '192.0.2.9', 'GET', '/a', 'deny',
    403, 'block', 1, 'crs', NULL, '942100 949110', 'sqli', 5, 'v1',
    '{\"request_id\":\"old-1\",\"findings\":[{\"rule_id\":\"942100\"}]}', 'NL');
INSERT INTO events VALUES (8, 1796083200002, 'shop', 'old-2', '192.0.2.10', 'GET', '/', 'allow',
    200, 'block', 0, NULL, NULL, '', '', 3, 'v1', '{\"request_id\":\"old-2\"}', NULL);
INSERT INTO event_rules VALUES (7, 1796083200001, 'shop', '942100', 'sqli', 1);
INSERT INTO event_rules VALUES (7, 1796083200001, 'shop', '949110', 'anomaly', 1);
";

#[test]
fn a_store_of_the_first_layout_is_moved_to_the_current_one() {
    let d = tempfile::tempdir().unwrap();
    Connection::open(d.path().join("a.db"))
        .unwrap()
        .execute_batch(LAYOUT_0)
        .unwrap();
    let a = open(d.path());
    a.record(Arc::new(event(
        DAY + 5,
        "shop",
        "192.0.2.9",
        Some("942100"),
    )));
    assert!(a.flush(Duration::from_secs(5)));
    let range = query::Range {
        tenant: Some("shop".into()),
        from_ms: DAY,
        to_ms: DAY + 60_000,
    };
    let o = a.read(|c| query::overview(c, &range)).unwrap();
    assert_eq!((o.requests, o.blocked), (3, 2));
    let rules: Vec<_> = o
        .top_rules
        .iter()
        .map(|c| (c.key.as_str(), c.count))
        .collect();
    assert_eq!(rules, [("942100", 2), ("949110", 1)], "old rule rows kept");
    assert_eq!(o.top_rules[1].class.as_deref(), Some("anomaly"));
    assert_eq!(o.top_countries[0].key, "NL");
    let search = |s: query::Search| a.read(|c| query::search(c, &s)).unwrap();
    let by_rule = search(query::Search {
        range: range.clone(),
        rule_id: Some("949110".into()),
        limit: 10,
        ..Default::default()
    });
    assert_eq!(by_rule.len(), 1);
    assert_eq!(by_rule[0]["request_id"], "old-1", "its JSON kept");
    let by_id = search(query::Search {
        range,
        request_id: Some("old-2".into()),
        limit: 10,
        ..Default::default()
    });
    assert_eq!(by_id[0]["blocked"], false);
    let c = Connection::open(d.path().join("a.db")).unwrap();
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let leftovers: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN
             ('event_rules', 'events_layout0', 'events_ip', 'events_tenant_time')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((version, leftovers), (schema::LAYOUT, 0));
}

#[test]
fn a_full_batch_is_written_without_waiting_for_the_linger() {
    let d = tempfile::tempdir().unwrap();
    let batching = writer::Batching {
        linger: Duration::from_secs(3600),
        flush_at: 100,
        tick: Duration::from_millis(1),
    };
    let a = Analytics::open_with(
        &d.path().join("a.db"),
        &AnalyticsConfig::default(),
        Counter::default(),
        batching,
    )
    .unwrap();
    for i in 0..250 {
        a.record(Arc::new(event(DAY + i, "shop", "10.0.0.1", None)));
    }
    let started = std::time::Instant::now();
    while a.written() < 200 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        a.written(),
        200,
        "two full batches of 100 written at once, the last 50 wait for the hour's linger"
    );
    assert_eq!(a.dropped(), 0);
}

#[test]
fn dropping_the_last_handle_writes_what_is_queued() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("a.db");
    let a = open(d.path());
    for i in 0..30 {
        a.record(Arc::new(event(DAY + i, "shop", "10.0.0.1", None)));
    }
    let written = a.written.clone();
    drop(a);
    let started = std::time::Instant::now();
    while written.load(Ordering::Relaxed) < 30 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        written.load(Ordering::Relaxed),
        30,
        "the writer drained the queue before it ended"
    );
    let n: i64 = schema::open_reader(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 30);
}

#[test]
fn cache_and_map_sizes_come_from_the_config() {
    let d = tempfile::tempdir().unwrap();
    let pragma = |conn: &rusqlite::Connection, name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    let conn = schema::open(&d.path().join("small.db"), 8, 0).unwrap();
    assert_eq!(pragma(&conn, "cache_size"), -8 * 1024, "8 MiB, in KiB");
    assert_eq!(pragma(&conn, "mmap_size"), 0);
    let defaults = AnalyticsConfig::default();
    let conn = schema::open(
        &d.path().join("default.db"),
        defaults.cache_mib,
        defaults.mmap_mib,
    )
    .unwrap();
    assert_eq!(pragma(&conn, "cache_size"), -64 * 1024);
    assert_eq!(pragma(&conn, "mmap_size"), 1 << 30);
    let conn = schema::open(&d.path().join("zero.db"), 0, 0).unwrap();
    assert_eq!(pragma(&conn, "cache_size"), -1024, "at least 1 MiB");
}
