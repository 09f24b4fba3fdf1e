//! The policy's config (JSON from the tenant's `[policy.config]` table),
//! checked once in `init`; every error names the rule and field to fix.
//!
//! ```toml
//! [policy.config]
//! status = 429                      # default 429
//!
//! [[policy.config.rules]]
//! name = "login-per-ip"             # letters, digits, `-`, `_`, `.`; unique
//! key = "ip"                        # "ip" | "header:<name>" | "annotation:<key>" | "global"
//! path_prefix = "/login"            # default: every path
//! methods = ["POST"]                # default: every method
//! limit = 10                        # requests per window (token bucket: refill per window)
//! window_secs = 60
//! algorithm = "sliding_window"      # or "token_bucket"
//! burst = 20                        # token bucket only: bucket size (default: limit)
//! penalty_secs = 300                # block the key this long after it exceeds (default 0: off)
//! ```

use crate::key::KeySource;
use serde::Deserialize;

/// Longest window: one day.
pub const MAX_WINDOW_SECS: u32 = 86_400;
/// Longest penalty: one day.
pub const MAX_PENALTY_SECS: u32 = 86_400;

/// How a rule counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Two fixed-window counters, the previous one weighted by how much of it
    /// still overlaps the sliding window. Exact under concurrency (counters are
    /// atomic in the host), smooth at window edges.
    #[default]
    SlidingWindow,
    /// A bucket of `burst` tokens refilled at `limit` per window, kept in the
    /// host's key-value store. Allows short bursts; under heavy concurrency
    /// across instances it may let a few extra requests through.
    TokenBucket,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    rules: Vec<RawRule>,
    #[serde(default)]
    status: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    key: String,
    #[serde(default)]
    path_prefix: Option<String>,
    #[serde(default)]
    methods: Vec<String>,
    limit: u64,
    window_secs: u32,
    #[serde(default)]
    algorithm: Algorithm,
    #[serde(default)]
    burst: Option<u64>,
    #[serde(default)]
    penalty_secs: u32,
}

/// One checked rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Unique name, used in state keys and findings.
    pub name: String,
    /// What identifies a client.
    pub key: KeySource,
    /// Applies only under this path prefix (empty: everywhere).
    pub path_prefix: String,
    /// Applies only to these methods, upper-case (empty: all).
    pub methods: Vec<String>,
    /// Requests per window (token bucket: tokens added per window).
    pub limit: u64,
    /// Window length in milliseconds.
    pub window_ms: u32,
    /// Counting algorithm.
    pub algorithm: Algorithm,
    /// Token bucket size.
    pub burst: u64,
    /// Penalty-box length in milliseconds (0: off).
    pub penalty_ms: u32,
}

/// The checked config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Rules, evaluated in order.
    pub rules: Vec<Rule>,
    /// Deny status.
    pub status: u16,
}

