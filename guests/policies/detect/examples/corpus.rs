//! Runs the detect policy natively over the eval corpora (JSON lines written
//! by tests/eval/gen_corpus.py): detection per class and encoding, benign
//! requests denied with their findings. Not the evaluation (that is
//! `make eval`, through edgewaf); a quick loop for detector work.
//!
//! cargo run --release -p detect --example corpus -- target/eval [config-json]

use detect::Detect;
use edgewaf_sdk::prelude::*;
use edgewaf_sdk::testing::Harness;
use std::collections::BTreeMap;

fn request(row: &serde_json::Value) -> Request {
    let mut b = Request::builder()
        .method(row["method"].as_str().unwrap_or("GET"))
        .target(row["target"].as_str().unwrap_or("/"));
    for h in row["headers"].as_array().into_iter().flatten() {
        b = b.header(
            h[0].as_str().unwrap_or(""),
            h[1].as_str().unwrap_or("").as_bytes().to_vec(),
        );
    }
    if let Some(body) = row["body"].as_str() {
        b = b.body(body.as_bytes().to_vec());
    }
    b.build()
}

fn rows(path: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map_or("target/eval", String::as_str);
    let config = args.get(2).map_or("{}", String::as_str);
    let h = Harness::<Detect>::new(config).expect("config");
    let mut by: BTreeMap<(String, String), (u32, u32)> = BTreeMap::new();
    let mut missed = Vec::new();
    for row in rows(&format!("{dir}/attacks.jsonl")) {
        let denied = h.on_request(&request(&row)).is_deny();
        for dim in ["class", "encoding", "placement"] {
            let e = by
                .entry((dim.to_string(), row[dim].as_str().unwrap_or("").to_string()))
                .or_default();
            e.0 += denied as u32;
            e.1 += 1;
        }
        if !denied {
            missed.push(row["id"].as_str().unwrap_or("").to_string());
        }
    }
    for ((dim, k), (d, n)) in &by {
        println!(
            "{dim:10} {k:16} {:5.1} % ({d}/{n})",
            100.0 * *d as f64 / *n as f64
        );
    }
    println!("missed {}:", missed.len());
    for m in missed.iter().take(400) {
        println!("  {m}");
    }
    let benign = rows(&format!("{dir}/benign.jsonl"));
    let t0 = std::time::Instant::now();
    let mut denied = 0;
    for row in &benign {
        let v = h.on_request(&request(row));
        if v.is_deny() {
            denied += 1;
            let f: Vec<String> = v
                .findings
                .iter()
                .map(|f| format!("{} {}", f.rule_id, f.data))
                .collect();
            println!("benign denied {} {}: {f:?}", row["id"], row["class"]);
        }
    }
    println!(
        "benign denied {denied}/{} in {:?}",
        benign.len(),
        t0.elapsed()
    );
}
