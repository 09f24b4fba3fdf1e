//! The chain table (libs/chain/testdata/cases.json) end to end: every case's
//! verdicts become scripted policies (testing/scripted), run by a real
//! `edgewaf` process and by the case's wasi:http bundle under
//! `edgewaf-tools serve-component` (and `wasmtime serve` when installed), in
//! front of the echo origin, which answers with the headers it received.
//!
//! Each runtime must give what the table says (status, answer headers, origin
//! headers, the decision line's action, policy, would-deny, reason and rule
//! ids), and all runtimes the same status, origin headers and answer headers.
//! A policy error in the table (`"action": "error"`) is the scripted policy's
//! `fail` verdict, which both runtimes hand to the tenant's `on_error`. One
//! fact of the platforms, not of the chain, is compared apart:
//! `x-forwarded-for`: wasi:http gives a component no client address, so the
//! bundle passes the client's value on unchanged while the host appends the
//! address. (A policy that traps takes a whole bundle down, where the host
//! applies `on_error`: `bundle::hostile_policies_in_a_bundle_fail_closed` and
//! `sandbox` test that apart.)

use crate::bundle::{Runtime, Served, bundle_with, find_wasmtime_cli, serve};
use crate::support::*;
use serde_json::Value;
use std::path::Path;

fn table() -> Vec<Value> {
    let path = repo().join("libs/chain/testdata/cases.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn host_of(i: usize) -> String {
    format!("case{i}.chain.test")
}

/// The case's tenant file: one scripted policy per verdict, its config the
/// verdict itself.
fn tenant(case: &Value, host: &str, upstream: &str) -> String {
    let mode = case["mode"].as_str().unwrap();
    let mut t = format!("hosts = [\"{host}\"]\nupstream = \"{upstream}\"\nmode = \"{mode}\"\n");
    if let Some(on_error) = case["on_error"].as_str() {
        t.push_str(&format!("on_error = \"{on_error}\"\n"));
    }
    for v in case["verdicts"].as_array().unwrap() {
        let config = toml::to_string(&toml::Value::try_from(v).unwrap()).unwrap();
        let name = v["policy"].as_str().unwrap();
        t.push_str(&format!(
            "[[policy]]\nmodule = \"scripted\"\nname = \"{name}\"\n[policy.config]\n{config}\n"
        ));
    }
    t
}

/// The case's request: its headers, with `host` set to the case's host.
fn raw(case: &Value, host: &str) -> String {
    let mut r = format!("GET /chain?case={host} HTTP/1.1\r\nHost: {host}\r\n");
    for h in case["request"]["headers"].as_array().into_iter().flatten() {
        let (n, v) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
        if !n.eq_ignore_ascii_case("host") {
            r.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    r.push_str("Connection: close\r\n\r\n");
    r
}

/// What one runtime did with a case, normalised for comparison: sorted
/// header lists, the request id as `<id>`, without `date`, framing and
/// connection headers (each hop's own) and `host` (wasi:http runtimes send the
/// origin's authority).
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    answer: Vec<(String, String)>,
    /// The origin's headers when the request reached it.
    forwarded: Option<Vec<(String, String)>>,
    /// `x-forwarded-for` at the origin (compared apart).
    forwarded_for: Option<String>,
}

fn normalise(headers: &[(String, String)], id: &str) -> Vec<(String, String)> {
    const HOP: [&str; 6] = [
        "date",
        "content-length",
        "transfer-encoding",
        "connection",
        "host",
        "x-forwarded-for",
    ];
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !HOP.contains(&n.as_str()))
        .map(|(n, v)| {
            let v = if v == id {
                "<id>".to_string()
            } else {
                v.clone()
            };
            (n.clone(), v)
        })
        .collect();
    out.sort();
    out
}

fn seen(r: &Resp) -> Seen {
    let id = r.request_id();
    let echoed = serde_json::from_str::<Value>(&r.body)
        .ok()
        .filter(|j| j["target"].is_string());
    let origin: Option<Vec<(String, String)>> = echoed.map(|j| {
        let pairs = j["headers"].as_array().unwrap().iter();
        pairs
            .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
            .collect()
    });
    let forwarded_for = origin.as_ref().and_then(|o| {
        let xff = o.iter().find(|(n, _)| n == "x-forwarded-for");
        xff.map(|(_, v)| v.clone())
    });
    Seen {
        status: r.status,
        answer: normalise(&r.headers, &id),
        forwarded: origin.map(|o| normalise(&o, &id)),
        forwarded_for,
    }
}

fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    let found = headers.iter().filter(|(n, _)| n == name);
    found.map(|(_, v)| v.as_str()).collect()
}

/// The table's expectations for one runtime's answer.
fn check_answer(what: &str, case: &Value, r: &Resp, s: &Seen, host: &str) {
    let e = &case["expect"];
    assert_eq!(
        u64::from(r.status),
        e["status"].as_u64().unwrap(),
        "{what}: {}",
        r.body
    );
    for (n, v) in e["response_headers"].as_object().into_iter().flatten() {
        let want = v.as_str().unwrap();
        assert_eq!(values(&r.headers, n), [want], "{what}: answer header {n}");
    }
    let Some(origin) = &s.forwarded else {
        assert_ne!(e["action"], "allow", "{what}: allowed, not forwarded");
        return;
    };
    assert_eq!(values(origin, "x-request-id"), ["<id>"], "{what}");
    assert_eq!(values(origin, "x-forwarded-proto"), ["http"], "{what}");
    assert_eq!(values(origin, "x-forwarded-host"), [host], "{what}");
    const CONTEXT: [&str; 4] = [
        "x-request-id",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-for",
    ];
    for (n, v) in e["forwarded"].as_object().into_iter().flatten() {
        if CONTEXT.contains(&n.as_str()) {
            continue;
        }
        let got = values(origin, n);
        match v.as_str() {
            Some(v) => assert_eq!(got, [v], "{what}: origin header {n}"),
            None => assert!(got.is_empty(), "{what}: {n} reached the origin"),
        }
    }
}

