//! Median time per request through the CRS policy natively at paranoia 1
//! (block mode): a benign GET with 8 headers, a 2 KB urlencoded POST and a
//! 20 KB JSON POST. (The Wasm figures come from the host's benchmark.)
//!
//! `CARGO_TARGET_DIR=/tmp/target-crs cargo run --release -p crs --example crs_bench`

use edgewaf_sdk::Request;
use edgewaf_sdk::testing::{Harness, RequestBuilder};
use std::path::PathBuf;
use std::time::Instant;

fn headers(b: RequestBuilder) -> RequestBuilder {
    b.header(
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    )
    .header(
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )
    .header("accept-language", "en-US,en;q=0.5")
    .header("accept-encoding", "gzip, deflate, br")
    .header("referer", "https://example.test/products")
    .header("cookie", "session=0123456789abcdef; theme=dark")
    .header("connection", "keep-alive")
}

fn median_us(h: &Harness<crs::Crs>, req: &Request, n: usize) -> f64 {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let v = h.on_request(req);
            assert!(v.is_allow(), "benign request blocked: {:?}", v.rule_ids());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[n / 2]
}

/// The work one request costs the engine (rules run, skipped, operator calls).
fn stats(cfg: &serde_json::Value, reqs: &[(&str, &Request)]) {
    let cfg = crs::CrsConfig::parse(&cfg.to_string()).expect("config");
    let rules = crs::Crs::load(&cfg).expect("load");
    println!(
        "rules: {}, prefiltered: {}, hoisted: {}, constant: {}",
        rules.len(),
        rules.prefiltered_rules(),
        rules.hoisted_rules(),
        rules.constant_rules()
    );
    for (name, req) in reqs {
        let mut tx = seclang::Transaction::new(&rules, "stats");
        tx.process_connection("198.51.100.7", 40000, "127.0.0.1", 80);
        tx.process_uri(&req.method, &req.target, &req.version);
        for h in &req.headers {
            tx.add_request_header(&h.name, &h.value);
        }
        tx.process_request_headers();
        tx.append_request_body(&req.body);
        tx.process_request_body();
        println!("{name}: {:?}", tx.stats());
    }
}

/// A urlencoded POST of 60 fields, cut at 2 KB.
fn form_post() -> Request {
    let form: String = (0..60)
        .map(|i| format!("field{i}=value+number+{i}+text"))
        .collect::<Vec<_>>()
        .join("&");
    let form = &form[..form.len().min(2048)];
    headers(
        RequestBuilder::new()
            .method("POST")
            .target("/account/update"),
    )
    .header("content-type", "application/x-www-form-urlencoded")
    .header("content-length", form.len().to_string().as_bytes())
    .body(form.as_bytes().to_vec())
    .build()
}

/// A JSON POST of cart items, at most 20 KB and still valid JSON.
fn json_post() -> Request {
    let items: Vec<String> = (0..250)
        .map(|i| format!(r#"{{"id":{i},"name":"item {i}","tags":["a","b"],"price":{i}.5}}"#))
        .collect();
    let mut json = format!(r#"{{"items":[{}]}}"#, items.join(","));
    json.truncate(json.len().min(20 * 1024));
    while serde_json::from_str::<serde_json::Value>(&json).is_err() {
        json = format!(
            r#"{{"items":[{}]}}"#,
            items[..items.len() - (json.len() / 100)].join(",")
        );
    }
    headers(RequestBuilder::new().method("POST").target("/api/cart"))
        .header("content-type", "application/json")
        .header("content-length", json.len().to_string().as_bytes())
        .body(json.into_bytes())
        .build()
}

/// Median µs of the whole exchange, as the host runs it: on_request, then
/// on_response with a small HTML page (phases 3-5).
fn exchange_median_us(h: &Harness<crs::Crs>, get: &Request, n: usize) -> f64 {
    let resp = edgewaf_sdk::Response {
        status: 200,
        headers: vec![
            edgewaf_sdk::Header {
                name: "content-type".into(),
                value: b"text/html".to_vec(),
            },
            edgewaf_sdk::Header {
                name: "content-length".into(),
                value: b"29".to_vec(),
            },
        ],
        body: b"<html><body>ok</body></html>\n".to_vec(),
        body_truncated: false,
    };
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            assert!(h.on_request(get).is_allow());
            assert!(h.on_response(get, &resp).is_allow());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

fn main() {
    let crs = std::env::var("EDGEWAF_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../crs/v4.28.0"));
    let cfg = serde_json::json!({"rules": [crs.join("crs-setup.conf.example"), crs.join("rules/*.conf")]});
    let t = Instant::now();
    let h = Harness::<crs::Crs>::new(&cfg.to_string()).expect("load CRS");
    println!("load CRS: {:?}", t.elapsed());

    let get = headers(RequestBuilder::new().target("/products/list?page=2&sort=price")).build();
    let post = form_post();
    let jpost = json_post();
    if std::env::args().any(|a| a == "--stats") {
        stats(&cfg, &[("GET", &get), ("POST", &post), ("JSON", &jpost)]);
        return;
    }
    // `--get-only`, `--post-only`, `--json-only`, `--exchange-only` (the
    // GET's whole exchange): one workload, a fixed amount of work
    // (CRS_BENCH_ITERS=N requests), e.g. to count instructions with
    // `valgrind --tool=callgrind` (N=0 gives the load).
    let only = [
        ("--get-only", &get, false),
        ("--post-only", &post, false),
        ("--json-only", &jpost, false),
        ("--exchange-only", &get, true),
    ];
    if let Some(&(_, req, exchange)) = only
        .iter()
        .find(|(flag, _, _)| std::env::args().any(|a| a == *flag))
    {
        let n = std::env::var("CRS_BENCH_ITERS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2_000);
        if n > 0 {
            // One request first, outside what is counted: what the first
            // request builds once (buffers grown to size; until the rule set
            // built libinjection's keyword table at load, that table too, 4.3
            // M instructions) is not a per-request cost.
            h.on_request(req);
            if exchange {
                exchange_median_us(&h, req, n);
            } else {
                median_us(&h, req, n);
            }
        }
        return;
    }
    println!("benign GET, 8 headers: {:.0} µs", median_us(&h, &get, 400));
    println!(
        "benign GET + 29 B HTML response (phases 1-5): {:.0} µs",
        exchange_median_us(&h, &get, 400)
    );
    println!(
        "{} B urlencoded POST: {:.0} µs",
        post.body.len(),
        median_us(&h, &post, 200)
    );
    println!(
        "{} B JSON POST: {:.0} µs",
        jpost.body.len(),
        median_us(&h, &jpost, 100)
    );
}
