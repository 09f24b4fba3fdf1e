//! # edgewaf-ftw: run go-ftw regression tests (the OWASP CRS suite)
//!
//! Independent of any engine: it loads tests into neutral structs and judges
//! what a caller-supplied closure reports.
//!
//! 1. [`load_dir`] reads every `*.yaml` test file under a directory (sorted).
//! 2. [`Overrides::load`] reads an overrides file shaped like CRS's
//!    `coraza-overrides.yaml` (every entry must carry a `reason`).
//! 3. [`run`] sends each stage's [`FtwRequest`] to your closure, which returns
//!    an [`Outcome`] (status and the ids of the rules it LOGGED), and prints
//!    per-file counts, each failure with its reason, and the closing line
//!    `N passed, N failed, N skipped`.
#![deny(missing_docs)]

pub mod http;
mod load;
mod overrides;
mod runner;

pub use load::{Expect, FtwFile, FtwRequest, FtwTest, Stage, load_dir, load_file};
pub use overrides::{Override, Overrides};
pub use runner::{Outcome, Summary, run};

/// CRS's own regression-test settings (its tests/README.md): rule 900005 as CRS
/// CI sets it. Load it before the rule files (`setup_text` of the crs policy).
pub const CRS_TEST_SETUP: &str = r#"SecAction "id:900005,phase:1,nolog,pass,ctl:ruleRemoveById=910000,setvar:tx.blocking_paranoia_level=4,setvar:tx.crs_validate_utf8_encoding=1,setvar:tx.arg_name_length=100,setvar:tx.arg_length=400,setvar:tx.total_arg_length=64000,setvar:tx.max_num_args=255,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535""#;

/// The crs policy config for a regression run (paranoia 4, detection only,
/// CRS's test setup) over the given rule files.
pub fn crs_test_config(rules: &[String]) -> serde_json::Value {
    serde_json::json!({
        "rules": rules,
        "paranoia_level": 4,
        "detection_only": true,
        "reject_unparsable_body": false,
        "setup_text": CRS_TEST_SETUP,
    })
}
