//! Runs the data-driven variable vectors in `testdata/variables.json` and
//! checks that every variable in [`VarKind::ALL`] has at least one vector and
//! every vector names a known variable.
//!
//! Each vector is a request (and optionally a response) run through a
//! [`Transaction`], with a probe rule added last to the rule set:
//! `SecRule <var> "@unconditionalMatch" "id:999999,phase:<phase>,pass,nolog,t:none"`.
//! That rule matches every value the variable list resolves to, so after the
//! transaction its matched values (`MATCHED_VARS`) are exactly what the engine
//! produced for the list. Fields:
//!
//! - `var`: the variable list under test (`ARGS:id`, `&ARGS`, `ARGS|!ARGS:b`);
//!   its first variable is the one the vector documents.
//! - `phase` (default 2): the probe's phase.
//! - `request`: `method` (default GET), `uri` (default `/`), `protocol`
//!   (default HTTP/1.1), `headers` ([name, value] pairs), `body`.
//! - `response` (optional; phases 3 and 4 run only with it): `status`,
//!   `protocol`, `headers`, `body`.
//! - `config` (optional): directives replacing the default configuration;
//!   `rules` (optional): rules loaded before the probe (setup; none may run
//!   after the probe's phase).
//! - `chain` (optional): `VAR "@op arg"` of a first link; the probe becomes
//!   its chained rule (for `MATCHED_VARS`, which a rule starts empty).
//! - The expectation: `values` (the exact values, in order; `[]` for none)
//!   or `pattern` (exactly one value, matching this regex); optional `names`
//!   (the values' variable names, e.g. `ARGS_GET:id`).
//!
//! The connection is always 192.0.2.10:43210 -> 192.0.2.20:8080 and the
//! transaction's unique id `vector-uid`.

use super::{VarKind, parse_list};
use crate::{RuleSet, Transaction};
use serde_json::Value;
use std::path::PathBuf;

/// The probe rule's id.
const PROBE: u32 = 999_999;

/// The default configuration of a vector.
const CONFIG: &str = "SecRuleEngine On\nSecRequestBodyAccess On\nSecResponseBodyAccess On\n";

fn vectors() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/variables.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The variable a vector documents: the first of its list.
fn subject(v: &Value) -> Result<VarKind, String> {
    let list = v["var"].as_str().ok_or("vector without \"var\"")?;
    Ok(parse_list(list)?[0].kind)
}

/// Adding a variable to `var_kinds!` without a vector fails here, and so does
/// a vector about a variable the engine does not know.
#[test]
fn every_variable_has_vectors() {
    let vectors = vectors();
    let mut covered = Vec::new();
    for (i, v) in vectors.iter().enumerate() {
        match subject(v) {
            Ok(k) => covered.push(k),
            Err(e) => panic!("variables.json #{i} ({}): {e}", v["var"]),
        }
    }
    let missing: Vec<&str> = VarKind::ALL
        .iter()
        .filter(|k| !covered.contains(k))
        .map(|k| k.name())
        .collect();
    assert!(
        missing.is_empty(),
        "variables without a vector in testdata/variables.json: {missing:?}"
    );
    for (i, k) in VarKind::ALL.iter().enumerate() {
        assert_eq!(*k as usize, i, "ALL is in declaration order");
        assert_eq!(VarKind::from_name(k.name()), Some(*k));
    }
}

fn str_or<'a>(v: &'a Value, key: &str, default: &'a str) -> &'a str {
    v[key].as_str().unwrap_or(default)
}

