//! # auth-apikey: API keys checked against stored hashes
//!
//! Clients send a key in a header (default `x-api-key`) or, if configured, a
//! query parameter. The policy keeps only the SHA-256 of each key, compares
//! the hash of the presented key with every stored hash in constant time, and
//! on a match lets the request through with the key's **name** in the
//! annotation `apikey.name`: the decision log shows it, and a rate-limit
//! policy later in the chain can count per name. The key itself is never
//! logged, put in a finding, or kept.
//!
//! ## Config
//!
//! ```toml
//! [[policy]]
//! module = "auth-apikey"
//! [policy.config]
//! header = "x-api-key"          # default
//! query_param = "api_key"       # optional: also accept ?api_key=...
//! strip = true                  # default: remove the key header before forwarding
//! keys = [
//!   # sha256 = lower- or upper-case hex of SHA-256(key)
//!   { name = "partner-7", sha256 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8" },
//! ]
//! ```
//!
//! Make a key and its hash with, for example:
//! `key=$(openssl rand -hex 32); printf %s "$key" | sha256sum`.
//!
//! The header wins when both a header and the query parameter carry a key. A
//! key in the query string cannot be removed from the URL the upstream sees;
//! prefer the header.
//!
//! ## Outcomes
//!
//! | situation | status | finding id |
//! |---|---|---|
//! | no key (or an empty one) | 401 | `apikey-missing` |
//! | a key that matches no stored hash | 401 | `apikey-invalid` |
//! | the key header sent more than once | 401 | `apikey-ambiguous` |
//! | a matching key | allow, annotation `apikey.name` | — |
#![deny(missing_docs)]

use edgewaf_sdk::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    keys: Vec<KeyConfig>,
    #[serde(default = "default_header")]
    header: String,
    #[serde(default)]
    query_param: Option<String>,
    #[serde(default = "yes")]
    strip: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyConfig {
    name: String,
    sha256: String,
}

fn default_header() -> String {
    "x-api-key".into()
}
fn yes() -> bool {
    true
}

struct StoredKey {
    name: String,
    hash: [u8; 32],
}

/// The auth-apikey policy.
pub struct AuthApiKey {
    keys: Vec<StoredKey>,
    header: String,
    query_param: Option<String>,
    strip: bool,
}

impl Policy for AuthApiKey {
    fn init(config: &str) -> Result<Self, String> {
        let c: Config =
            serde_json::from_str(config).map_err(|e| format!("auth-apikey config: {e}"))?;
        if c.keys.is_empty() {
            return Err(
                "auth-apikey config: \"keys\" is empty; add at least one { name, sha256 }".into(),
            );
        }
        let mut keys: Vec<StoredKey> = Vec::with_capacity(c.keys.len());
        for (i, k) in c.keys.into_iter().enumerate() {
            if k.name.is_empty() || k.name.chars().any(char::is_control) {
                return Err(format!(
                    "auth-apikey config: keys[{i}].name must be non-empty text"
                ));
            }
            let hash = parse_hex32(&k.sha256).ok_or_else(|| {
                format!(
                    "auth-apikey config: keys[{i}].sha256 (\"{}\") must be 64 hex digits",
                    k.name
                )
            })?;
            if let Some(other) = keys.iter().find(|s| s.hash == hash) {
                return Err(format!(
                    "auth-apikey config: keys[{i}].sha256 (\"{}\") repeats the hash of \"{}\"",
                    k.name, other.name
                ));
            }
            keys.push(StoredKey { name: k.name, hash });
        }
        let header_ok = !c.header.is_empty()
            && c.header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !header_ok {
            return Err(format!(
                "auth-apikey config: header: \"{}\" is not a valid header name",
                c.header
            ));
        }
        if c.query_param.as_deref() == Some("") {
            return Err("auth-apikey config: query_param must not be empty".into());
        }
        Ok(AuthApiKey {
            keys,
            header: c.header.to_ascii_lowercase(),
            query_param: c.query_param,
            strip: c.strip,
        })
    }

    fn on_request(&self, req: &Request) -> Verdict {
        let verdict = self.decide(req);
        if self.strip {
            verdict.without_request_header(&self.header)
        } else {
            verdict
        }
    }
}

edgewaf_sdk::export_policy!(AuthApiKey);

impl AuthApiKey {
    fn decide(&self, req: &Request) -> Verdict {
        let mut in_header = req.header_all(&self.header);
        let (presented, source) = match (in_header.next(), in_header.next()) {
            (Some(_), Some(_)) => {
                return refuse(
                    "apikey-ambiguous",
                    "the API key header was sent more than once",
                    &self.header,
                );
            }
            (Some(v), None) => (v.to_vec(), format!("header {}", self.header)),
            (None, _) => match self
                .query_param
                .as_ref()
                .and_then(|q| req.query_param(q).map(|v| (q, v)))
            {
                Some((q, v)) => (v.into_bytes(), format!("query parameter {q}")),
                None => (Vec::new(), String::new()),
            },
        };
        let presented = presented.trim_ascii();
        if presented.is_empty() {
            return refuse("apikey-missing", "no API key", &self.header);
        }
        match self.lookup(presented) {
            Some(key) => Verdict::allow().with_annotation("apikey.name", key.name.clone()),
            None => refuse(
                "apikey-invalid",
                "API key matches no configured key",
                &source,
            ),
        }
    }

    /// The stored key whose hash equals SHA-256(`presented`). Every stored
    /// hash is compared, in constant time, whatever matches.
    fn lookup(&self, presented: &[u8]) -> Option<&StoredKey> {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        let mut found = subtle::Choice::from(0);
        let mut index = 0u32;
        for (i, k) in self.keys.iter().enumerate() {
            let hit = k.hash.ct_eq(&digest);
            index.conditional_assign(&(i as u32), hit);
            found |= hit;
        }
        bool::from(found)
            .then(|| self.keys.get(index as usize))
            .flatten()
    }
}

fn refuse(id: &str, message: &str, source: &str) -> Verdict {
    Verdict::deny_status(401, format!("auth-apikey: {message}")).with_finding(
        Finding::new(id, message)
            .severity(Severity::Warning)
            .tag("auth-apikey")
            .data(source),
    )
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
