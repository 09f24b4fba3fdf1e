//! The policy's config (JSON, converted by the host from the tenant's TOML
//! table), checked once at init. See the crate docs for an example.

use crate::alg::Alg;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The config as written by the operator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// An inline JWKS: `jwks = { keys = [ { kty = "RSA", kid = "k1", n = "...", e = "AQAB" } ] }`.
    #[serde(default)]
    pub jwks: Option<Value>,
    /// Path of a JWKS file inside the sandbox (see `mounts`), read once at init: `jwks_file = "/jwks/idp.json"`.
    #[serde(default)]
    pub jwks_file: Option<String>,
    /// Accepted `iss` value(s): `issuer = "https://idp.example.com/"` or a list.
    #[serde(deserialize_with = "one_or_many")]
    pub issuer: Vec<String>,
    /// Accepted `aud` value(s); the token's `aud` must name at least one.
    #[serde(deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    /// Clock skew allowed for `exp`, `nbf` and `iat`: `leeway_seconds = 60` (default).
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u32,
    /// Refuse tokens whose `iat` is older than this: `max_age_seconds = 3600` (default: no limit).
    #[serde(default)]
    pub max_age_seconds: Option<u32>,
    /// Refuse tokens without `exp`: `require_exp = true` (default).
    #[serde(default = "yes")]
    pub require_exp: bool,
    /// Accepted algorithms: `algorithms = ["RS256", "ES256"]` (default: every supported one).
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// Extra requirements per path prefix; every matching rule applies.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Claims copied into upstream request headers: `forward_claims = { sub = "x-auth-sub" }`.
    #[serde(default)]
    pub forward_claims: BTreeMap<String, String>,
    /// Path prefixes where a token is optional (checked when present).
    #[serde(default)]
    pub optional_paths: Vec<String>,
    /// Path prefixes not checked at all.
    #[serde(default)]
    pub skip_paths: Vec<String>,
    /// `realm` of the `WWW-Authenticate` challenge: `realm = "api"` (default `edgewaf`).
    #[serde(default = "default_realm")]
    pub realm: String,
}

/// Requirements for one path prefix.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `path_prefix = "/payments"`: matches `/payments` and `/payments/...`.
    pub path_prefix: String,
    /// Scopes the token must all have (`scope` string or `scp` list).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Claims the token must carry with these values: `claims = { tenant = "acme" }`.
    #[serde(default)]
    pub claims: Map<String, Value>,
}

fn default_leeway() -> u32 {
    60
}
fn yes() -> bool {
    true
}
fn default_realm() -> String {
    "edgewaf".into()
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(vec![s]),
        Ok(OneOrMany::Many(v)) => Ok(v),
        Err(_) => Err(serde::de::Error::custom(
            "expected a string or a list of strings",
        )),
    }
}

/// Headers a claim may never be forwarded into.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "cookie",
    "x-request-id",
];

impl Config {
    /// Parses and checks the config; errors name the field.
    pub fn parse(json: &str) -> Result<Config, String> {
        let c: Config = serde_json::from_str(json).map_err(|e| format!("auth-jwt config: {e}"))?;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), String> {
        match (&self.jwks, &self.jwks_file) {
            (Some(_), Some(_)) => {
                return Err(
                    "auth-jwt config: set either \"jwks\" or \"jwks_file\", not both".into(),
                );
            }
            (None, None) => {
                return Err(
                    "auth-jwt config: \"jwks\" (inline) or \"jwks_file\" (a path) is required"
                        .into(),
                );
            }
            _ => {}
        }
        if self.issuer.is_empty() || self.issuer.iter().any(String::is_empty) {
            return Err("auth-jwt config: \"issuer\" needs at least one non-empty value".into());
        }
        if self.audience.is_empty() || self.audience.iter().any(String::is_empty) {
            return Err("auth-jwt config: \"audience\" needs at least one non-empty value".into());
        }
        if !is_quotable(&self.realm) {
            return Err(
                "auth-jwt config: \"realm\" must be printable ASCII without quotes or backslashes"
                    .into(),
            );
        }
        for (i, rule) in self.rules.iter().enumerate() {
            check_prefix(&rule.path_prefix, &format!("rules[{i}].path_prefix"))?;
            for s in &rule.scopes {
                if s.is_empty()
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
                {
                    return Err(format!(
                        "auth-jwt config: rules[{i}].scopes: \"{s}\" is not a valid scope (RFC 6749 §3.3)"
                    ));
                }
            }
        }
        for (field, list) in [
            ("optional_paths", &self.optional_paths),
            ("skip_paths", &self.skip_paths),
        ] {
            for (i, p) in list.iter().enumerate() {
                check_prefix(p, &format!("{field}[{i}]"))?;
            }
        }
        for (claim, header) in &self.forward_claims {
            let valid = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid {
                return Err(format!(
                    "auth-jwt config: forward_claims.{claim}: \"{header}\" is not a valid header name"
                ));
            }
            if RESERVED_HEADERS.contains(&header.to_ascii_lowercase().as_str()) {
                return Err(format!(
                    "auth-jwt config: forward_claims.{claim}: \"{header}\" may not be set from a claim"
                ));
            }
        }
        self.allowed_algorithms()?;
        Ok(())
    }

    /// The accepted algorithms.
    pub fn allowed_algorithms(&self) -> Result<Vec<Alg>, String> {
        let Some(names) = &self.algorithms else {
            return Ok(Alg::ALL.to_vec());
        };
        if names.is_empty() {
            return Err(
                "auth-jwt config: \"algorithms\" is empty; omit it to accept every supported one"
                    .into(),
            );
        }
        names
            .iter()
            .map(|n| {
                Alg::from_name(n).ok_or_else(|| {
                    let known: Vec<&str> = Alg::ALL.iter().map(|a| a.name()).collect();
                    format!(
                        "auth-jwt config: algorithms: \"{n}\" is not one of {}",
                        known.join(", ")
                    )
                })
            })
            .collect()
    }
}

fn check_prefix(p: &str, field: &str) -> Result<(), String> {
    if p.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "auth-jwt config: {field}: \"{p}\" must start with '/'"
        ))
    }
}

fn is_quotable(s: &str) -> bool {
    s.bytes()
        .all(|b| (b == b' ' || b.is_ascii_graphic()) && b != b'"' && b != b'\\')
}
