//! Shared state: two nodes on one Redis share rate-limit counters and runtime
//! lists; other clients are served while one floods; lists survive restarts;
//! a Redis that dies mid-run is a fallback, not an outage. Every test that
//! needs Redis starts its own `redis-server` on 127.0.0.1 (`make test`
//! installs it) and stops it.

use crate::support::*;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of our own on a free port, no persistence.
struct Redis {
    port: u16,
    dir: tempfile::TempDir,
    proc: Option<Proc>,
}

impl Redis {
    fn start() -> Redis {
        let mut r = Redis {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            proc: None,
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): `make setup` installs it (apt-get install redis-server)")
            });
        let mut proc = Proc {
            child,
            name: "redis-server".into(),
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = proc.child.try_wait() {
                panic!("redis-server exited early with {status}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.proc = Some(proc);
    }

    fn kill(&mut self) {
        self.proc = None;
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn state_config(&self) -> String {
        format!(
            // 100 ms, not the default 20: this machine is shared and busy, and a
            // slow reply would send a node to its local fallback for a second.
            "\n[state]\nbackend = \"redis\"\nredis_url = \"{}\"\nredis_timeout_ms = 100\nwatch = false\n",
            self.url()
        )
    }
}

/// A node with the given `[state]` config and tenant.
fn node(upstream: &str, tenant: &str, state: &str) -> Waf {
    let mut waf = Waf::prepare(upstream, &[("t", tenant)]);
    waf.write_config(state);
    waf.spawn();
    waf
}

fn rate_limit_tenant(limit: u32, window_secs: u32) -> String {
    format!(
        r#"
hosts = ["t.test"]
upstream = "http://{{upstream}}"
[[policy]]
module = "rate-limit"
[[policy.config.rules]]
name = "per-ip"
key = "ip"
limit = {limit}
window_secs = {window_secs}
"#
    )
}

const LIST_TENANT: &str = r#"
hosts = ["t.test"]
upstream = "http://{upstream}"
[[policy]]
module = "ip-filter"
[policy.config]
lists = ["blocklist"]
"#;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\n\r\n";

fn status_from(waf: &Waf, ip: &str) -> u16 {
    send_bytes_from(&waf.addr, GET, Some(ip)).status
}

/// Waits until the wall clock is not within `margin` of the end of a
/// `window` (so a burst does not straddle two rate-limit windows).
fn away_from_window_end(window: Duration, margin: Duration) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = Duration::from_millis((now.as_millis() % window.as_millis()) as u64);
    if into + margin > window {
        std::thread::sleep(window - into + Duration::from_millis(50));
    }
}

/// Sends `total` requests from `ip`, spread round-robin over `nodes` by
/// `threads` threads; returns the count of each status.
fn spread(
    nodes: &[&Waf],
    ip: &str,
    total: usize,
    threads: usize,
) -> std::collections::BTreeMap<u16, usize> {
    let counts = std::sync::Mutex::new(std::collections::BTreeMap::new());
    std::thread::scope(|s| {
        for t in 0..threads {
            let counts = &counts;
            s.spawn(move || {
                for i in (t..total).step_by(threads) {
                    let st = status_from(nodes[i % nodes.len()], ip);
                    *counts.lock().unwrap().entry(st).or_insert(0) += 1;
                }
            });
        }
    });
    counts.into_inner().unwrap()
}

fn metric(waf: &Waf, name: &str) -> Option<f64> {
    let text = waf.admin_get("/metrics", Some(TOKEN)).body;
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if ok() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_nodes_share_one_limit_through_redis() {
    let redis = Redis::start();
    let echo = Echo::start();
    let tenant = rate_limit_tenant(100, 60);
    let a = node(&echo.addr, &tenant, &redis.state_config());
    let b = node(&echo.addr, &tenant, &redis.state_config());
    away_from_window_end(Duration::from_secs(60), Duration::from_secs(15));
    let start = Instant::now();
    let counts = spread(&[&a, &b], "127.0.0.5", 500, 4);
    let allowed = counts.get(&200).copied().unwrap_or(0);
    let limited = counts.get(&429).copied().unwrap_or(0);
    println!(
        "shared limit: 500 requests over 2 nodes in {:?}: {allowed} allowed (limit 100), {limited} got 429",
        start.elapsed()
    );
    assert_eq!(
        allowed + limited,
        500,
        "only 200 and 429 expected: {counts:?}"
    );
    assert!(
        (95..=105).contains(&allowed),
        "combined allowed count {allowed} is not within 5% of the limit 100"
    );
    assert_eq!(metric(&a, "edgewaf_state_backend_up"), Some(1.0));
    assert_eq!(metric(&b, "edgewaf_state_fallback_total"), Some(0.0));
}

#[test]
fn others_are_served_while_one_ip_floods() {
    let redis = Redis::start();
    let echo = Echo::start();
    let waf = node(
        &echo.addr,
        &rate_limit_tenant(100, 60),
        &redis.state_config(),
    );
    away_from_window_end(Duration::from_secs(60), Duration::from_secs(20));
    let flooding = std::sync::atomic::AtomicBool::new(true);
    let (flood, latencies, ok, total) = std::thread::scope(|s| {
        let flooder = s.spawn(|| {
            // 10x the limit of 127.0.0.2, over 8 connections at a time.
            let counts = spread(&[&waf], "127.0.0.2", 1000, 8);
            flooding.store(false, std::sync::atomic::Ordering::Release);
            counts
        });
        let mut latencies = Vec::new();
        let (mut ok, mut total) = (0, 0);
        // Other clients, one request at a time each, while the flood lasts.
        let others = ["127.0.0.3", "127.0.0.4", "127.0.0.6", "127.0.0.7"];
        let start = Instant::now();
        while flooding.load(std::sync::atomic::Ordering::Acquire)
            && start.elapsed() < Duration::from_secs(30)
            && total < 90 * others.len()
        {
            let ip = others[total % others.len()];
            let t = Instant::now();
            let st = status_from(&waf, ip);
            latencies.push(t.elapsed());
            total += 1;
            ok += usize::from(st == 200);
        }
        (flooder.join().unwrap(), latencies, ok, total)
    });
    let mut sorted = latencies.clone();
    sorted.sort();
    let pct = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let success = 100.0 * ok as f64 / total as f64;
    println!(
        "flood: 127.0.0.2 sent 1000 (limit 100): {flood:?}; others: {ok}/{total} ok ({success:.2}%), \
         latency p50 {:?} p99 {:?} max {:?}",
        pct(0.50),
        pct(0.99),
        sorted.last().unwrap()
    );
    assert!(
        total >= 20,
        "too few requests from the others during the flood: {total}"
    );
    assert!(success >= 99.0, "others' success {success:.2}% < 99%");
    let flood_allowed = flood.get(&200).copied().unwrap_or(0);
    assert!(
        (90..=110).contains(&flood_allowed),
        "the flooder got {flood_allowed} through (limit 100): {flood:?}"
    );
}

fn add_entry(waf: &Waf, body: &str) {
    let r = waf.admin_send("POST", "/api/lists/blocklist/entries", body);
    assert_eq!(r.status, 201, "{r:?}");
}

fn delete_entry(waf: &Waf, cidr: &str) {
    let path = format!("/api/lists/blocklist/entries/{}", cidr.replace('/', "%2F"));
    let r = waf.admin_send("DELETE", &path, "");
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn lists_apply_at_once_lapse_and_survive_a_restart_in_memory() {
    let echo = Echo::start();
    let mut waf = node(&echo.addr, LIST_TENANT, "\n[state]\nwatch = false\n");
    assert_eq!(status_from(&waf, "127.0.0.8"), 200);
    add_entry(&waf, r#"{"cidr":"127.0.0.8/32","comment":"flood"}"#);
    assert_eq!(
        status_from(&waf, "127.0.0.8"),
        403,
        "the next request is denied"
    );
    assert_eq!(status_from(&waf, "127.0.0.9"), 200);
    delete_entry(&waf, "127.0.0.8/32");
    assert_eq!(
        status_from(&waf, "127.0.0.8"),
        200,
        "deleted: allowed again"
    );
    add_entry(&waf, r#"{"cidr":"127.0.0.9","ttl_secs":1}"#);
    assert_eq!(status_from(&waf, "127.0.0.9"), 403);
    let lapsed = wait_until(
        "the entry with ttl_secs = 1 lapses",
        Duration::from_secs(5),
        || status_from(&waf, "127.0.0.9") == 200,
    );
    println!("memory backend: entry with a 1 s expiry lapsed {lapsed:?} after the check");
    add_entry(&waf, r#"{"cidr":"127.0.0.10/31"}"#);
    let file = waf.dir.path().join(".edgewaf/lists.json");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("127.0.0.10/31")
    );
    waf.stop();
    waf.spawn();
    assert_eq!(
        status_from(&waf, "127.0.0.11"),
        403,
        "the list survived the restart"
    );
    let list = waf.admin_get("/api/lists/blocklist", Some(TOKEN)).json();
    assert_eq!(list["entries"].as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn lists_are_shared_through_redis_and_survive_restarts() {
    let redis = Redis::start();
    let echo = Echo::start();
    let mut a = node(&echo.addr, LIST_TENANT, &redis.state_config());
    let mut b = node(&echo.addr, LIST_TENANT, &redis.state_config());
    assert_eq!(status_from(&b, "127.0.0.12"), 200);
    add_entry(&a, r#"{"cidr":"127.0.0.12/32","comment":"flood"}"#);
    assert_eq!(
        status_from(&a, "127.0.0.12"),
        403,
        "the node that got the call: next request"
    );
    let seen = wait_until("node b sees the entry", Duration::from_secs(3), || {
        status_from(&b, "127.0.0.12") == 403
    });
    println!("redis backend: the other node denied the listed IP after {seen:?}");
    add_entry(&b, r#"{"cidr":"127.0.0.13","ttl_secs":1}"#);
    assert_eq!(status_from(&b, "127.0.0.13"), 403);
    wait_until(
        "the entry with an expiry lapses on node a",
        Duration::from_secs(5),
        || status_from(&a, "127.0.0.13") == 200,
    );
    a.stop();
    b.stop();
    a.spawn();
    b.spawn();
    assert_eq!(
        status_from(&a, "127.0.0.12"),
        403,
        "survived the restart (node a)"
    );
    assert_eq!(
        status_from(&b, "127.0.0.12"),
        403,
        "survived the restart (node b)"
    );
    delete_entry(&b, "127.0.0.12/32");
    assert_eq!(status_from(&b, "127.0.0.12"), 200);
    wait_until("node a sees the deletion", Duration::from_secs(3), || {
        status_from(&a, "127.0.0.12") == 200
    });
}

#[test]
fn redis_dying_mid_run_is_a_fallback_and_sharing_resumes() {
    let mut redis = Redis::start();
    let echo = Echo::start();
    let tenant = rate_limit_tenant(100, 60);
    let a = node(&echo.addr, &tenant, &redis.state_config());
    let b = node(&echo.addr, &tenant, &redis.state_config());
    away_from_window_end(Duration::from_secs(60), Duration::from_secs(25));
    let before = spread(&[&a, &b], "127.0.0.20", 20, 2);
    assert_eq!(before.get(&200), Some(&20), "{before:?}");

    redis.kill();
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut counts = std::collections::BTreeMap::new();
    for i in 0..200 {
        let t = Instant::now();
        let st = status_from(if i % 2 == 0 { &a } else { &b }, "127.0.0.21");
        slowest = slowest.max(t.elapsed());
        *counts.entry(st).or_insert(0) += 1;
    }
    println!(
        "redis down: 200 requests in {:?} (slowest {slowest:?}): {counts:?}",
        start.elapsed()
    );
    assert!(
        counts.keys().all(|s| *s == 200 || *s == 429),
        "only 200/429 while Redis is down: {counts:?}"
    );
    // Each node now limits on its own: 100 each.
    assert_eq!(counts.get(&200), Some(&200), "{counts:?}");
    assert!(
        slowest < Duration::from_secs(1),
        "a request took {slowest:?}"
    );
    for waf in [&a, &b] {
        assert_eq!(metric(waf, "edgewaf_state_backend_up"), Some(0.0));
        assert!(metric(waf, "edgewaf_state_fallback_total").unwrap_or(0.0) > 0.0);
        assert!(
            waf.stderr().contains("Redis unreachable"),
            "{}",
            waf.stderr()
        );
    }

    redis.spawn();
    for waf in [&a, &b] {
        let back = wait_until("the node uses Redis again", Duration::from_secs(5), || {
            status_from(waf, "127.0.0.22");
            metric(waf, "edgewaf_state_backend_up") == Some(1.0)
        });
        println!("redis back: node on it again after {back:?}");
        assert!(waf.stderr().contains("Redis reachable again"));
    }
    let after = spread(&[&a, &b], "127.0.0.23", 200, 2);
    let allowed = after.get(&200).copied().unwrap_or(0);
    println!("redis back: 200 requests over 2 nodes: {after:?}");
    assert!(
        (95..=105).contains(&allowed),
        "shared again: {allowed} allowed of 200 (limit 100): {after:?}"
    );
}

#[test]
fn country_blocking_with_a_mounted_database() {
    let echo = Echo::start();
    let geo = tempfile::tempdir().unwrap();
    let db = mmdb_writer::MmdbWriter::new()
        .insert("127.0.0.0/24", "XX")
        .insert("127.0.1.0/24", "DE")
        .build();
    std::fs::write(geo.path().join("GeoLite2-Country.mmdb"), db).unwrap();
    let tenant = format!(
        r#"
hosts = ["t.test"]
upstream = "http://{{upstream}}"
[[policy]]
module = "ip-filter"
mounts = {{ "/geo" = {:?} }}
[policy.config]
mmdb = "/geo/GeoLite2-Country.mmdb"
countries = ["XX"]
"#,
        geo.path().display().to_string()
    );
    let waf = node(&echo.addr, &tenant, "");
    assert_eq!(status_from(&waf, "127.0.0.30"), 403, "country XX is denied");
    assert_eq!(status_from(&waf, "127.0.1.30"), 200, "country DE passes");
    assert_eq!(
        status_from(&waf, "127.0.2.30"),
        200,
        "unknown country passes"
    );
}

#[path = "../../guests/policies/ip-filter/src/mmdb_writer.rs"]
#[allow(dead_code)]
mod mmdb_writer;
