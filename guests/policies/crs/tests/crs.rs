//! The CRS policy natively, against the real CRS v4.28.0 files
//! (`EDGEWAF_CRS_DIR`, default `<repo>/crs/v4.28.0`, the vendored release).

use edgewaf_sdk::testing::{Harness, RequestBuilder};
use edgewaf_sdk::{Request, Response, Severity};
use std::path::PathBuf;

fn crs_dir() -> PathBuf {
    std::env::var("EDGEWAF_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../crs/v4.28.0"))
}

fn config(extra: serde_json::Value) -> String {
    let d = crs_dir();
    let mut c = serde_json::json!({
        "rules": [d.join("crs-setup.conf.example"), d.join("rules/*.conf")],
        "paranoia_level": 1,
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c.to_string()
}

fn get(target: &str) -> Request {
    RequestBuilder::new()
        .target(target)
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
        )
        .header("accept", "text/html")
        .build()
}

#[test]
fn benign_get_passes_without_findings() {
    let h = Harness::<crs::Crs>::new(&config(serde_json::json!({}))).unwrap();
    let v = h.on_request(&get("/products?id=42&sort=price"));
    assert!(v.is_allow(), "{v:?}");
    assert!(v.findings.is_empty(), "{:?}", v.rule_ids());
    let c = edgewaf_sdk::Policy::capabilities(h.policy());
    assert!(c.request_body && c.inspect_response);
}

#[test]
fn sqli_is_denied_with_findings() {
    let h = Harness::<crs::Crs>::new(&config(serde_json::json!({}))).unwrap();
    let v = h.on_request(&get("/search?q=1%27%20OR%20%271%27%3D%271"));
    assert_eq!(v.deny_status_code(), Some(403), "{:?}", v.rule_ids());
    let ids = v.rule_ids();
    assert!(ids.contains(&"942100"), "{ids:?}");
    assert!(ids.contains(&"949110"), "{ids:?}");
    let f = v.findings.iter().find(|f| f.rule_id == "942100").unwrap();
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.tags.iter().any(|t| t == "attack-sqli"));
    assert!(f.data.contains("ARGS:q"), "{}", f.data);
    assert!(
        v.annotations
            .iter()
            .any(|a| a.key == "crs.inbound_anomaly_score")
    );
}

#[test]
fn detection_only_logs_but_allows() {
    let h = Harness::<crs::Crs>::new(&config(serde_json::json!({"detection_only": true}))).unwrap();
    let v = h.on_request(&get("/?x=%3Cscript%3Ealert(1)%3C/script%3E"));
    assert!(v.is_allow());
    assert!(v.rule_ids().contains(&"941100"), "{:?}", v.rule_ids());
}

#[test]
fn tenant_rules_text_removes_a_rule() {
    let h = Harness::<crs::Crs>::new(&config(serde_json::json!({
        "detection_only": true,
        "rules_text": "SecRuleRemoveById 941100 941110 941160"
    })))
    .unwrap();
    let v = h.on_request(&get("/?x=%3Cscript%3Ealert(1)%3C/script%3E"));
    assert!(!v.rule_ids().contains(&"941100"), "{:?}", v.rule_ids());
}