impl Config {
    /// Parses and checks the JSON config.
    pub fn parse(json: &str) -> Result<Config, String> {
        let raw: RawConfig =
            serde_json::from_str(json).map_err(|e| format!("rate-limit config: {e}"))?;
        let status = raw.status.unwrap_or(429);
        if !(400..=599).contains(&status) {
            return Err(format!(
                "rate-limit config: status: {status} is not an HTTP error status (use 400-599, e.g. 429)"
            ));
        }
        if raw.rules.is_empty() {
            return Err("rate-limit config: rules: at least one rule is needed".into());
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.into_iter().enumerate() {
            let rule = Rule::check(i, r, &rules)?;
            rules.push(rule);
        }
        Ok(Config { rules, status })
    }
}

impl Rule {
    /// Checks rules[i] of the config, given the rules before it.
    fn check(i: usize, r: RawRule, earlier: &[Rule]) -> Result<Rule, String> {
        let at = |field: &str| format!("rate-limit config: rules[{i}] ({:?}): {field}", r.name);
        check_name(i, &r.name)?;
        if earlier.iter().any(|x| x.name == r.name) {
            return Err(format!("{}: duplicate rule name", at("name")));
        }
        let key = KeySource::parse(&r.key).map_err(|e| format!("{}: {e}", at("key")))?;
        if r.limit == 0 {
            return Err(format!("{}: must be at least 1", at("limit")));
        }
        if r.window_secs == 0 || r.window_secs > MAX_WINDOW_SECS {
            return Err(format!(
                "{}: {} is out of range (1 to {MAX_WINDOW_SECS})",
                at("window_secs"),
                r.window_secs
            ));
        }
        if r.penalty_secs > MAX_PENALTY_SECS {
            return Err(format!(
                "{}: {} is out of range (0 to {MAX_PENALTY_SECS})",
                at("penalty_secs"),
                r.penalty_secs
            ));
        }
        let burst = burst(&r).map_err(|e| format!("{}: {e}", at("burst")))?;
        let methods = methods(&r.methods).map_err(|e| format!("{}{e}", at("methods")))?;
        let path_prefix = r.path_prefix.unwrap_or_default();
        if !path_prefix.is_empty() && !path_prefix.starts_with('/') {
            return Err(format!(
                "{}: {path_prefix:?} must start with '/'",
                at("path_prefix")
            ));
        }
        Ok(Rule {
            name: r.name,
            key,
            path_prefix,
            methods,
            limit: r.limit,
            window_ms: r.window_secs * 1000,
            algorithm: r.algorithm,
            burst,
            penalty_ms: r.penalty_secs * 1000,
        })
    }
}

fn check_name(i: usize, name: &str) -> Result<(), String> {
    let fits = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fits {
        return Ok(());
    }
    Err(format!(
        "rate-limit config: rules[{i}]: name: {name:?} must be 1-64 letters, digits, '-', '_' or '.'"
    ))
}

/// The rule's burst: a token bucket's own (default `limit`, at least 1); a
/// sliding window has none.
fn burst(r: &RawRule) -> Result<u64, String> {
    match (r.algorithm, r.burst) {
        (Algorithm::TokenBucket, Some(0)) => Err("must be at least 1".into()),
        (Algorithm::TokenBucket, Some(b)) => Ok(b),
        (Algorithm::TokenBucket, None) => Ok(r.limit),
        (Algorithm::SlidingWindow, Some(_)) => Err(
            "only applies to algorithm = \"token_bucket\" (a sliding window allows `limit` per window)"
                .into(),
        ),
        (Algorithm::SlidingWindow, None) => Ok(r.limit),
    }
}

/// The methods upper-cased; an error starts with the offending index, `[j]: ...`.
fn methods(methods: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(methods.len());
    for (j, m) in methods.iter().enumerate() {
        if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!("[{j}]: {m:?} is not an HTTP method"));
        }
        out.push(m.to_ascii_uppercase());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        Config::parse(json).unwrap_err()
    }

    #[test]
    fn full_rule() {
        let c = Config::parse(
            r#"{"status":503,"rules":[{"name":"login","key":"header:X-Api-Key","path_prefix":"/login",
                "methods":["post","Put"],"limit":10,"window_secs":60,"algorithm":"token_bucket",
                "burst":20,"penalty_secs":300}]}"#,
        )
        .unwrap();
        assert_eq!(c.status, 503);
        let r = &c.rules[0];
        assert_eq!(r.key, KeySource::Header("x-api-key".into()));
        assert_eq!(r.methods, vec!["POST", "PUT"]);
        assert_eq!(
            (r.limit, r.window_ms, r.burst, r.penalty_ms),
            (10, 60_000, 20, 300_000)
        );
        assert_eq!(r.algorithm, Algorithm::TokenBucket);
    }

    #[test]
    fn defaults() {
        let c = Config::parse(r#"{"rules":[{"name":"a","key":"ip","limit":5,"window_secs":1}]}"#)
            .unwrap();
        assert_eq!(c.status, 429);
        let r = &c.rules[0];
        assert_eq!(r.algorithm, Algorithm::SlidingWindow);
        assert_eq!((r.burst, r.penalty_ms), (5, 0));
        assert!(r.path_prefix.is_empty() && r.methods.is_empty());
    }

    #[test]
    fn errors_name_rule_and_field() {
        let e = err(r#"{"rules":[{"name":"a","key":"ip","limit":5,"window_secs":1,"windw":3}]}"#);
        assert!(e.contains("unknown field `windw`"), "{e}");
        let e = err(r#"{"rules":[{"name":"a","key":"cookie:x","limit":5,"window_secs":1}]}"#);
        assert!(
            e.contains("rules[0] (\"a\"): key") && e.contains("cookie:x"),
            "{e}"
        );
        let e = err(r#"{"rules":[{"name":"a","key":"ip","limit":0,"window_secs":1}]}"#);
        assert!(e.contains("limit"), "{e}");
        let e = err(r#"{"rules":[{"name":"a","key":"ip","limit":1,"window_secs":0}]}"#);
        assert!(e.contains("window_secs: 0"), "{e}");
        let e = err(r#"{"rules":[{"name":"a","key":"ip","limit":1,"window_secs":1,"burst":3}]}"#);
        assert!(e.contains("burst") && e.contains("token_bucket"), "{e}");
        let e = err(r#"{"rules":[{"name":"a b","key":"ip","limit":1,"window_secs":1}]}"#);
        assert!(e.contains("name"), "{e}");
        let e = err(
            r#"{"rules":[{"name":"a","key":"ip","limit":1,"window_secs":1},{"name":"a","key":"ip","limit":1,"window_secs":1}]}"#,
        );
        assert!(e.contains("rules[1]") && e.contains("duplicate"), "{e}");
        let e = err(
            r#"{"rules":[{"name":"a","key":"ip","limit":1,"window_secs":1,"methods":["GE T"]}]}"#,
        );
        assert!(e.contains("methods[0]"), "{e}");
        let e = err(
            r#"{"rules":[{"name":"a","key":"ip","limit":1,"window_secs":1,"path_prefix":"api"}]}"#,
        );
        assert!(e.contains("path_prefix"), "{e}");
        let e = err(
            r#"{"rules":[{"name":"a","key":"ip","limit":1,"window_secs":1,"algorithm":"leaky"}]}"#,
        );
        assert!(e.contains("leaky"), "{e}");
        assert!(err(r#"{"rules":[]}"#).contains("at least one rule"));
        assert!(err("{}").contains("rules"));
        assert!(
            err(r#"{"rules":[{"name":"a","key":"ip","limit":1,"window_secs":1}],"status":200}"#)
                .contains("status")
        );
    }
}
