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
