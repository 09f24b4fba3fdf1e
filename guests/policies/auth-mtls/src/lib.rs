//! # auth-mtls: client certificates, authorised per path
//!
//! The host's TLS layer verifies client certificates against the listener's CA
//! bundle and hands the verified certificate's facts to the policies (subject,
//! issuer, serial, DNS and URI SANs, SHA-256 fingerprint, expiry). This policy
//! decides which of those certificates may use which paths: by issuer, by
//! pinned fingerprint, and by subject or SAN patterns.
//!
//! ## Config
//!
//! ```toml
//! [[policy]]
//! module = "auth-mtls"
//! [policy.config]
//!
//! [[policy.config.rules]]
//! path_prefix = "/terminal"
//! issuer = "CN=Acme POS CA,O=Acme"                 # optional; a string or a list
//! allow_san = ["*.pos.acme.com", "spiffe://acme.com/pos/*"]
//! allow_subject = ["CN=pos-*,O=Acme", "re:CN=kiosk-[0-9]{1,4},O=Acme"]
//!
//! [[policy.config.rules]]
//! path_prefix = "/settlement"
//! pin_sha256 = ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
//!
//! [[policy.config.rules]]
//! path_prefix = "/"                                # everything else: any verified certificate
//! ```
//!
//! * **Which rule**: the rule with the longest `path_prefix` that matches the
//!   path (a prefix matches itself and what lies below it at a `/`). The path
//!   is also read percent-decoded with `.`/`..` resolved; when the two readings
//!   pick different rules, the certificate must pass both. A path no rule
//!   covers is let through untouched.
//! * **Checks of a rule**, all that are set must pass:
//!   a certificate is present (always); it has not expired by the host clock;
//!   its issuer is one of `issuer` (exact RFC 4514 string); its fingerprint is
//!   one of `pin_sha256` (hex, `:` separators and case ignored); one of its DNS
//!   or URI SANs matches `allow_san`, or its subject matches `allow_subject`
//!   (when either list is set).
//! * **Patterns**: a glob where `*` matches within one DNS label (no `.`), one
//!   URI segment (no `/`) or one subject attribute (no `,`), DNS names
//!   compared without regard to case; or a regular expression written
//!   `re:...`. Both must match the whole name.
//!
//! ## Outcomes
//!
//! | situation | status | finding id |
//! |---|---|---|
//! | no client certificate | 401 | `mtls-no-cert` |
//! | certificate expired | 401 | `mtls-cert-expired` |
//! | issuer not accepted | 403 | `mtls-issuer` |
//! | fingerprint not pinned | 403 | `mtls-pin` |
//! | no SAN or subject pattern matches | 403 | `mtls-not-allowed` |
//!
//! The finding's message names the rule and the reason; its data is the
//! certificate's subject. Whenever a certificate is present, the verdict
//! carries the annotations `mtls.subject` and `mtls.sha256`.
#![deny(missing_docs)]

mod paths;
mod pattern;

