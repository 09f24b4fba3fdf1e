//! # auth-hmac: signed requests and webhooks
//!
//! The sender signs each request with a shared secret (HMAC-SHA256) over a
//! canonical string that binds the time, the method, the exact request-target
//! and the body; the policy recomputes it and compares in constant time.
//! Requests outside the timestamp window are refused, so a captured request
//! cannot be replayed later; with `reject_replays` even a replay inside the
//! window is refused.
//!
//! ## The canonical string
//!
//! Four lines joined by `\n` (no trailing newline):
//!
//! ```text
//! {timestamp}\n{METHOD}\n{request-target}\n{hex(sha256(body))}
//! ```
//!
//! * `timestamp`: the `x-timestamp` header exactly as sent (Unix seconds);
//! * `METHOD`: the method as received, e.g. `POST`;
//! * `request-target`: path and query exactly as sent, e.g. `/hooks/pay?v=2`;
//! * the lower-case hex SHA-256 of the raw body (of the empty string when there
//!   is none: `e3b0c442…b855`).
//!
//! The signature header carries `v1=<hex>` or `sha256=<hex>` (lower- or
//! upper-case hex of the 32-byte HMAC); several comma-separated entries are
//! accepted (one per secret while rotating). A sender in shell:
//!
//! ```text
//! ts=$(date +%s); body='{"amount":42}'
//! sig=$(printf '%s\n%s\n%s\n%s' "$ts" POST /hooks/pay "$(printf %s "$body" | sha256sum | cut -d' ' -f1)" \
//!       | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
//! curl -H "x-timestamp: $ts" -H "x-key-id: partner-7" -H "x-signature: v1=$sig" -d "$body" .../hooks/pay
//! ```
//!
//! ## Config
//!
//! ```toml
//! [[policy]]
//! module = "auth-hmac"
//! [policy.config]
//! signature_header = "x-signature"   # default
//! timestamp_header = "x-timestamp"   # default
//! key_id_header = "x-key-id"         # default; without it, every key is tried
//! tolerance_seconds = 300            # default: timestamps within ±5 minutes
//! reject_replays = false             # default; true remembers signatures for the window
//! keys = [
//!   { id = "partner-7", secret = "whsec_9c1f...at-least-16-bytes" },
//! ]
//! ```
//!
//! The policy asks the host for the request body. If the host had to cut the
//! body (it is longer than the tenant's inspection limit) the signature cannot
//! be checked, and the request is refused with 413 and the finding
//! `hmac-body-truncated`: raise the tenant's body limit for the signed routes.
//!
//! ## Outcomes
//!
//! Every refusal is a 401 (except the truncated body, 413) with one finding:
//! `hmac-missing-signature`, `hmac-missing-timestamp`, `hmac-bad-timestamp`
//! (not an integer), `hmac-stale-timestamp`, `hmac-future-timestamp`,
//! `hmac-bad-signature-format`, `hmac-unknown-key`, `hmac-bad-signature`,
//! `hmac-replayed`, `hmac-body-truncated`. An accepted request carries the
//! annotation `hmac.key_id`. Secrets and signatures are never logged.
#![deny(missing_docs)]

use edgewaf_sdk::prelude::*;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;
/// Most signature entries looked at in one header.
const MAX_SIGNATURES: usize = 8;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    keys: Vec<KeyConfig>,
    #[serde(default = "default_signature_header")]
    signature_header: String,
    #[serde(default = "default_timestamp_header")]
    timestamp_header: String,
    #[serde(default = "default_key_id_header")]
    key_id_header: String,
    #[serde(default = "default_tolerance")]
    tolerance_seconds: u32,
    #[serde(default)]
    reject_replays: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyConfig {
    id: String,
    secret: String,
}

fn default_signature_header() -> String {
    "x-signature".into()
}
fn default_timestamp_header() -> String {
    "x-timestamp".into()
}
fn default_key_id_header() -> String {
    "x-key-id".into()
}
fn default_tolerance() -> u32 {
    300
}

