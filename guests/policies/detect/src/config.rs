//! The policy's configuration: the tenant's `[policy.config]` table, as JSON.
//!
//! ```toml
//! [[policy]]
//! module = "detect"
//! [policy.config]
//! threshold = 5            # deny when the request's score reaches this
//! max_body = 1048576       # bytes of body inspected; above: `oversize`
//! chunk = 16384            # raw bodies are scanned in chunks of this size
//! oversize = "deny"        # or "allow" (logged with a finding)
//! max_decode_depth = 5     # decoding layers tried per value
//! combine_crs_score = true # add the CRS inbound anomaly score of an earlier crs policy
//! disabled = []            # detector classes not run, e.g. ["mail"]
//! ```

use serde::Deserialize;

/// Every detector class, as named in findings and in `disabled`.
pub const CLASSES: &[&str] = &[
    "sqli",
    "xss",
    "cmdi",
    "path_traversal",
    "ldap",
    "nosql",
    "ssti",
    "ssi",
    "mail",
    "jndi",
    "xxe",
];

/// What to do with a body larger than `max_body` (or truncated by the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Oversize {
    /// Deny the request (the default: nothing passes uninspected).
    Deny,
    /// Let it through, with a finding that says what was not inspected.
    Allow,
}

/// The detect policy's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `threshold = 5`: the score at which the request is denied.
    #[serde(default = "five")]
    pub threshold: u32,
    /// `max_body = 1048576`: bytes of body inspected.
    #[serde(default = "mebibyte")]
    pub max_body: usize,
    /// `chunk = 16384`: chunk size for raw (unparsed) bodies.
    #[serde(default = "sixteen_k")]
    pub chunk: usize,
    /// `oversize = "deny"`.
    #[serde(default = "deny")]
    pub oversize: Oversize,
    /// `max_decode_depth = 5`.
    #[serde(default = "five_usize")]
    pub max_decode_depth: usize,
    /// `combine_crs_score = true`.
    #[serde(default = "yes")]
    pub combine_crs_score: bool,
    /// `disabled = ["mail"]`.
    #[serde(default)]
    pub disabled: Vec<String>,
}

fn five() -> u32 {
    5
}
fn five_usize() -> usize {
    5
}
fn mebibyte() -> usize {
    1 << 20
}
fn sixteen_k() -> usize {
    16 << 10
}
fn deny() -> Oversize {
    Oversize::Deny
}
fn yes() -> bool {
    true
}

impl Config {
    /// Parses and checks the config; errors name the field.
    pub fn parse(json: &str) -> Result<Config, String> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let c: Config = serde_json::from_str(json).map_err(|e| format!("detect config: {e}"))?;
        if c.threshold == 0 {
            return Err("detect config: threshold must be at least 1".into());
        }
        if c.chunk < 1024 {
            return Err(format!(
                "detect config: chunk must be at least 1024 bytes, got {}",
                c.chunk
            ));
        }
        if !(1..=16).contains(&c.max_decode_depth) {
            return Err(format!(
                "detect config: max_decode_depth must be 1-16, got {}",
                c.max_decode_depth
            ));
        }
        if let Some(bad) = c.disabled.iter().find(|d| !CLASSES.contains(&d.as_str())) {
            return Err(format!(
                "detect config: disabled: unknown class \"{bad}\" (known: {})",
                CLASSES.join(", ")
            ));
        }
        Ok(c)
    }

    /// Whether detector `class` runs.
    pub fn enabled(&self, class: &str) -> bool {
        !self.disabled.iter().any(|d| d == class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let c = Config::parse("{}").unwrap();
        assert_eq!(
            (c.threshold, c.oversize, c.max_body),
            (5, Oversize::Deny, 1 << 20)
        );
        assert!(Config::parse("").is_ok());
        let e = Config::parse(r#"{"treshold": 3}"#).unwrap_err();
        assert!(e.contains("treshold"), "{e}");
        let e = Config::parse(r#"{"disabled": ["sql"]}"#).unwrap_err();
        assert!(e.contains("\"sql\""), "{e}");
        assert!(Config::parse(r#"{"oversize": "pass"}"#).is_err());
        assert!(Config::parse(r#"{"threshold": 0}"#).is_err());
        let c = Config::parse(r#"{"disabled": ["mail"], "oversize": "allow"}"#).unwrap();
        assert!(!c.enabled("mail") && c.enabled("sqli"));
    }
}
