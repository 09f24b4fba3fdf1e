//! The OWASP CRS v4.28.0 regression suite (5,003 go-ftw tests) through the CRS
//! policy, as `examples/crs_ftw.rs` runs it: paranoia 4, detection only, the
//! HTTP layer and albedo backend emulated, `tests/crs-overrides.yaml` applied.
//! Guards the pass rate: every test must pass.

#[allow(dead_code)]
#[path = "../examples/crs_ftw.rs"]
mod driver;

#[test]
fn crs_regression_suite_passes() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let crs = std::env::var("EDGEWAF_CRS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("crs/v4.28.0"));
    let overrides = root.join("tests/crs-overrides.yaml");
    let mut out = Vec::new();
    let s = driver::run_suite(&crs, Some(&overrides), None, &mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    let failures: Vec<&str> = text.lines().filter(|l| l.contains("FAIL")).collect();
    assert!(
        s.passed + s.failed + s.skipped >= 5003,
        "suite not found complete: {s:?}"
    );
    assert_eq!(s.failed, 0, "{}", failures.join("\n"));
}
