//! The tenant's settings as the bundle adapter reads them; `bundle` writes
//! them by serialising the same type.

use serde::{Deserialize, Serialize};

/// The most policies one bundle chains (the adapter's slot imports).
pub const MAX_POLICIES: usize = 8;

/// `mode` of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The first deny or redirect answers the client and ends the chain.
    Block,
    /// Every policy runs; denials are only recorded.
    Detect,
}

/// What a policy failure (trap, deadline, memory) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Fail closed: in block mode the request is denied with `deny_status`.
    #[default]
    Deny,
    /// Skip the failed policy.
    Allow,
}

/// One policy of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// Display name for the decision log.
    pub name: String,
    /// The policy's config, JSON text handed to `init`.
    pub config: String,
}

/// Everything the adapter needs from the tenant file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Tenant name (the `tenant` field policies see).
    pub tenant: String,
    /// The origin used when the platform has no `origin` setting.
    pub upstream: String,
    /// `block` or `detect`.
    pub mode: Mode,
    /// Status of a deny whose policy gave none in 400..=599.
    pub deny_status: u16,
    /// What a failing policy does (`deny` when absent).
    #[serde(default)]
    pub on_error: OnError,
    /// How much of a request body the policies see.
    pub body_limit: usize,
    /// How much of a response body `on-response` sees.
    pub response_body_limit: usize,
    /// The largest request body forwarded (larger: 413).
    pub max_body: usize,
    /// The chain, in order.
    pub policies: Vec<PolicySettings>,
}

impl Settings {
    /// Parses and checks the settings JSON; the error names the field.
    pub fn parse(json: &str) -> Result<Settings, String> {
        let s: Settings =
            serde_json::from_str(json).map_err(|e| format!("bundle settings: {e}"))?;
        s.check()?;
        Ok(s)
    }

    /// Checks what serde cannot: chain length and the deny status.
    pub fn check(&self) -> Result<(), String> {
        if self.policies.is_empty() {
            return Err("bundle settings: the chain has no policy".into());
        }
        if self.policies.len() > MAX_POLICIES {
            return Err(format!(
                "bundle settings: {} policies, at most {MAX_POLICIES}",
                self.policies.len()
            ));
        }
        if !(400..=599).contains(&self.deny_status) {
            return Err(format!(
                "bundle settings: deny_status {} is not in 400..=599",
                self.deny_status
            ));
        }
        Ok(())
    }

    /// The settings as the JSON the adapter reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(n: usize) -> Settings {
        Settings {
            tenant: "t".into(),
            upstream: "http://127.0.0.1:8081".into(),
            mode: Mode::Block,
            deny_status: 403,
            on_error: OnError::Deny,
            body_limit: 131072,
            response_body_limit: 131072,
            max_body: 1048576,
            policies: (0..n)
                .map(|i| PolicySettings {
                    name: format!("p{i}"),
                    config: "{}".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn written_settings_read_back() {
        let s = settings(2);
        assert_eq!(Settings::parse(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        assert!(
            Settings::parse(&settings(0).to_json())
                .unwrap_err()
                .contains("no policy")
        );
        assert!(
            Settings::parse(&settings(9).to_json())
                .unwrap_err()
                .contains("at most 8")
        );
        let typo = settings(1).to_json().replace("\"mode\"", "\"mood\"");
        assert!(Settings::parse(&typo).unwrap_err().contains("mood"));
        let mut s = settings(1);
        s.deny_status = 200;
        assert!(
            Settings::parse(&s.to_json())
                .unwrap_err()
                .contains("deny_status")
        );
    }

    #[test]
    fn on_error_defaults_to_deny() {
        let json = settings(1).to_json().replace(",\"on_error\":\"deny\"", "");
        assert!(!json.contains("on_error"));
        assert_eq!(Settings::parse(&json).unwrap().on_error, OnError::Deny);
    }
}
