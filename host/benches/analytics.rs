//! The event store's dashboard queries over 100,000 stored events (issue 14:
//! each must answer in under 200 ms).
//!
//! Fills a fresh store with `ANALYTICS_EVENTS` (default 100,000) events spread
//! over 24 hours, 3 tenants, 200 client IPs, 1 in `ANALYTICS_ATTACK_EVERY`
//! (default 10; 1 for an attack flood) an attack with one or two
//! findings, then times with criterion: the overview of the last hour and of
//! the whole day (series, top rules/IPs/paths/classes, latency percentiles,
//! versions), the event search by IP and by rule over the day, and a day's
//! compliance report. The insert rate and the writer thread's CPU time per event
//! are printed too.
//!
//! `cargo bench -p edgewaf --bench analytics` (not part of `make test`).

use criterion::{Criterion, criterion_group, criterion_main};
use edgewaf::observe::analytics::query::{self, Range, Search};
use edgewaf::observe::analytics::{Analytics, AnalyticsConfig, report};
use edgewaf::observe::events::{DecisionEvent, LoggedFinding};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

const DAY_MS: u64 = 86_400_000;
/// 2026-12-01T00:00:00Z.
const START: u64 = 1_796_083_200_000;
const RULES: &[(&str, &str)] = &[
    ("sig-sqli-1", "attack-sqli"),
    ("sig-sqli-4", "attack-sqli"),
    ("sig-xss-2", "attack-xss"),
    ("942100", "attack-sqli"),
    ("941100", "attack-xss"),
    ("930120", "attack-lfi"),
    ("932160", "attack-rce"),
    ("949110", "anomaly-evaluation"),
];

fn event(i: u64, n: u64, attack_every: u64) -> DecisionEvent {
    let ts_ms = START + i * DAY_MS / n;
    let attack = i.is_multiple_of(attack_every);
    let rule = RULES[(i / 10) as usize % RULES.len()];
    let finding = |r: (&str, &str)| LoggedFinding {
        policy: "crs".into(),
        rule_id: r.0.into(),
        message: "matched".into(),
        severity: "critical",
        tags: vec![r.1.into()],
        data: "1' OR '1'='1".into(),
    };
    DecisionEvent {
        ts: humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ts_ms)).to_string(),
        request_id: format!("{i:032x}"),
        tenant: ["shop", "api", "payments"][(i % 3) as usize].into(),
        tenant_version: Some("15872a26db9f".into()),
        client_ip: format!("203.0.113.{}", i % 200),
        country: Some(["NL", "US", "DE", "BR", "JP"][(i % 200 % 5) as usize].into()),
        method: "GET".into(),
        path: format!("/products/{}", i % 50),
        action: if attack { "deny" } else { "allow" },
        status: if attack { 403 } else { 200 },
        mode: "block",
        policy: attack.then(|| "crs".into()),
        would_deny: None,
        rule_ids: if attack {
            vec![rule.0.into(), "949110".into()]
        } else {
            vec![]
        },
        findings: if attack {
            vec![finding(rule), finding(RULES[7])]
        } else {
            vec![]
        },
        reason: None,
        errors: vec![],
        annotations: vec![],
        eval_us: 100 + (i * 7919) % 900,
    }
}

fn fill(n: u64, attack_every: u64) -> (tempfile::TempDir, Analytics) {
    let dir = tempfile::tempdir().unwrap();
    let config = AnalyticsConfig {
        queue: 200_000,
        ..AnalyticsConfig::default()
    };
    let a = Analytics::open(&dir.path().join("bench.db"), &config, Default::default()).unwrap();
    let events: Vec<_> = (0..n)
        .map(|i| Arc::new(event(i, n, attack_every)))
        .collect();
    let (started, cpu) = (Instant::now(), writer_cpu_ns());
    for e in events {
        a.record(e);
    }
    assert!(a.flush(Duration::from_secs(600)));
    let secs = started.elapsed().as_secs_f64();
    let cpu = writer_cpu_ns() - cpu;
    assert_eq!(a.dropped(), 0, "the bench queue holds every event");
    println!(
        "stored {n} events in {secs:.2} s ({:.0} events/s); writer thread CPU {:.2} us per event",
        n as f64 / secs,
        cpu as f64 / n as f64 / 1000.0
    );
    (dir, a)
}

/// CPU time of the store's writer thread so far, ns (Linux schedstat; 0
/// elsewhere).
fn writer_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("edgewaf-analyti"))
        })
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn bench(c: &mut Criterion) {
    let n = std::env::var("ANALYTICS_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let attack_every = std::env::var("ANALYTICS_ATTACK_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10u64)
        .max(1);
    let (_dir, a) = fill(n, attack_every);
    let day = Range {
        tenant: None,
        from_ms: START,
        to_ms: START + DAY_MS,
    };
    let hour = Range {
        from_ms: START + DAY_MS - 3_600_000,
        ..day.clone()
    };
    let shop_day = Range {
        tenant: Some("shop".into()),
        ..day.clone()
    };
    let o = a.read(|c| query::overview(c, &day)).unwrap();
    assert_eq!(o.requests, n);
    let mut g = c.benchmark_group("analytics");
    g.sample_size(20);
    g.bench_function("overview, last hour, all tenants", |b| {
        b.iter(|| a.read(|c| query::overview(c, &hour)).unwrap())
    });
    g.bench_function("overview, 24 h, all tenants", |b| {
        b.iter(|| a.read(|c| query::overview(c, &day)).unwrap())
    });
    g.bench_function("overview, 24 h, one tenant", |b| {
        b.iter(|| a.read(|c| query::overview(c, &shop_day)).unwrap())
    });
    let by_ip = Search {
        range: day.clone(),
        client_ip: Some("203.0.113.10".into()),
        limit: 100,
        ..Default::default()
    };
    g.bench_function("events by IP, 24 h", |b| {
        b.iter(|| a.read(|c| query::search(c, &by_ip)).unwrap())
    });
    let by_rule = Search {
        range: day.clone(),
        rule_id: Some("942100".into()),
        limit: 100,
        ..Default::default()
    };
    g.bench_function("events by rule, 24 h", |b| {
        b.iter(|| a.read(|c| query::search(c, &by_rule)).unwrap())
    });
    g.bench_function("compliance report, one tenant, one day", |b| {
        b.iter(|| {
            a.read(|c| report::compliance(c, "shop", START, START + DAY_MS))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