fn headers(v: &Value) -> Vec<(&str, &str)> {
    v["headers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// The rule text of a vector: configuration, setup rules, then the probe.
fn rules_of(v: &Value) -> String {
    let phase = v["phase"].as_u64().unwrap_or(2);
    let var = v["var"].as_str().unwrap();
    let mut text = format!(
        "{}\n{}\n",
        str_or(v, "config", CONFIG),
        str_or(v, "rules", "")
    );
    let actions = format!("id:{PROBE},phase:{phase},pass,nolog,t:none");
    text.push_str(&match v["chain"].as_str() {
        Some(first) => format!(
            "SecRule {first} \"{actions},chain\"\n\
             SecRule {var} \"@unconditionalMatch\" \"t:none\"\n"
        ),
        None => format!("SecRule {var} \"@unconditionalMatch\" \"{actions}\"\n"),
    });
    text
}

/// Runs the vector's transaction; the (name, value) pairs the probe matched.
fn run(at: &str, v: &Value) -> Vec<(String, String)> {
    let rs =
        RuleSet::from_text("vector.conf", &rules_of(v)).unwrap_or_else(|e| panic!("{at}: {e}"));
    let mut tx = Transaction::new(&rs, "vector-uid");
    tx.process_connection("192.0.2.10", 43210, "192.0.2.20", 8080);
    let req = &v["request"];
    tx.process_uri(
        str_or(req, "method", "GET"),
        str_or(req, "uri", "/"),
        str_or(req, "protocol", "HTTP/1.1"),
    );
    for (n, val) in headers(req) {
        tx.add_request_header(n, val.as_bytes());
    }
    tx.process_request_headers();
    tx.append_request_body(str_or(req, "body", "").as_bytes());
    tx.process_request_body();
    let resp = &v["response"];
    let phase = v["phase"].as_u64().unwrap_or(2);
    assert!(
        resp.is_object() || !(3..=4).contains(&phase),
        "{at}: phases 3 and 4 run only with a response"
    );
    if resp.is_object() {
        for (n, val) in headers(resp) {
            tx.add_response_header(n, val.as_bytes());
        }
        let status = resp["status"].as_u64().unwrap_or(200) as u16;
        tx.process_response_headers(status, str_or(resp, "protocol", "HTTP/1.1"));
        tx.append_response_body(str_or(resp, "body", "").as_bytes());
        tx.process_response_body();
    }
    tx.process_logging();
    let probe_matched = tx.matched.iter().any(|m| m.rule.id == PROBE);
    let last = tx.matched.last().map(|m| m.rule.id);
    assert!(
        !probe_matched || last == Some(PROBE),
        "{at}: a setup rule matched after the probe"
    );
    if !probe_matched {
        assert!(tx.matched_vars.is_empty(), "{at}: a setup rule ran last");
        return Vec::new();
    }
    tx.matched_vars
        .iter()
        .map(|t| (t.name(), String::from_utf8_lossy(&t.value).into_owned()))
        .collect()
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
}

/// Checks one vector's values (and names, when given) against the engine's.
fn check(at: &str, v: &Value) -> Result<(), String> {
    let got = run(at, v);
    let values: Vec<String> = got.iter().map(|(_, val)| val.clone()).collect();
    match (strings(&v["values"]), v["pattern"].as_str()) {
        (Some(want), None) if values != want => {
            return Err(format!("{at}: values {values:?}, want {want:?}"));
        }
        (Some(_), None) => {}
        (None, Some(p)) => {
            let re = regex::Regex::new(p).unwrap();
            if !(values.len() == 1 && re.is_match(&values[0])) {
                return Err(format!("{at}: values {values:?}, want one matching /{p}/"));
            }
        }
        _ => return Err(format!("{at}: give exactly one of values and pattern")),
    }
    if let Some(want) = strings(&v["names"]) {
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        if names != want {
            return Err(format!("{at}: names {names:?}, want {want:?}"));
        }
    }
    Ok(())
}

/// Runs every vector and checks the values the engine produced (all the
/// failures are reported at once).
#[test]
fn variable_vectors() {
    let vectors = vectors();
    let failures: Vec<String> = vectors
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let at = format!("variables.json #{i} ({})", v["var"].as_str().unwrap_or("?"));
            check(&at, v).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        vectors.len() >= VarKind::COUNT,
        "only {} vectors",
        vectors.len()
    );
}
