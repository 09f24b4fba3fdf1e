//! Tenant-config exclusions against the real CRS v4.28.0 (`EDGEWAF_CRS_DIR`,
//! default `<repo>/crs/v4.28.0`): a request a rule blocks passes with the
//! exclusion on its path or argument, and is still blocked elsewhere.

use edgewaf_sdk::testing::{Harness, RequestBuilder};
use edgewaf_sdk::{Request, Verdict};
use serde_json::{Value, json};
use std::path::PathBuf;

fn crs_dir() -> PathBuf {
    std::env::var("EDGEWAF_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../crs/v4.28.0"))
}

fn crs(exclusions: Value) -> Harness<crs::Crs> {
    let d = crs_dir();
    let c = json!({
        "rules": [d.join("crs-setup.conf.example"), d.join("rules/*.conf")],
        "exclusions": exclusions,
    });
    Harness::<crs::Crs>::new(&c.to_string()).unwrap()
}

const XSS: &str = "<script>alert(document.cookie)</script>";

fn post_json(path: &str, member: &str) -> Request {
    let body = format!(r#"{{"{member}":"{XSS}"}}"#);
    RequestBuilder::new()
        .method("POST")
        .target(path)
        .header("user-agent", "curl/8")
        .header("accept", "*/*")
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string())
        .body(body)
        .build()
}

fn request(method: &str, target: &str) -> Request {
    RequestBuilder::new()
        .method(method)
        .target(target)
        .header("user-agent", "curl/8")
        .header("accept", "*/*")
        .build()
}

/// The attack rules (not the 949/980 scoring ones) whose logdata names `target`.
fn rules_on(v: &Verdict, target: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = v
        .findings
        .iter()
        .filter(|f| f.data.contains(target))
        .map(|f| f.rule_id.parse().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn denied(v: &Verdict) -> bool {
    v.deny_status_code() == Some(403)
}

#[test]
fn path_and_arg_exclusion_allows_only_that_arg_on_that_path() {
    let plain = crs(json!([]));
    let v = plain.on_request(&post_json("/v1/notes", "notes_html"));
    assert!(denied(&v), "{:?}", v.rule_ids());
    let ids = rules_on(&v, "ARGS:json.notes_html");
    assert!(
        ids.iter().any(|id| (941000..942000).contains(id)),
        "{ids:?}"
    );

    let h = crs(json!([{ "rules": ids, "path": "/v1/notes", "args": ["json.notes_html"] }]));
    let v = h.on_request(&post_json("/v1/notes", "notes_html"));
    assert!(v.is_allow(), "excluded arg on its path: {:?}", v.rule_ids());
    let v = h.on_request(&post_json("/v1/notes/42", "notes_html"));
    assert!(
        v.is_allow(),
        "a longer path has the prefix: {:?}",
        v.rule_ids()
    );
    let v = h.on_request(&post_json("/v1/pages", "notes_html"));
    assert!(denied(&v), "same arg, other path: {:?}", v.rule_ids());
    let v = h.on_request(&post_json("/v1/notes", "title"));
    assert!(denied(&v), "same path, other arg: {:?}", v.rule_ids());
}

#[test]
fn path_exclusion_reaches_phase_one_rules() {
    // 911100 (method not allowed) runs in phase 1: the generated ctl rule must
    // run before it, so it is loaded before the rule files.
    let plain = crs(json!([]));
    let v = plain.on_request(&request("PUT", "/v1/notes/42"));
    assert!(
        denied(&v) && v.rule_ids().contains(&"911100"),
        "{:?}",
        v.rule_ids()
    );

    let h = crs(json!([{ "rules": [911100], "path": "/v1/notes/" }]));
    let v = h.on_request(&request("PUT", "/v1/notes/42"));
    assert!(v.is_allow(), "{:?}", v.rule_ids());
    let v = h.on_request(&request("PUT", "/v1/pages/42"));
    assert!(denied(&v), "other path: {:?}", v.rule_ids());

    // The same rule loaded after the CRS (in rules_text) comes too late.
    let d = crs_dir();
    let late = json!({
        "rules": [d.join("crs-setup.conf.example"), d.join("rules/*.conf")],
        "rules_text": "SecRule REQUEST_FILENAME \"@beginsWith /v1/notes/\" \"id:100,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=911100\"",
    });
    let late = Harness::<crs::Crs>::new(&late.to_string()).unwrap();
    let v = late.on_request(&request("PUT", "/v1/notes/42"));
    assert!(denied(&v), "{:?}", v.rule_ids());
}

#[test]
fn arg_exclusion_applies_on_every_path_to_that_arg_only() {
    let target = |arg: &str, path: &str| {
        format!("{path}?{arg}=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E")
    };
    let plain = crs(json!([]));
    let v = plain.on_request(&request("GET", &target("q", "/search")));
    assert!(denied(&v), "{:?}", v.rule_ids());
    let ids = rules_on(&v, "ARGS:q");

    let h = crs(json!([{ "rules": ids, "args": ["q"] }]));
    for path in ["/search", "/other"] {
        let v = h.on_request(&request("GET", &target("q", path)));
        assert!(v.is_allow(), "{path}: {:?}", v.rule_ids());
    }
    let v = h.on_request(&request("GET", &target("r", "/search")));
    assert!(denied(&v), "other arg: {:?}", v.rule_ids());
}

#[test]
fn rule_exclusion_turns_the_rule_off_everywhere() {
    let h = crs(json!([{ "rules": [911100] }]));
    for path in ["/v1/notes/42", "/v1/pages/42"] {
        let v = h.on_request(&request("PUT", path));
        assert!(v.is_allow(), "{path}: {:?}", v.rule_ids());
    }
}

#[test]
fn a_bad_exclusion_fails_the_load_with_its_field() {
    let d = crs_dir();
    let c = json!({
        "rules": [d.join("crs-setup.conf.example"), d.join("rules/*.conf")],
        "exclusions": [{ "rules": [941100], "path": "v1/notes" }],
    });
    let e = Harness::<crs::Crs>::new(&c.to_string()).err().unwrap();
    assert!(
        e.contains("exclusions[0].path") && e.contains("must start with '/'"),
        "{e}"
    );
}
