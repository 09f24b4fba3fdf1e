//! The chain table (testdata/cases.json) through the crate's fold and
//! forwarded headers.

use edgewaf_chain::{
    Action, Annotation, Fold, Forwarding, Mode, OnError, Outcome, Step, Verdict, forward_headers,
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

fn run_case(case: &Value) {
    let name = case["name"].as_str().unwrap();
    let mode = if case["mode"] == "block" {
        Mode::Block
    } else {
        Mode::Detect
    };
    let mut fold = Fold::new(mode, 403, OnError::Deny);
    for v in case["verdicts"].as_array().unwrap() {
        let policy = v["policy"].as_str().unwrap();
        let step = if v["action"] == "error" {
            fold.error(policy, v["reason"].as_str().unwrap())
        } else {
            fold.take(policy, verdict(v))
        };
        if step == Step::Stop {
            break;
        }
    }
    let d = fold.finish();
    let e = &case["expect"];
    assert_eq!(d.action(), e["action"].as_str().unwrap(), "{name}");
    let (status, resp_headers) = match &d.outcome {
        Outcome::Allow => (200, Vec::new()),
        Outcome::Deny { status, headers } => (*status, headers.clone()),
        Outcome::Redirect(to) => (302, vec![("location".into(), to.as_bytes().to_vec())]),
    };
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
            let got = resp_headers
                .iter()
                .find(|(h, _)| h == n)
                .map(|(_, v)| v.as_slice());
            assert_eq!(
                got,
                Some(v.as_str().unwrap().as_bytes()),
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
    let Some(want) = e["forwarded"].as_object() else {
        return;
    };
    let r = &case["request"];
    let f = Forwarding {
        request_id: "req-1",
        proto: r["proto"].as_str().unwrap(),
        client_ip: r["client_ip"].as_str(),
    };
    let out = forward_headers(&pairs(&r["headers"]), &d.remove_headers, &d.add_headers, &f);
    for (n, v) in want {
        let got: Vec<&[u8]> = out
            .iter()
            .filter(|(h, _)| h == n)
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
    assert!(cases.len() >= 8);
    for case in &cases {
        run_case(case);
    }
}