/// The auth-hmac policy.
pub struct AuthHmac {
    keys: Vec<(String, Vec<u8>)>,
    signature_header: String,
    timestamp_header: String,
    key_id_header: String,
    tolerance: i64,
    reject_replays: bool,
}

impl Policy for AuthHmac {
    fn init(config: &str) -> Result<Self, String> {
        let c: Config =
            serde_json::from_str(config).map_err(|e| format!("auth-hmac config: {e}"))?;
        if c.keys.is_empty() {
            return Err(
                "auth-hmac config: \"keys\" is empty; add at least one { id, secret }".into(),
            );
        }
        let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, k) in c.keys.into_iter().enumerate() {
            if k.id.is_empty() {
                return Err(format!("auth-hmac config: keys[{i}].id must not be empty"));
            }
            if keys.iter().any(|(id, _)| *id == k.id) {
                return Err(format!(
                    "auth-hmac config: keys[{i}].id \"{}\" is used twice",
                    k.id
                ));
            }
            if k.secret.len() < MIN_SECRET_BYTES {
                return Err(format!(
                    "auth-hmac config: keys[{i}].secret (\"{}\") is {} bytes; use at least {MIN_SECRET_BYTES}",
                    k.id,
                    k.secret.len()
                ));
            }
            keys.push((k.id, k.secret.into_bytes()));
        }
        for (field, name) in [
            ("signature_header", &c.signature_header),
            ("timestamp_header", &c.timestamp_header),
            ("key_id_header", &c.key_id_header),
        ] {
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !ok {
                return Err(format!(
                    "auth-hmac config: {field}: \"{name}\" is not a valid header name"
                ));
            }
        }
        if c.tolerance_seconds == 0 {
            return Err("auth-hmac config: tolerance_seconds must be at least 1".into());
        }
        Ok(AuthHmac {
            keys,
            signature_header: c.signature_header,
            timestamp_header: c.timestamp_header,
            key_id_header: c.key_id_header,
            tolerance: i64::from(c.tolerance_seconds),
            reject_replays: c.reject_replays,
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            request_body: true,
            inspect_response: false,
        }
    }

    fn on_request(&self, req: &Request) -> Verdict {
        match self.check(req) {
            Ok(key_id) => Verdict::allow().with_annotation("hmac.key_id", key_id),
            Err(r) => {
                let status = if r.id == "hmac-body-truncated" {
                    413
                } else {
                    401
                };
                let mut finding = Finding::new(r.id, r.message)
                    .severity(Severity::Warning)
                    .tag("auth-hmac");
                if !r.data.is_empty() {
                    finding = finding.data(&r.data);
                }
                Verdict::deny_status(status, format!("auth-hmac: {}", r.message))
                    .with_finding(finding)
            }
        }
    }
}

edgewaf_sdk::export_policy!(AuthHmac);

/// Why a request was refused.
struct Refusal {
    id: &'static str,
    message: &'static str,
    data: String,
}

fn refusal(id: &'static str, message: &'static str) -> Refusal {
    Refusal {
        id,
        message,
        data: String::new(),
    }
}

