//! The event store, named tokens with scopes, audit records and the
//! compliance report (issue 14), against real `edgewaf serve` processes.

use crate::support::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub const AUDITOR: &str = "auditor-token-0123456789abcdef";
pub const SHOP_TEAM: &str = "shop-team-token-0123456789abcd";

/// A tenant with ip-filter (runtime list `blocklist`) and signatures.
pub const SHOP: &str = r#"
hosts = ["shop.test"]
upstream = "http://{upstream}"
mode = "block"

[[policy]]
module = "ip-filter"
[policy.config]
lists = ["blocklist"]

[[policy]]
module = "signatures"
"#;

pub const OTHER: &str = "hosts = [\"other.test\"]\nupstream = \"http://{upstream}\"\n";

/// The named tokens of these tests.
pub const TOKENS: &str = r#"
[[admin.tokens]]
name = "auditor"
env = "EDGEWAF_TEST_AUDITOR_TOKEN"
scope = "read-only"

[[admin.tokens]]
name = "shop-team"
env = "EDGEWAF_TEST_SHOP_TOKEN"
scope = "tenant"
tenant = "shop"
"#;

/// `[geo]` with the test country database: loopback is "QT".
pub fn geo_config() -> String {
    let db = repo().join("tests/e2e/testdata/countries.csv");
    format!("\n[geo]\ncountry_db = {:?}\n", db.display().to_string())
}

/// An `edgewaf serve` with the named tokens in its environment.
pub struct Node {
    pub waf: Waf,
    proc: Option<Proc>,
}

impl Node {
    pub fn start(upstream: &str) -> Node {
        let waf = Waf::prepare(upstream, &[("shop", SHOP), ("other", OTHER)]);
        waf.write_config(&format!("{TOKENS}{}", geo_config()));
        let mut node = Node { waf, proc: None };
        node.spawn();
        node
    }

    /// Starts (again) on new ports, same folder.
    pub fn spawn(&mut self) {
        let waf = &mut self.waf;
        waf.addr = format!("127.0.0.1:{}", free_port());
        waf.admin = format!("127.0.0.1:{}", free_port());
        let stderr = std::fs::File::create(waf.dir.path().join("stderr.log")).unwrap();
        let mut child = edgewaf()
            .args(["serve", "--config"])
            .arg(waf.dir.path().join("edgewaf.toml"))
            .args(["--listen", &waf.addr, "--admin-listen", &waf.admin])
            .env("EDGEWAF_ADMIN_TOKEN", TOKEN)
            .env("EDGEWAF_TEST_AUDITOR_TOKEN", AUDITOR)
            .env("EDGEWAF_TEST_SHOP_TOKEN", SHOP_TEAM)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start edgewaf serve");
        let log = waf.dir.path().join("stderr.log");
        wait_for_listen(&waf.admin, "edgewaf serve", &mut child, Some(&log));
        wait_for_listen(&waf.addr, "edgewaf serve", &mut child, Some(&log));
        self.proc = Some(Proc {
            child,
            name: "edgewaf".into(),
        });
    }

    /// Kills the process (SIGKILL: nothing is flushed on the way out).
    pub fn kill(&mut self) {
        self.proc = None;
    }

