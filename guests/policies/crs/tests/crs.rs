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