use edgewaf_sdk::prelude::*;
use paths::{normalise, under};
use pattern::{NameKind, Pattern};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    rules: Vec<RuleConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleConfig {
    path_prefix: String,
    #[serde(default)]
    allow_san: Vec<String>,
    #[serde(default)]
    allow_subject: Vec<String>,
    #[serde(default)]
    pin_sha256: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    issuer: Vec<String>,
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

/// One compiled rule.
struct Rule {
    index: usize,
    path_prefix: String,
    issuers: Vec<String>,
    pins: Vec<String>,
    /// Matched against DNS SANs (as `Dns`) and URI SANs (as `Uri`).
    san_dns: Vec<Pattern>,
    san_uri: Vec<Pattern>,
    subjects: Vec<Pattern>,
}

/// The auth-mtls policy.
pub struct AuthMtls {
    rules: Vec<Rule>,
}

impl Policy for AuthMtls {
    fn init(config: &str) -> Result<Self, String> {
        let c: Config =
            serde_json::from_str(config).map_err(|e| format!("auth-mtls config: {e}"))?;
        if c.rules.is_empty() {
            return Err("auth-mtls config: \"rules\" is empty; add a rule with path_prefix = \"/\" to cover every path".into());
        }
        let mut rules = Vec::with_capacity(c.rules.len());
        for (i, r) in c.rules.into_iter().enumerate() {
            let at = |field: &str| format!("auth-mtls config: rules[{i}].{field}");
            if !r.path_prefix.starts_with('/') {
                return Err(format!(
                    "{}: \"{}\" must start with '/'",
                    at("path_prefix"),
                    r.path_prefix
                ));
            }
            if rules.iter().any(|x: &Rule| x.path_prefix == r.path_prefix) {
                return Err(format!(
                    "{}: \"{}\" has a rule already",
                    at("path_prefix"),
                    r.path_prefix
                ));
            }
            let mut pins = Vec::new();
            for (j, pin) in r.pin_sha256.iter().enumerate() {
                let norm = normalise_fingerprint(pin);
                if norm.len() != 64 || !norm.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!(
                        "{}[{j}]: \"{pin}\" is not a SHA-256 fingerprint (64 hex digits)",
                        at("pin_sha256")
                    ));
                }
                pins.push(norm);
            }
            if r.issuer.iter().any(String::is_empty) {
                return Err(format!("{}: empty issuer", at("issuer")));
            }
            let compile =
                |list: &[String], kind: NameKind, field: &str| -> Result<Vec<Pattern>, String> {
                    list.iter()
                        .enumerate()
                        .map(|(j, s)| Pattern::compile(s, kind, &format!("{}[{j}]", at(field))))
                        .collect()
                };
            rules.push(Rule {
                index: i,
                path_prefix: r.path_prefix,
                issuers: r.issuer,
                pins,
                san_dns: compile(&r.allow_san, NameKind::Dns, "allow_san")?,
                san_uri: compile(&r.allow_san, NameKind::Uri, "allow_san")?,
                subjects: compile(&r.allow_subject, NameKind::Subject, "allow_subject")?,
            });
        }
        Ok(AuthMtls { rules })
    }

    fn on_request(&self, req: &Request) -> Verdict {
        let cert = req
            .connection
            .tls
            .as_ref()
            .and_then(|t| t.client_cert.as_ref());
        let raw = req.path();
        let normalised = normalise(raw);
        let mut rules: Vec<&Rule> = Vec::new();
        for path in [raw, normalised.as_str()] {
            if let Some(rule) = self.rule_for(path)
                && !rules.iter().any(|r| r.index == rule.index)
            {
                rules.push(rule);
            }
        }
        let mut verdict = Verdict::allow();
        for rule in rules {
            if let Err(refusal) = check(rule, cert) {
                verdict = *refusal;
                break;
            }
        }
        match cert {
            Some(c) => verdict
                .with_annotation("mtls.subject", c.subject.clone())
                .with_annotation("mtls.sha256", normalise_fingerprint(&c.sha256)),
            None => verdict,
        }
    }
}

edgewaf_sdk::export_policy!(AuthMtls);

impl AuthMtls {
    /// The rule with the longest prefix covering `path`.
    fn rule_for(&self, path: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| under(path, &r.path_prefix))
            .max_by_key(|r| r.path_prefix.len())
    }
}

/// Checks `cert` against `rule`; the error is the deny verdict.
fn check(rule: &Rule, cert: Option<&PeerCertificate>) -> Result<(), Box<Verdict>> {
    let deny = |status: u16, id: &str, why: &str, subject: &str| {
        let message = format!("rules[{}] ({}): {why}", rule.index, rule.path_prefix);
        Box::new(
            Verdict::deny_status(status, format!("auth-mtls: {message}")).with_finding(
                Finding::new(id, message)
                    .severity(Severity::Warning)
                    .tag("auth-mtls")
                    .data(subject),
            ),
        )
    };
    let Some(cert) = cert else {
        return Err(deny(
            401,
            "mtls-no-cert",
            "a client certificate is required",
            "",
        ));
    };
    let now_s = host::now_ms() / 1000;
    if cert.not_after != 0 && cert.not_after < now_s {
        return Err(deny(
            401,
            "mtls-cert-expired",
            "the client certificate has expired",
            &cert.subject,
        ));
    }
    if !rule.issuers.is_empty() && !rule.issuers.contains(&cert.issuer) {
        let why = format!("issuer \"{}\" is not accepted", cert.issuer);
        return Err(deny(403, "mtls-issuer", &why, &cert.subject));
    }
    if !rule.pins.is_empty() && !rule.pins.contains(&normalise_fingerprint(&cert.sha256)) {
        return Err(deny(
            403,
            "mtls-pin",
            "certificate fingerprint is not pinned",
            &cert.subject,
        ));
    }
    if rule.san_dns.is_empty() && rule.subjects.is_empty() {
        return Ok(());
    }
    let by_dns = cert
        .dns_names
        .iter()
        .any(|n| rule.san_dns.iter().any(|p| p.matches(n)));
    let by_uri = cert
        .uris
        .iter()
        .any(|u| rule.san_uri.iter().any(|p| p.matches(u)));
    let by_subject = rule.subjects.iter().any(|p| p.matches(&cert.subject));
    if by_dns || by_uri || by_subject {
        Ok(())
    } else {
        let allowed: Vec<&str> = rule
            .san_dns
            .iter()
            .chain(&rule.subjects)
            .map(Pattern::source)
            .collect();
        let why = format!(
            "no SAN or subject matches the allowed patterns ({})",
            allowed.join(", ")
        );
        Err(deny(403, "mtls-not-allowed", &why, &cert.subject))
    }
}

/// Lower-case hex without `:` separators or spaces.
fn normalise_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests;
