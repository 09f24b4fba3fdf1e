//! The data-driven corpus: `testdata/attacks.json` (each must be denied by the
//! named rule, at the named place) and `testdata/benign.json` (each must be
//! allowed). One case is a JSON object:
//!
//! ```json
//! {"name": "...", "method": "POST", "target": "/p?id=1",
//!  "headers": [["user-agent", "curl/8"]],
//!  "body": "raw text" | "json": {...},            // json sets the content type
//!  "config": {"paranoia": 2},                      // default: {}
//!  "rule": "sig-sqli-1", "location": "ARGS:id"}    // attacks only
//! ```

use edgewaf_sdk::testing::Harness;
use edgewaf_sdk::{Request, Verdict};
use serde::Deserialize;
use serde_json::Value;
use signatures::Signatures;
use signatures::rules::RULES;
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default = "get")]
    method: String,
    target: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    json: Option<Value>,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    location: Option<String>,
}

fn get() -> String {
    "GET".into()
}

fn load(file: &str) -> Vec<Case> {
    let path = format!("{}/testdata/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

thread_local! {
    /// One compiled policy per config: compiling the rules for every case would
    /// dominate the run time.
    static POLICIES: std::cell::RefCell<HashMap<String, Harness<Signatures>>> = Default::default();
}

fn run(case: &Case) -> Verdict {
    let config = case
        .config
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_else(|| "{}".into());
    let req = build(case);
    POLICIES.with(|p| {
        let mut p = p.borrow_mut();
        let h = p.entry(config.clone()).or_insert_with(|| {
            Harness::<Signatures>::new(&config)
                .unwrap_or_else(|e| panic!("{}: config: {e}", case.name))
        });
        h.on_request(&req)
    })
}

fn build(case: &Case) -> Request {
    let mut b = Request::builder().method(&case.method).target(&case.target);
    for (name, value) in &case.headers {
        b = b.header(name, value.as_bytes());
    }
    if let Some(json) = &case.json {
        b = b
            .header("content-type", "application/json")
            .body(json.to_string());
    }
    if let Some(body) = &case.body {
        b = b.body(body.as_bytes());
    }
    b.build()
}

fn describe(v: &Verdict) -> String {
    v.findings
        .iter()
        .map(|f| format!("{} [{}]", f.rule_id, f.data))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn attacks_are_denied_by_the_expected_rule() {
    let cases = load("attacks.json");
    assert!(
        cases.len() >= 25,
        "at least 25 attack cases, have {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let want = case
            .rule
            .as_deref()
            .unwrap_or_else(|| panic!("{}: attack without \"rule\"", case.name));
        let v = run(case);
        let hit = v.findings.iter().find(|f| f.rule_id == want);
        match (v.is_deny(), hit) {
            (true, Some(f)) => {
                if let Some(loc) = &case.location
                    && !f.data.starts_with(&format!("{loc}: "))
                {
                    failures.push(format!(
                        "{}: {want} matched at {:?}, expected {loc}",
                        case.name, f.data
                    ));
                }
            }
            _ => failures.push(format!(
                "{}: expected {want}, got [{}]",
                case.name,
                describe(&v)
            )),
        }
    }
    println!(
        "attack cases: {}, failures: {}",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn benign_requests_are_allowed() {
    let cases = load("benign.json");
    assert!(
        cases.len() >= 25,
        "at least 25 benign cases, have {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        assert!(
            case.rule.is_none(),
            "{}: benign case with a rule",
            case.name
        );
        let v = run(case);
        if !v.is_allow() {
            failures.push(format!("{}: denied by [{}]", case.name, describe(&v)));
        }
    }
    println!(
        "benign cases: {}, false positives: {}",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_rule_has_an_attack_case() {
    let covered: BTreeSet<String> = load("attacks.json")
        .into_iter()
        .filter_map(|c| c.rule)
        .collect();
    let missing: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !covered.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without an attack case: {missing:?}"
    );
}

#[test]
fn prefilter_loses_nothing() {
    // The Aho-Corasick prefilter only skips rules that cannot match: the
    // result must equal running every rule on every value.
    for paranoia in [1, 2] {
        let config =
            signatures::config::Config::parse(&format!(r#"{{"paranoia":{paranoia}}}"#)).unwrap();
        let engine = signatures::engine::Engine::new(&config).unwrap();
        for case in load("attacks.json").into_iter().chain(load("benign.json")) {
            let targets = signatures::targets::collect(&build(&case));
            assert_eq!(
                engine.scan(&targets),
                engine.scan_unfiltered(&targets),
                "{}",
                case.name
            );
        }
    }
}
