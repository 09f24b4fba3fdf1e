//! The chain table (testdata/cases.json) through the crate's fold and
//! forwarded headers.

use edgewaf_chain::{
    Action, Annotation, Decision, Fold, Forwarding, Mode, OnError, Outcome, Step, Verdict, forward,
    policy_answer_header,
};
use serde_json::Value;

fn pairs(v: &Value) -> Vec<(String, Vec<u8>)> {
    let empty = Vec::new();
    v.as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().as_bytes().to_vec(),
            )
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    let empty = Vec::new();
    v.as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn verdict(v: &Value) -> Verdict<String> {
    let action = match v["action"].as_str().unwrap() {
        "allow" => Action::Allow,
        "deny" => Action::Deny {
            status: v["status"].as_u64().unwrap() as u16,
            reason: v["reason"].as_str().unwrap_or("").to_string(),
            headers: pairs(&v["headers"]),
        },
        "redirect" => Action::Redirect(v["location"].as_str().unwrap().to_string()),
        "error" => Action::Fail(v["reason"].as_str().unwrap().to_string()),
        other => panic!("unknown action {other}"),
    };
    Verdict {
        action,
        findings: strings(&v["rule_ids"]),
        add_request_headers: pairs(&v["add"]),
        remove_request_headers: strings(&v["remove"]),
        annotations: pairs(&v["annotations"])
            .into_iter()
            .map(|(key, value)| Annotation {
                key,
                value: String::from_utf8(value).unwrap(),
            })
            .collect(),
    }
}

/// What the scripted test policy (testing/scripted) does with
/// `report_annotations`: an added header listing the annotations it saw.
fn report(fold: &Fold<String>, v: &mut Verdict<String>, header: &str) {
    let seen: Vec<String> = fold
        .annotations()
        .iter()
        .map(|a| format!("{}={}", a.key, a.value))
        .collect();
    v.add_request_headers
        .push((header.to_string(), seen.join("; ").into_bytes()));
}

/// The answer's headers: the WAF's own, then the policy's it lets through.
fn answer_headers(outcome: &Outcome) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("content-type".to_string(), b"application/json".to_vec()),
        ("cache-control".to_string(), b"no-store".to_vec()),
    ];
    match outcome {
        Outcome::Allow => return Vec::new(),
        Outcome::Deny { headers, .. } => out.extend(
            headers
                .iter()
                .filter(|(n, _)| policy_answer_header(n))
                .cloned(),
        ),
        Outcome::Redirect(to) => out.push(("location".into(), to.as_bytes().to_vec())),
    }
    out
}

fn run_case(case: &Value) {
    let name = case["name"].as_str().unwrap();
    let mode = if case["mode"] == "block" {
        Mode::Block
    } else {
        Mode::Detect
    };
    let on_error = if case["on_error"] == "allow" {
        OnError::Allow
    } else {
        OnError::Deny
    };
    let mut fold = Fold::new(mode, 403, on_error);
    for v in case["verdicts"].as_array().unwrap() {
        let policy = v["policy"].as_str().unwrap();
        let mut verdict = verdict(v);
        if let Some(h) = v["report_annotations"].as_str() {
            report(&fold, &mut verdict, h);
        }
        let step = fold.take(policy, verdict);
        if step == Step::Stop {
            break;
        }
    }
    let d = fold.finish();
    let e = &case["expect"];
    assert_eq!(d.action(), e["action"].as_str().unwrap(), "{name}");
    let status = d.outcome.answer().map_or(200, |(s, _)| s);
    let resp_headers = answer_headers(&d.outcome);
    assert_eq!(u64::from(status), e["status"].as_u64().unwrap(), "{name}");
    assert_eq!(d.policy.as_deref(), e["policy"].as_str(), "{name}: policy");
    assert_eq!(
        d.would_deny.as_deref(),
        e["would_deny"].as_str(),
        "{name}: would_deny"
    );
    assert_eq!(d.reason.as_deref(), e["reason"].as_str(), "{name}: reason");
    let rule_ids: Vec<String> = d.findings.iter().map(|(_, f)| f.clone()).collect();
    assert_eq!(rule_ids, strings(&e["rule_ids"]), "{name}: rule ids");
    if let Some(want) = e["response_headers"].as_object() {
        for (n, v) in want {
            let got: Vec<&[u8]> = resp_headers
                .iter()
                .filter(|(h, _)| h == n)
                .map(|(_, v)| v.as_slice())
                .collect();
            assert_eq!(
                got,
                [v.as_str().unwrap().as_bytes()],
                "{name}: response {n}"
            );
        }
    }
    if !e["annotations"].is_null() {
        let got: Vec<(String, Vec<u8>)> = d
            .annotations
            .iter()
            .map(|a| (a.key.clone(), a.value.as_bytes().to_vec()))
            .collect();
        assert_eq!(got, pairs(&e["annotations"]), "{name}: annotations");
    }
    if let Some(want) = e["forwarded"].as_object() {
        check_forwarding(name, case, &d, want);
    }
}

/// The origin's headers for an allowed case, on a `Vec` (the adapter's list)
/// and on an `http::HeaderMap` (the host's).
fn check_forwarding(
    name: &str,
    case: &Value,
    d: &Decision<String>,
    want: &serde_json::Map<String, Value>,
) {
    let r = &case["request"];
    let f = Forwarding {
        request_id: "req-1",
        proto: if r["proto"] == "https" {
            "https"
        } else {
            "http"
        },
        client_ip: r["client_ip"].as_str(),
    };
    let mut out = pairs(&r["headers"]);
    forward(&mut out, &d.remove_headers, &d.add_headers, &f);
    check_forwarded(name, want, &out);
    // The host edits an http::HeaderMap by the same rule.
    let mut map = http::HeaderMap::new();
    for (n, v) in pairs(&r["headers"]) {
        let n = http::HeaderName::from_bytes(n.as_bytes()).unwrap();
        map.append(n, http::HeaderValue::from_bytes(&v).unwrap());
    }
    forward(&mut map, &d.remove_headers, &d.add_headers, &f);
    let out: Vec<(String, Vec<u8>)> = map
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    check_forwarded(&format!("{name} (HeaderMap)"), want, &out);
}

fn check_forwarded(name: &str, want: &serde_json::Map<String, Value>, out: &[(String, Vec<u8>)]) {
    for (n, v) in want {
        let got: Vec<&[u8]> = out
            .iter()
            .filter(|(h, _)| h.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_slice())
            .collect();
        match v.as_str() {
            Some(v) => assert_eq!(got, vec![v.as_bytes()], "{name}: forwarded {n}"),
            None => assert!(got.is_empty(), "{name}: {n} must not be forwarded"),
        }
    }
}

#[test]
fn chain_table() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cases.json"))
        .expect("testdata/cases.json");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("cases.json is JSON");
    assert!(cases.len() >= 12);
    println!("chain table: {} cases", cases.len());
    for case in &cases {
        run_case(case);
    }
}
