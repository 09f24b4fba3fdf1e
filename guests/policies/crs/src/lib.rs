//! # crs: the OWASP Core Rule Set as an edgewaf policy
//!
//! Config (JSON), every field optional except `rules`:
//!
//! ```json
//! {"rules": ["/crs/crs-setup.conf.example", "/crs/rules/*.conf"],
//!  "paranoia_level": 1, "inbound_anomaly_threshold": 5, "outbound_anomaly_threshold": 4,
//!  "rules_text": "SecRuleRemoveById 920350", "detection_only": false}
//! ```
//!
//! Load order: a generated preamble (engine mode, body access, the JSON/XML
//! body processor switch by Content-Type, and a `SecAction` setting the
//! paranoia level and thresholds), then `setup_text`, then the `exclusions`
//! with a `path` (phase-1 `ctl` rules), then the `rules` files in order (globs
//! allowed; with `profile`, the profile's files around them), then the
//! `exclusions` without a path (`SecRuleRemoveById`, `SecRuleUpdateTargetById`),
//! then `rules_text` (tenant overrides). See [`exclusions`] for what each
//! exclusion becomes.
//!
//! `on_request` runs phases 1-2; `on_response` runs phases 3-5. Findings carry
//! the rule id, msg, severity, tags and logdata of every logged rule; the
//! request is denied when the engine is On and a rule's disruptive action
//! fires (CRS: the anomaly score reached its threshold).
#![deny(missing_docs)]

mod config;
pub mod exclusions;
mod policy;

pub use config::CrsConfig;
pub use policy::Crs;

edgewaf_sdk::export_policy!(Crs);