#[test]
fn json_post_body_is_inspected() {
    let h = Harness::<crs::Crs>::new(&config(serde_json::json!({}))).unwrap();
    let req = RequestBuilder::new()
        .method("POST")
        .target("/api")
        .header("user-agent", "curl/8")
        .header("accept", "*/*")
        .header("content-type", "application/json")
        .header("content-length", "40")
        .body(r#"{"user":{"name":"x' UNION SELECT pass--"}}"#)
        .build();
    let v = h.on_request(&req);
    assert!(v.is_deny(), "{:?}", v.rule_ids());
    let f = v
        .findings
        .iter()
        .find(|f| f.rule_id.starts_with("942"))
        .unwrap();
    assert!(f.data.contains("json.user.name"), "{}", f.data);
}

#[test]
fn response_leak_is_detected_on_response() {
    let h = Harness::<crs::Crs>::new(&config(serde_json::json!({}))).unwrap();
    let req = get("/page");
    assert!(h.on_request(&req).is_allow());
    let resp = Response {
        status: 200,
        headers: vec![edgewaf_sdk::Header::new("content-type", "text/html")],
        body: b"<html>Warning: mysql_fetch_array() expects parameter 1 to be resource</html>"
            .to_vec(),
        body_truncated: false,
    };
    let v = h.on_response(&req, &resp);
    assert!(
        v.rule_ids().iter().any(|id| id.starts_with("951")),
        "{:?}",
        v.rule_ids()
    );
    assert!(v.is_deny(), "{:?}", v.rule_ids());
}

#[test]
fn bad_configs_are_clear_errors() {
    let e = Harness::<crs::Crs>::new(r#"{"rules":["/nonexistent/crs.conf"]}"#)
        .err()
        .unwrap();
    assert!(e.contains("/nonexistent/crs.conf"), "{e}");
    let e = Harness::<crs::Crs>::new(&config(
        serde_json::json!({"rules_text": "SecRule ARGS \"@bogus x\" \"id:1\""}),
    ))
    .err()
    .unwrap();
    assert!(
        e.contains("<rules_text>:1") && e.contains("unknown operator"),
        "{e}"
    );
}

/// The CRS with its request-independent phase-1 rules hoisted (evaluated
/// once per rule set, `seclang`'s `transaction/hoist.rs`) against the same
/// rules evaluated for every request: the same matches, messages, TX scores
/// and work counts for benign and attack requests, at paranoia 1 and 4.
mod hoisting {
    use super::config;

    /// (method, target, content type, body)
    const REQUESTS: &[(&str, &str, &str, &str)] = &[
        ("GET", "/products/list?page=2&sort=price", "", ""),
        ("GET", "/products?id=1%27%20OR%20%271%27%3D%271", "", ""),
        ("GET", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", "", ""),
        ("GET", "/files?name=../../etc/passwd", "", ""),
        (
            "POST",
            "/login",
            "application/x-www-form-urlencoded",
            "user=alice&pass=secret",
        ),
        (
            "POST",
            "/api",
            "application/json",
            r#"{"q":"1 union select password from users"}"#,
        ),
        ("POST", "/api", "text/xml", "<a>hello</a>"),
        (
            "PUT",
            "/x?cmd=;cat%20/etc/passwd",
            "application/octet-stream",
            "raw",
        ),
        // Bytes the rules need only after a transformation.
        (
            "GET",
            "/p?x=%253Cimg%2520src%253Dx%2520onerror%253Dalert(1)%253E",
            "",
            "",
        ),
        (
            "GET",
            "/p?c=%3Bl%5Cs%20-la&d=%26%23x3c%3Bsvg%20onload%3D1",
            "",
            "",
        ),
        (
            "POST",
            "/form",
            "application/x-www-form-urlencoded",
            "a=1&b=%22%3E%3Cbody+onload%3Dalert(1)%3E&c=%24(whoami)",
        ),
    ];

    /// Everything the requests showed: matched rules, TX scores, and (with
    /// `stats`) the work counts.
    fn observe(rs: &seclang::RuleSet, stats: bool) -> Vec<String> {
        REQUESTS
            .iter()
            .map(|(method, target, ct, body)| {
                let mut tx = seclang::Transaction::new(rs, "hoisting");
                tx.process_connection("198.51.100.7", 40000, "127.0.0.1", 80);
                tx.process_uri(method, target, "HTTP/1.1");
                tx.add_request_header("Host", b"shop.example");
                tx.add_request_header("User-Agent", b"Mozilla/5.0 Firefox/120.0");
                if !ct.is_empty() {
                    tx.add_request_header("Content-Type", ct.as_bytes());
                    tx.add_request_header("Content-Length", body.len().to_string().as_bytes());
                }
                tx.process_request_headers();
                tx.append_request_body(body.as_bytes());
                tx.process_request_body();
                tx.process_logging();
                let scores: Vec<Option<String>> = [
                    "blocking_inbound_anomaly_score",
                    "detection_inbound_anomaly_score",
                    "sql_injection_score",
                    "xss_score",
                ]
                .iter()
                .map(|k| tx.tx_var(k))
                .collect();
                let work = if stats {
                    format!("{:?}", tx.stats())
                } else {
                    String::new()
                };
                format!(
                    "{method} {target}: {:?} {:?} {:?} {work}",
                    tx.matched_rules(),
                    tx.intervention(),
                    scores,
                )
            })
            .collect()
    }

    /// The CRS rule set at paranoia level `pl`.
    fn crs_at(pl: u8) -> seclang::RuleSet {
        let cfg = config(serde_json::json!({ "paranoia_level": pl }));
        crs::Crs::load(&crs::CrsConfig::parse(&cfg).unwrap()).unwrap()
    }

    #[test]
    fn hoisting_changes_nothing_on_the_crs() {
        for pl in [1, 4] {
            let hoisted = crs_at(pl);
            assert!(
                hoisted.hoisted_rules() >= 20,
                "the CRS initialisation is hoisted: {}",
                hoisted.hoisted_rules()
            );
            // Every file's paranoia-level gates, in each phase.
            assert!(
                hoisted.constant_rules() >= 100,
                "the paranoia gates are constant: {}",
                hoisted.constant_rules()
            );
            let mut plain = crs_at(pl);
            plain.disable_hoisting();
            assert_eq!(plain.constant_rules(), 0);
            let (a, b) = (observe(&hoisted, true), observe(&plain, true));
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "paranoia {pl}");
            }
            // The attacks were seen (the comparison is not between two empties).
            assert!(a[1].contains("942100"), "{}", a[1]);
        }
    }

    /// The prefilter (literals, TX comparisons, byte gates) only skips rules
    /// that cannot match: the same outcome as evaluating every rule.
    #[test]
    fn prefilter_changes_nothing_on_the_crs() {
        for pl in [1, 4] {
            let filtered = crs_at(pl);
            assert!(filtered.prefiltered_rules() >= 400);
            let mut plain = crs_at(pl);
            plain.disable_prefilter();
            assert_eq!(plain.prefiltered_rules(), 0);
            let (a, b) = (observe(&filtered, false), observe(&plain, false));
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "paranoia {pl}");
            }
            // The attacks that need a transformation first were seen.
            for (i, id) in [(8, "941"), (9, "932"), (10, "941")] {
                assert!(a[i].contains(id), "{}", a[i]);
            }
        }
    }
}
