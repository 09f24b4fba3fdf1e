//! The CRS with its request-independent phase-1 rules hoisted (evaluated
//! once per rule set, `seclang`'s `transaction/hoist.rs`) against the same
//! rules evaluated for every request: the same matches, messages, TX scores
//! and work counts for benign and attack requests, at paranoia 1 and 4.

use std::path::PathBuf;

fn crs_dir() -> PathBuf {
    std::env::var("EDGEWAF_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../crs/v4.28.0"))
}

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
];

/// Everything the requests showed: matched rules, TX scores, work counts.
fn observe(rs: &seclang::RuleSet) -> Vec<String> {
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
            format!(
                "{method} {target}: {:?} {:?} {:?} {:?}",
                tx.matched_rules(),
                tx.intervention(),
                scores,
                tx.stats()
            )
        })
        .collect()
}

#[test]
fn hoisting_changes_nothing_on_the_crs() {
    let d = crs_dir();
    for pl in [1, 4] {
        let cfg = serde_json::json!({
            "rules": [d.join("crs-setup.conf.example"), d.join("rules/*.conf")],
            "paranoia_level": pl,
        });
        let cfg = crs::CrsConfig::parse(&cfg.to_string()).unwrap();
        let hoisted = crs::Crs::load(&cfg).unwrap();
        assert!(
            hoisted.hoisted_rules() >= 20,
            "the CRS initialisation is hoisted: {}",
            hoisted.hoisted_rules()
        );
        let mut plain = crs::Crs::load(&cfg).unwrap();
        plain.disable_hoisting();
        let (a, b) = (observe(&hoisted), observe(&plain));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "paranoia {pl}");
        }
        // The attacks were seen (the comparison is not between two empties).
        assert!(a[1].contains("942100"), "{}", a[1]);
    }
}
