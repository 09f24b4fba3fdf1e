//! Runs the OWASP CRS regression suite (go-ftw YAML) natively through the CRS
//! policy, with CRS's own test setup (paranoia 4, detection only).
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-crs cargo run --release -p crs --example crs_ftw -- \
//!     [--crs DIR] [--overrides FILE] [--filter SUBSTRING]
//! ```
//!
//! `--crs` defaults to `$EDGEWAF_CRS_DIR`, else `<repo>/crs/v4.28.0` (the vendored release);
//! `--overrides` defaults to `<repo>/tests/crs-overrides.yaml` when it exists.
//! Responses for `/reflect` emulate albedo: status, headers and body come from
//! the request's JSON body.

use edgewaf_ftw::http::{prepare, reflect};
use edgewaf_ftw::{FtwRequest, Outcome, Overrides};
use edgewaf_sdk::Header;
use edgewaf_sdk::testing::{Harness, RequestBuilder};
use edgewaf_sdk::{Action, Response};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut crs = std::env::var("EDGEWAF_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("crs/v4.28.0"));
    let mut overrides_path = Some(repo_root().join("tests/crs-overrides.yaml"));
    let mut filter: Option<String> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--crs" => crs = PathBuf::from(args.next().expect("--crs DIR")),
            "--overrides" => overrides_path = args.next().map(PathBuf::from),
            "--no-overrides" => overrides_path = None,
            "--filter" => filter = args.next(),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let overrides = overrides_path.filter(|p| p.exists());
    match run_suite(
        &crs,
        overrides.as_deref(),
        filter.as_deref(),
        &mut std::io::stdout(),
    ) {
        Ok(s) if s.failed == 0 => {}
        Ok(_) => std::process::exit(1),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

/// Runs the suite found under `crs` (its `tests/tests`), printing per-file
/// counts, failures and the closing `N passed, N failed, N skipped` line.
pub fn run_suite(
    crs: &Path,
    overrides: Option<&Path>,
    filter: Option<&str>,
    out: &mut dyn std::io::Write,
) -> Result<edgewaf_ftw::Summary, String> {
    let rules = [crs.join("crs-setup.conf.example"), crs.join("rules/*.conf")];
    let config = edgewaf_ftw::crs_test_config(&rules.map(|p| p.display().to_string()));
    let t0 = std::time::Instant::now();
    let h = Harness::<crs::Crs>::new(&config.to_string())
        .map_err(|e| format!("cannot load CRS: {e}"))?;
    eprintln!("loaded CRS in {:?}", t0.elapsed());
    let overrides = match overrides {
        Some(p) => Overrides::load(p)?,
        None => Overrides::default(),
    };
    let mut files = edgewaf_ftw::load_dir(&crs.join("tests/tests"))?;
    if let Some(f) = filter {
        files.retain(|x| x.path.to_string_lossy().contains(f));
    }
    let mut n = 0u64;
    let t1 = std::time::Instant::now();
    let summary = edgewaf_ftw::run(&files, &overrides, |r| send(&h, r, &mut n), out);
    let total = summary.passed + summary.failed;
    eprintln!(
        "pass rate {:.2}% ({} requests in {:?}; {} overrides)",
        100.0 * summary.passed as f64 / total.max(1) as f64,
        n,
        t1.elapsed(),
        overrides.count()
    );
    Ok(summary)
}

/// One request through the emulated HTTP layer, the policy and the backend.
fn send(h: &Harness<crs::Crs>, r: &FtwRequest, n: &mut u64) -> Outcome {
    *n += 1;
    let r = &match prepare(r) {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let mut b = RequestBuilder::new().method(&r.method).target(&r.uri);
    for (k, v) in &r.headers {
        b = b.header(k, v.as_bytes());
    }
    let mut req = b.body(r.body.clone()).build();
    req.headers.remove(0); // the builder's default host header
    req.version = r.version.clone();
    req.id = format!("ftw-{n}");
    let v = h.on_request(&req);
    let mut ids: Vec<u32> = v
        .findings
        .iter()
        .filter_map(|f| f.rule_id.parse().ok())
        .collect();
    let mut lines: Vec<String> = v.findings.iter().map(log_line).collect();
    let status = match &v.action {
        Action::Deny(d) => Some(d.status),
        Action::Redirect(_) => Some(302),
        Action::Fail(_) => Some(500),
        Action::Allow => {
            let rf = reflect(r);
            let resp = Response {
                status: rf.status,
                headers: rf
                    .headers
                    .iter()
                    .map(|(n, v)| Header::new(n, v.as_bytes()))
                    .collect(),
                body: rf.body,
                body_truncated: false,
            };
            let rv = h.on_response(&req, &resp);
            ids.extend(
                rv.findings
                    .iter()
                    .filter_map(|f| f.rule_id.parse::<u32>().ok()),
            );
            lines.extend(rv.findings.iter().map(log_line));
            match &rv.action {
                Action::Deny(d) => Some(d.status),
                _ => Some(resp.status),
            }
        }
    };
    Outcome {
        status,
        logged_rule_ids: ids,
        log_lines: lines,
    }
}

fn log_line(f: &edgewaf_sdk::Finding) -> String {
    edgewaf_ftw::http::log_line(&f.rule_id, &f.message, &f.data, &f.tags)
}
