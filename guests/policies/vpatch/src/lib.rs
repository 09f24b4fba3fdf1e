//! # vpatch: a virtual patch written as a Rust policy
//!
//! The shape of an emergency rule pushed while a CVE is being exploited: here,
//! OGNL expressions smuggled in the `Content-Type` header (the Apache Struts
//! CVE-2017-5638 pattern, `%{...}` or `${...}`), blocked before the request
//! reaches an unpatched origin. README "Virtual patch in one call" deploys it.
//!
//! ```toml
//! [[policy]]
//! module = "vpatch"
//! [policy.config]
//! headers = ["content-type", "content-disposition"]   # default: ["content-type"]
//! ```

use edgewaf_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_headers")]
    headers: Vec<String>,
}

fn default_headers() -> Vec<String> {
    vec!["content-type".into()]
}

/// The virtual patch.
pub struct VirtualPatch {
    headers: Vec<String>,
}

/// True when `value` carries an expression-language opener.
fn has_expression(value: &[u8]) -> bool {
    value
        .windows(2)
        .any(|w| (w[0] == b'%' || w[0] == b'$') && w[1] == b'{')
}

impl Policy for VirtualPatch {
    fn init(config: &str) -> Result<Self, String> {
        let config = if config.trim().is_empty() {
            "{}"
        } else {
            config
        };
        let c: Config = serde_json::from_str(config).map_err(|e| format!("vpatch config: {e}"))?;
        if c.headers.is_empty() {
            return Err("vpatch config: headers: name at least one header".into());
        }
        Ok(VirtualPatch {
            headers: c.headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
        })
    }

    fn on_request(&self, req: &Request) -> Verdict {
        for name in &self.headers {
            for value in req.header_all(name) {
                if has_expression(value) {
                    return Verdict::deny("virtual patch: expression in header").with_finding(
                        Finding::new("vpatch-1", "OGNL/EL expression in a request header")
                            .tag("attack-rce")
                            .tag("virtual-patch")
                            .data(format!("{name}: {}", lossy(value))),
                    );
                }
            }
        }
        Verdict::allow()
    }
}

edgewaf_sdk::export_policy!(VirtualPatch);

#[cfg(test)]
mod tests {
    use super::*;
    use edgewaf_sdk::testing::Harness;

    #[test]
    fn blocks_ognl_in_content_type() {
        let h = Harness::<VirtualPatch>::new("{}").unwrap();
        let attack = Request::builder()
            .header("content-type", "%{(#_='multipart/form-data').(#cmd='id')}")
            .build();
        let v = h.on_request(&attack);
        assert!(v.is_deny());
        assert_eq!(v.rule_ids(), ["vpatch-1"]);
    }

    #[test]
    fn ordinary_content_types_pass() {
        let h = Harness::<VirtualPatch>::new("{}").unwrap();
        for ct in [
            "application/json",
            "multipart/form-data; boundary=----x%y",
            "text/plain; charset=utf-8",
        ] {
            assert!(
                h.on_request(&Request::builder().header("content-type", ct).build())
                    .is_allow(),
                "{ct}"
            );
        }
    }

    #[test]
    fn configured_headers_and_errors() {
        let h = Harness::<VirtualPatch>::new(r#"{"headers":["X-Forwarded-Host"]}"#).unwrap();
        assert!(
            h.on_request(
                &Request::builder()
                    .header("x-forwarded-host", "${jndi:x}")
                    .build()
            )
            .is_deny()
        );
        assert!(Harness::<VirtualPatch>::new(r#"{"headers":[]}"#).is_err());
        assert!(Harness::<VirtualPatch>::new(r#"{"header":["x"]}"#).is_err());
    }
}
