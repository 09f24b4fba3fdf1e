//! # seclang: a SecLang (ModSecurity rule language) engine in pure Rust
//!
//! It runs the OWASP Core Rule Set v4. The pipeline is visible in the types:
//!
//! 1. Load: [`RuleSet::from_files`] / [`RuleSet::from_text`] or
//!    [`RuleSetBuilder`] (files, globs, inline text in any order). Every error
//!    is a [`ParseError`] naming file and line. Operators compile their
//!    arguments once (regexes, Aho-Corasick automata).
//! 2. Share: a [`RuleSet`] is immutable and `Send + Sync`.
//! 3. Evaluate: one [`Transaction`] per request, fed in the order of the
//!    five [`Phase`]s (documented there); read [`Transaction::matched_rules`],
//!    [`Transaction::intervention`] and the anomaly scores with
//!    [`Transaction::tx_var`].
//!
//! ```
//! use seclang::{RuleSet, Transaction};
//! let rs = RuleSet::from_text("inline", r#"
//! SecRuleEngine On
//! SecRule ARGS "@contains evil" "id:1,phase:1,deny,status:403,msg:'evil arg'"
//! "#).unwrap();
//! let mut tx = Transaction::new(&rs, "req-1");
//! tx.process_uri("GET", "/?q=evil", "HTTP/1.1");
//! tx.process_request_headers();
//! assert_eq!(tx.intervention().unwrap().status, 403);
//! assert_eq!(tx.matched_rules()[0].msg, "evil arg");
//! ```
#![deny(missing_docs)]
// The API: the types below, plus three modules that policies and the fuzz
// harness call directly (body processors, libinjection, transformations).
// Everything else is `pub(crate)`; `unreachable_pub` keeps it that way.
#![deny(unreachable_pub)]

mod actions;
pub mod bodyprocessors;
mod config;
mod error;
pub mod injection;
mod macros;
mod operators;
mod parser;
mod phase;
mod prefilter;
#[cfg(test)]
mod registry_check;
mod rule;
mod ruleset;
mod transaction;
pub mod transform;
mod variables;

pub use config::EngineMode;
pub use error::ParseError;
pub use parser::RuleSetBuilder;
pub use phase::Phase;
pub use rule::Rule;
pub use ruleset::RuleSet;
pub use transaction::{EvalStats, Intervention, MatchedRule, Transaction};