impl AuthHmac {
    fn check(&self, req: &Request) -> Result<String, Refusal> {
        let sig_header = single_header(req, &self.signature_header)?
            .ok_or_else(|| refusal("hmac-missing-signature", "no signature header"))?;
        let ts_text = single_header(req, &self.timestamp_header)?
            .ok_or_else(|| refusal("hmac-missing-timestamp", "no timestamp header"))?;
        let ts: i64 = ts_text
            .parse()
            .ok()
            .filter(|_| ts_text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| refusal("hmac-bad-timestamp", "timestamp is not Unix seconds"))?;
        let now = (host::now_ms() / 1000) as i64;
        if ts < now - self.tolerance {
            return Err(Refusal {
                id: "hmac-stale-timestamp",
                message: "timestamp outside the tolerance (stale or replayed)",
                data: format!("age {}s", now.saturating_sub(ts)),
            });
        }
        if ts > now + self.tolerance {
            return Err(Refusal {
                id: "hmac-future-timestamp",
                message: "timestamp too far in the future",
                data: format!("ahead {}s", ts.saturating_sub(now)),
            });
        }
        if req.body_truncated {
            return Err(refusal(
                "hmac-body-truncated",
                "body longer than the tenant's inspection limit; the signature cannot be checked",
            ));
        }
        let signatures = parse_signatures(&sig_header).ok_or_else(|| {
            refusal(
                "hmac-bad-signature-format",
                "signature header is not v1=<hex> or sha256=<hex>",
            )
        })?;
        let candidates: Vec<&(String, Vec<u8>)> = match single_header(req, &self.key_id_header)? {
            Some(id) => match self.keys.iter().find(|(k, _)| *k == id) {
                Some(k) => vec![k],
                None => {
                    return Err(Refusal {
                        id: "hmac-unknown-key",
                        message: "unknown key id",
                        data: id,
                    });
                }
            },
            None => self.keys.iter().collect(),
        };
        let canonical = canonical_string(&ts_text, req);
        for (id, secret) in candidates {
            let Ok(mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                continue;
            };
            let mac = mac.chain_update(canonical.as_bytes());
            // `verify_slice` compares in constant time.
            if signatures
                .iter()
                .any(|sig| mac.clone().verify_slice(sig).is_ok())
            {
                self.check_replay(id, &canonical)?;
                return Ok(id.clone());
            }
        }
        Err(refusal("hmac-bad-signature", "signature does not match"))
    }

    /// With `reject_replays`, remembers the signed request (key id and
    /// canonical string) for twice the tolerance, the time it stays
    /// acceptable, and refuses it when seen again.
    fn check_replay(&self, key_id: &str, canonical: &str) -> Result<(), Refusal> {
        if !self.reject_replays {
            return Ok(());
        }
        let seen = Sha256::new()
            .chain_update(key_id)
            .chain_update([0u8])
            .chain_update(canonical)
            .finalize();
        let key = format!("auth-hmac:seen:{}", hex(&seen));
        if host::kv_get(&key).is_some() {
            return Err(refusal(
                "hmac-replayed",
                "this signed request was already seen",
            ));
        }
        let ttl_ms = u32::try_from(self.tolerance.saturating_mul(2_000)).unwrap_or(u32::MAX);
        host::kv_set(&key, b"1", ttl_ms);
        Ok(())
    }
}

/// `{timestamp}\n{METHOD}\n{request-target}\n{hex(sha256(body))}`.
pub fn canonical_string(timestamp: &str, req: &Request) -> String {
    format!(
        "{timestamp}\n{}\n{}\n{}",
        req.method,
        req.target,
        hex(&Sha256::digest(&req.body))
    )
}

/// The header's value, trimmed; an error if it appears more than once.
fn single_header(req: &Request, name: &str) -> Result<Option<String>, Refusal> {
    let mut all = req.header_all(name);
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(Some(lossy(v).trim().to_string())),
        (Some(_), Some(_)) => Err(Refusal {
            id: "hmac-bad-signature-format",
            message: "a signing header was sent more than once",
            data: name.to_string(),
        }),
    }
}

/// `v1=<hex>[, sha256=<hex>...]` → the decoded signatures.
fn parse_signatures(value: &str) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for entry in value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .take(MAX_SIGNATURES)
    {
        let (scheme, hex_sig) = entry.split_once('=')?;
        if !matches!(scheme.trim(), "v1" | "sha256") {
            return None;
        }
        out.push(unhex(hex_sig.trim())?);
    }
    (!out.is_empty()).then_some(out)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(((p[0] as char).to_digit(16)? * 16 + (p[1] as char).to_digit(16)?) as u8))
        .collect()
}

#[cfg(test)]
mod tests;
