//! The policy's config (JSON from the tenant's `[policy.config]` table).
//!
//! ```toml
//! [policy.config]
//! categories = ["sqli", "xss", "lfi", "log4shell", "scanner"]  # default: all
//! disabled_rules = ["sig-xss-5"]                               # default: none
//! paranoia = 1                                                 # 1 (default) to 4
//! ```

use crate::rules::{self, Category, RULES};
use serde::Deserialize;

/// As written by the operator; unknown fields are an error naming them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    disabled_rules: Vec<String>,
    #[serde(default)]
    categories: Option<Vec<Category>>,
    #[serde(default)]
    paranoia: Option<u8>,
}

/// The checked config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Rule ids switched off.
    pub disabled_rules: Vec<&'static str>,
    /// Categories switched on.
    pub categories: Vec<Category>,
    /// Rules up to this paranoia level are on; from 2, every header is searched.
    pub paranoia: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            disabled_rules: Vec::new(),
            categories: Category::ALL.to_vec(),
            paranoia: 1,
        }
    }
}

impl Config {
    /// Parses and checks the JSON config (empty text means all defaults).
    pub fn parse(json: &str) -> Result<Config, String> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let raw: RawConfig =
            serde_json::from_str(json).map_err(|e| format!("signatures config: {e}"))?;
        let mut disabled_rules = Vec::new();
        for (i, id) in raw.disabled_rules.iter().enumerate() {
            let rule = rules::by_id(id).ok_or_else(|| {
                let known: Vec<&str> = RULES.iter().map(|r| r.id).collect();
                format!(
                    "signatures config: disabled_rules[{i}]: unknown rule {id:?} (known rules: {})",
                    known.join(", ")
                )
            })?;
            disabled_rules.push(rule.id);
        }
        let categories = match raw.categories {
            None => Category::ALL.to_vec(),
            Some(c) if c.is_empty() => {
                return Err(
                    "signatures config: categories: an empty list switches every rule off; \
                            leave it out for all categories, or remove the policy"
                        .into(),
                );
            }
            Some(c) => c,
        };
        let paranoia = match raw.paranoia {
            None => 1,
            Some(p @ 1..=4) => p,
            Some(p) => {
                return Err(format!(
                    "signatures config: paranoia: {p} is out of range (use 1 to 4)"
                ));
            }
        };
        Ok(Config {
            disabled_rules,
            categories,
            paranoia,
        })
    }

    /// True when rule `def` is on under this config.
    pub fn enables(&self, def: &rules::RuleDef) -> bool {
        def.paranoia <= self.paranoia
            && self.categories.contains(&def.category)
            && !self.disabled_rules.contains(&def.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        assert_eq!(Config::parse("{}").unwrap(), Config::default());
    }

    #[test]
    fn full_config() {
        let c = Config::parse(
            r#"{"disabled_rules":["sig-xss-5"],"categories":["sqli","log4shell"],"paranoia":2}"#,
        )
        .unwrap();
        assert_eq!(c.disabled_rules, vec!["sig-xss-5"]);
        assert_eq!(c.categories, vec![Category::Sqli, Category::Log4shell]);
        assert_eq!(c.paranoia, 2);
        assert!(c.enables(rules::by_id("sig-sqli-8").unwrap()));
        assert!(!c.enables(rules::by_id("sig-xss-1").unwrap()));
    }

    #[test]
    fn errors_name_the_field() {
        let err = Config::parse(r#"{"disabled_rule":["sig-xss-5"]}"#).unwrap_err();
        assert!(err.contains("unknown field `disabled_rule`"), "{err}");
        let err = Config::parse(r#"{"disabled_rules":["sig-xss-1","sig-xss-99"]}"#).unwrap_err();
        assert!(
            err.contains("disabled_rules[1]") && err.contains("sig-xss-99"),
            "{err}"
        );
        let err = Config::parse(r#"{"categories":["sqli","rce"]}"#).unwrap_err();
        assert!(
            err.contains("unknown variant `rce`") && err.contains("log4shell"),
            "{err}"
        );
        let err = Config::parse(r#"{"categories":[]}"#).unwrap_err();
        assert!(err.contains("categories"), "{err}");
        let err = Config::parse(r#"{"paranoia":5}"#).unwrap_err();
        assert!(err.contains("paranoia: 5"), "{err}");
        let err = Config::parse(r#"{"paranoia":0}"#).unwrap_err();
        assert!(err.contains("paranoia"), "{err}");
        assert!(Config::parse("not json").is_err());
    }
}