    /// Any admin call with a token.
    pub fn call(&self, token: &str, method: &str, path: &str, body: &str) -> Resp {
        send(
            &self.waf.admin,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    }

    /// A GET to a tenant from a chosen loopback address.
    pub fn get_from(&self, source: &str, host: &str, target: &str) -> Resp {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        send_bytes_from(&self.waf.addr, raw.as_bytes(), Some(source))
    }

    /// Waits until the store's event search returns at least `n` events.
    pub fn wait_events(&self, query: &str, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.call(TOKEN, "GET", &format!("/api/analytics/events?{query}"), "");
            assert_eq!(r.status, 200, "{}", r.body);
            let events = r.json()["events"].as_array().cloned().unwrap_or_default();
            if events.len() >= n || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

const SQLI: &str = "/products?id=1%27%20OR%20%271%27%3D%271";

#[test]
fn events_survive_a_restart() {
    let echo = Echo::start();
    let mut node = Node::start(&echo.addr);
    let r = node.get_from("127.0.0.21", "shop.test", SQLI);
    assert_eq!(r.status, 403);
    let id = r.request_id();
    let found = node.wait_events(&format!("request_id={id}"), 1);
    assert_eq!(found.len(), 1, "the event reached the store");
    node.kill();
    node.spawn();
    let found = node.wait_events(&format!("request_id={id}"), 1);
    assert_eq!(found.len(), 1, "the event is still there after a restart");
    let e = &found[0];
    assert_eq!(e["client_ip"], "127.0.0.21");
    assert_eq!(e["country"], "QT", "from the [geo] database: {e}");
    assert_eq!(e["blocked"], true);
    assert_eq!(e["class"], "sqli");
    assert!(
        e["rule_ids"][0].as_str().unwrap().starts_with("sig-sqli"),
        "{e}"
    );
    // The overview counts it too.
    let o = node
        .call(
            TOKEN,
            "GET",
            "/api/analytics/overview?tenant=shop&from=0",
            "",
        )
        .json();
    assert_eq!(o["blocked"], 1, "{o}");
    assert_eq!(o["top_ips"][0]["key"], "127.0.0.21");
    assert_eq!(
        o["top_countries"],
        serde_json::json!([{ "key": "QT", "count": 1 }])
    );
    let other = node.call(
        TOKEN,
        "GET",
        "/api/analytics/overview?tenant=other&from=0",
        "",
    );
    assert_eq!(
        other.json()["top_countries"],
        serde_json::json!([]),
        "per tenant"
    );
    assert!(
        o["versions"].as_array().is_some_and(|v| !v.is_empty()),
        "{o}"
    );
}

/// The strings at `key` of each item of the array `v`.
fn strs(v: &serde_json::Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap_or(&x[key].to_string()).to_string())
        .collect()
}

/// An admin puts the shop in detect mode, the shop team puts it back, the
/// admin blocks a range, the auditor tries a delete; then 3 SQLi and 1 XSS
/// (blocked) and 2 benign requests to the shop, one SQLi to the other tenant.
fn changes_and_traffic(node: &Node, upstream: &str) {
    let shop = SHOP.replace("{upstream}", upstream);
    let detect = shop.replace("mode = \"block\"", "mode = \"detect\"");
    let put = |token: &str, text: &str| {
        send(
            &node.waf.admin,
            &format!(
                "PUT /api/tenants/shop HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            ),
        )
    };
    assert_eq!(put(TOKEN, &detect).status, 200);
    assert_eq!(put(SHOP_TEAM, &shop).status, 200);
    let entry = r#"{"cidr":"198.51.100.0/24","comment":"scanner"}"#;
    let r = node.call(TOKEN, "POST", "/api/lists/blocklist/entries", entry);
    assert_eq!(r.status, 201);
    let r = node.call(AUDITOR, "DELETE", "/api/tenants/shop", "");
    assert_eq!(r.status, 403);
    for _ in 0..3 {
        assert_eq!(node.get_from("127.0.0.31", "shop.test", SQLI).status, 403);
    }
    let xss = "/?q=%3Cscript%3Ealert(1)%3C/script%3E";
    assert_eq!(node.get_from("127.0.0.31", "shop.test", xss).status, 403);
    for _ in 0..2 {
        assert_eq!(node.get_from("127.0.0.32", "shop.test", "/f").status, 200);
    }
    assert_eq!(node.get_from("127.0.0.32", "other.test", SQLI).status, 200);
    assert_eq!(node.wait_events("tenant=shop", 6).len(), 6);
}

/// The report's changes: who made each, of what kind, with what answer.
fn assert_changes(report: &serde_json::Value) {
    let changes = &report["changes"];
    assert_eq!(
        strs(changes, "token"),
        ["default", "shop-team", "default", "auditor"],
        "{report}"
    );
    assert_eq!(
        strs(changes, "kind"),
        ["mode-change", "mode-change", "list-add", "refused"]
    );
    assert_eq!(strs(changes, "status"), ["200", "200", "201", "403"]);
    assert!(
        changes[0]["diff"]
            .as_str()
            .unwrap()
            .contains("+mode = \"detect\""),
        "{report}"
    );
    assert!(
        changes[2]["summary"]
            .as_str()
            .unwrap()
            .contains("198.51.100.0/24")
    );
}

/// The HTML form of the report at `q` shows the same facts.
fn html_report_names_the_facts(node: &Node, q: &str) {
    let html = node.call(AUDITOR, "GET", &format!("{q}&format=html"), "");
    assert_eq!(html.status, 200);
    assert!(
        html.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    for needle in [
        "shop-team",
        "6.4.2",
        "sqli",
        "198.51.100.0/24",
        "<b>4 blocked</b>",
    ] {
        assert!(
            html.body.contains(needle),
            "{needle} missing in the HTML report"
        );
    }
}

#[test]
fn the_compliance_report_lists_versions_changes_and_blocked_counts() {
    let echo = Echo::start();
    let node = Node::start(&echo.addr);
    let from = now_ms();
    changes_and_traffic(&node, &echo.addr);
    let to = now_ms() + 60_000;
    let q = format!("/api/reports/compliance?tenant=shop&from={from}&to={to}");
    let r = node.call(AUDITOR, "GET", &q, "");
    assert_eq!(r.status, 200, "the auditor reads reports: {}", r.body);
    let report = r.json();
    assert_eq!(
        (&report["requests"], &report["blocked"]),
        (&6.into(), &4.into()),
        "{report}"
    );
    let classes = report["blocked_by_class"].clone();
    assert_eq!(strs(&classes, "key"), ["sqli", "xss"]);
    assert_eq!(strs(&classes, "count"), ["3", "1"]);
    assert_changes(&report);
    assert_eq!(strs(&report["mode_changes"], "to"), ["detect", "block"]);
    let versions = &report["days"][0]["versions"];
    assert!(versions.as_array().unwrap().len() >= 3, "{report}");
    assert_eq!(
        strs(&versions[0]["policies"], "name"),
        ["ip-filter", "signatures"]
    );
    assert_eq!(
        versions[0]["policies"][1]["sha256"].as_str().map(str::len),
        Some(12)
    );
    assert_eq!(
        strs(&report["pci_dss"], "requirement"),
        ["6.4.1", "6.4.2", "10.2"]
    );
    let gaps = report["gaps"].as_array().unwrap();
    assert!(
        gaps.iter()
            .any(|g| g.as_str().unwrap().starts_with("detect mode"))
    );
    html_report_names_the_facts(&node, &q);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