/// The decision line agrees with the table.
fn check_decision(what: &str, case: &Value, line: &Value) {
    let e = &case["expect"];
    assert_eq!(line["action"], e["action"], "{what}: action in {line}");
    for key in ["policy", "would_deny"] {
        assert_eq!(
            line[key].as_str(),
            e[key].as_str(),
            "{what}: {key} in {line}"
        );
    }
    let reason = line["reason"].as_str();
    assert_eq!(reason, e["reason"].as_str(), "{what}: reason in {line}");
    let want: Vec<&str> = e["rule_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap())
        .collect();
    let got: Vec<&str> = line["rule_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(got, want, "{what}: rule ids");
}

/// The adapter's decision line for a request id in a runtime's stderr
/// (waits briefly: the runtime may write it after the answer).
fn bundle_decision(served: &Served, id: &str) -> Value {
    for _ in 0..100 {
        let log = served.log();
        let line = log
            .lines()
            .find(|l| l.contains(id) && l.contains("\"kind\":\"decision\""));
        if let Some(line) = line {
            return serde_json::from_str(&line[line.find('{').unwrap()..]).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no decision line for {id}:\n{}", served.log());
}

/// Every case through the host: one `edgewaf` with a tenant per case.
fn run_host(cases: &[Value], echo: &Echo) -> Vec<Seen> {
    let tenants: Vec<(String, String)> = (0..cases.len())
        .map(|i| {
            (
                format!("case{i}"),
                tenant(&cases[i], &host_of(i), "http://{upstream}"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = tenants
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let waf = Waf::start(&echo.addr, &refs);
    let mut out = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let host = host_of(i);
        let what = format!("host, case {i} ({})", case["name"].as_str().unwrap());
        let r = send(&waf.addr, &raw(case, &host));
        let s = seen(&r);
        check_answer(&what, case, &r, &s, &host);
        check_decision(&what, case, &waf.decision(&r.request_id()));
        out.push(s);
    }
    // A `fail` verdict counts as a policy error of kind `failed`.
    let metrics = waf.admin_get("/metrics", Some(TOKEN)).body;
    for (i, case) in cases.iter().enumerate() {
        for v in case["verdicts"].as_array().unwrap() {
            if v["action"] != "error" {
                continue;
            }
            let series = format!(
                "edgewaf_policy_errors_total{{tenant=\"case{i}\",policy=\"{}\",kind=\"failed\"}} 1",
                v["policy"].as_str().unwrap()
            );
            assert!(metrics.contains(&series), "no {series} in\n{metrics}");
        }
    }
    out
}

/// Every case through its bundle under one runtime.
fn run_bundles(cases: &[Value], echo: &Echo, rt: Runtime, dir: &Path) -> Vec<Seen> {
    let mut out = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let host = host_of(i);
        let what = format!("{rt:?}, case {i} ({})", case["name"].as_str().unwrap());
        let file = dir.join(format!("case{i}.wasm"));
        if !file.exists() {
            let t = dir.join(format!("case{i}.toml"));
            std::fs::write(&t, tenant(case, &host, "http://127.0.0.1:9")).unwrap();
            bundle_with(&file, &["scripted"], &t, "wasi", &[]);
        }
        let served = serve(rt, &file, &echo.addr, &[], dir);
        let r = send(&served.addr, &raw(case, &host));
        let s = seen(&r);
        check_answer(&what, case, &r, &s, &host);
        check_decision(&what, case, &bundle_decision(&served, &r.request_id()));
        out.push(s);
    }
    out
}

#[test]
fn chain_table_gives_the_same_results_on_the_host_and_the_bundle() {
    let cases = table();
    let echo = Echo::start();
    let dir = tempfile::tempdir().unwrap();
    let host = run_host(&cases, &echo);
    println!(
        "chain table: host {}/{} cases as the table says",
        host.len(),
        cases.len()
    );
    let mut runtimes = vec![Runtime::EdgewafHost];
    match find_wasmtime_cli() {
        Some(_) => runtimes.push(Runtime::WasmtimeServe),
        None => println!("chain table: wasmtime-cli 48 not installed, `wasmtime serve` skipped"),
    }
    for rt in runtimes {
        let bundle = run_bundles(&cases, &echo, rt, dir.path());
        let mut same = 0;
        for (i, (h, b)) in host.iter().zip(&bundle).enumerate() {
            assert_eq!(
                (h.status, &h.answer, &h.forwarded),
                (b.status, &b.answer, &b.forwarded),
                "case {i} ({}): host vs {rt:?} bundle",
                cases[i]["name"]
            );
            // The client's x-forwarded-for, then the address only the host knows.
            if let Some(client) = &b.forwarded_for {
                let with_addr = format!("{client}, 127.0.0.1");
                assert_eq!(
                    h.forwarded_for.as_deref(),
                    Some(with_addr.as_str()),
                    "case {i}"
                );
            } else if h.forwarded.is_some() {
                assert_eq!(h.forwarded_for.as_deref(), Some("127.0.0.1"), "case {i}");
            }
            same += 1;
        }
        println!(
            "chain table: {rt:?} bundle {same}/{} cases as the table says and identical to the host",
            cases.len()
        );
        assert_eq!(same, cases.len());
    }
}
