//! # auth-jwt: JWT bearer tokens at the edge
//!
//! Verifies `Authorization: Bearer <JWT>` on every request: the signature
//! against a JSON Web Key Set, then `exp`/`nbf`/`iat` against the host clock
//! (with leeway), the issuer and the audience, then the scopes and claims that
//! the request's path requires. A valid token lets the request through with the
//! claims you choose copied into upstream headers; anything else is refused.
//!
//! Supported algorithms: HS256/384/512, RS256/384/512, PS256/384/512,
//! ES256/384 and EdDSA (Ed25519). `alg: none` is always refused, and so is a
//! token whose `alg` does not fit the key it names (for example an HS256 token
//! pointing at an RSA key: the RSA key is never used as an HMAC secret).
//!
//! ## Config
//!
//! In the tenant's policy file (the host hands it to the policy as JSON):
//!
//! ```toml
//! [[policy]]
//! module = "auth-jwt"
//! mounts = { "/jwks" = "/etc/edgewaf/jwks" } # host folder, read-only in the sandbox
//! [policy.config]
//! jwks_file = "/jwks/idp.json"               # or inline: jwks = { keys = [ ... ] }
//! issuer = "https://idp.example.com/"        # one string or a list
//! audience = "payments-api"                  # one string or a list
//! leeway_seconds = 60                        # default 60
//! # max_age_seconds = 3600                   # refuse tokens issued longer ago (needs iat)
//! # require_exp = true                       # default true
//! # algorithms = ["RS256", "ES256"]          # default: all supported
//! # realm = "payments"                       # WWW-Authenticate realm, default "edgewaf"
//! optional_paths = ["/catalog"]              # token checked only when present
//! skip_paths = ["/health", "/public"]        # never checked
//! forward_claims = { sub = "x-auth-sub", tenant = "x-auth-tenant" }
//!
//! [[policy.config.rules]]
//! path_prefix = "/payments"
//! scopes = ["payments:write"]
//! claims = { tenant = "acme" }
//! ```
//!
//! * **Keys**: `jwks` is an inline JWKS, `jwks_file` the path of one (read once
//!   when the policy starts, from a folder the tenant file `mounts` into the
//!   sandbox read-only; to rotate keys, update the file and reload the tenant).
//!   Keys with `use` other than `sig`, unsupported types or curves are skipped
//!   with a log line; a malformed key of a supported type, an RSA modulus under
//!   2048 bits, an HMAC secret shorter than its hash, or a public JWK holding
//!   private material (`d`) stops the policy from starting, naming the key.
//!   With a `kid` in the token, only the keys with that `kid` are tried;
//!   without one, every key that fits the algorithm.
//! * **Paths**: a prefix matches the path itself and everything below it at a
//!   `/` (`/payments` matches `/payments/42`, not `/paymentsx`). Encoded and
//!   dotted paths (`/public/..%2fpayments`) are also matched after
//!   normalisation: rules apply if either form matches, a path is skipped only
//!   if both forms are.
//! * **Rules**: every rule whose prefix matches applies. `scopes` must all be in
//!   the token's `scope` (space-separated) or `scp` claim; each of `claims` must
//!   equal the token's claim (or be contained in it, if the claim is a list).
//! * **Forwarded claims**: the named headers are always removed from what the
//!   client sent (on every path, even with a valid token), then set from the
//!   verified token. Strings are forwarded as they are, other values as JSON;
//!   a string with control characters is not forwarded.
//!
//! ## Outcomes
//!
//! | situation | status | `WWW-Authenticate` | finding id |
//! |---|---|---|---|
//! | no `Bearer` token | 401 | `Bearer realm="…"` | `jwt-missing` |
//! | wrong segment count, too long, JWE | 401 | `error="invalid_token"` | `jwt-malformed` |
//! | not base64url / not JSON | 401 | `error="invalid_token"` | `jwt-bad-base64` / `jwt-bad-json` |
//! | `alg: none` / unknown or refused alg / `crit` | 401 | `error="invalid_token"` | `jwt-alg-none` / `jwt-alg-unsupported` / `jwt-unsupported-crit` |
//! | unknown `kid` / alg does not fit key | 401 | `error="invalid_token"` | `jwt-unknown-kid` / `jwt-alg-key-mismatch` |
//! | signature does not verify | 401 | `error="invalid_token"` | `jwt-bad-signature` |
//! | expired / not yet valid / `iat` ahead / too old / no `exp` | 401 | `error="invalid_token"` | `jwt-expired` / `jwt-not-yet-valid` / `jwt-iat-future` / `jwt-too-old` / `jwt-missing-exp` |
//! | bad `iss` / `aud` / claim type | 401 | `error="invalid_token"` | `jwt-bad-issuer` / `jwt-bad-audience` / `jwt-bad-claim` |
//! | valid, but scope or claim missing for the path | 403 | `error="insufficient_scope"` | `jwt-insufficient-scope` / `jwt-claim-mismatch` |
//!
//! An accepted request carries the annotations `jwt.sub` and `jwt.iss` for the
//! policies after this one and the decision log. The token itself is never
//! logged.
#![deny(missing_docs)]

mod alg;
mod claims;
mod config;
mod error;
mod jwk;
mod paths;
mod token;
mod verify;

pub use alg::Alg;
pub use error::JwtError;

use claims::Registered;
use config::{Config, Rule};
use edgewaf_sdk::prelude::*;
use jwk::{Key, KeySet};
use paths::PathViews;
use serde_json::{Map, Value};

/// The auth-jwt policy, built from its config at init.
pub struct AuthJwt {
    keys: Vec<Key>,
    allowed: Vec<Alg>,
    registered: Registered,
    rules: Vec<Rule>,
    forward_claims: Vec<(String, String)>,
    optional_paths: Vec<String>,
    skip_paths: Vec<String>,
    realm: String,
}

impl Policy for AuthJwt {
    fn init(config: &str) -> Result<Self, String> {
        let c = Config::parse(config)?;
        let set = load_keys(&c)?;
        for line in &set.skipped {
            host::log(Level::Warn, &format!("auth-jwt: {line}"));
        }
        let allowed = c.allowed_algorithms()?;
        Ok(AuthJwt {
            keys: set.keys,
            allowed,
            registered: Registered {
                issuers: c.issuer,
                audiences: c.audience,
                leeway: f64::from(c.leeway_seconds),
                max_age: c.max_age_seconds.map(f64::from),
                require_exp: c.require_exp,
            },
            rules: c.rules,
            forward_claims: c
                .forward_claims
                .into_iter()
                .map(|(claim, header)| (claim, header.to_ascii_lowercase()))
                .collect(),
            optional_paths: c.optional_paths,
            skip_paths: c.skip_paths,
            realm: c.realm,
        })
    }

    fn on_request(&self, req: &Request) -> Verdict {
        let path = PathViews::new(req.path());
        let verdict = if path.all_under(&self.skip_paths) {
            Verdict::allow()
        } else {
            let optional = path.all_under(&self.optional_paths);
            match bearer_token(req) {
                Err(JwtError::Missing) if optional => Verdict::allow(),
                Err(e) => self.refuse(&e, None, &[]),
                Ok(token) => self.check_token(&token, &path),
            }
        };
        // Whatever the outcome (detect mode lets denied requests through too),
        // the client's own copies of the forwarded headers never reach upstream.
        let mut stripped = Verdict {
            remove_request_headers: Vec::new(),
            ..verdict
        };
        for (_, header) in &self.forward_claims {
            stripped = stripped.without_request_header(header);
        }
        stripped
    }
}

edgewaf_sdk::export_policy!(AuthJwt);

impl AuthJwt {
    fn check_token(&self, raw: &str, path: &PathViews) -> Verdict {
        let token = match token::decode(raw, &self.allowed) {
            Ok(t) => t,
            Err(e) => return self.refuse(&e, None, &[]),
        };
        let detail = format!(
            "alg={} kid={}",
            token.alg.name(),
            token.kid.as_deref().unwrap_or("-")
        );
        if let Err(e) = self.check_signature(&token) {
            return self.refuse(&e, None, &[detail]);
        }
        let now = host::now_ms() as f64 / 1000.0;
        if let Err(e) = self.registered.check(&token.claims, now) {
            return self.refuse(&e, None, &[detail]);
        }
        for rule in self.rules.iter().filter(|r| path.any_under(&r.path_prefix)) {
            if let Some(missing) = claims::missing_scopes(&token.claims, &rule.scopes) {
                let required = rule.scopes.join(" ");
                return self.refuse(
                    &JwtError::InsufficientScope(missing),
                    Some(&required),
                    &[detail],
                );
            }
            for (name, expected) in &rule.claims {
                if !claims::claim_matches(token.claims.get(name), expected) {
                    return self.refuse(&JwtError::ClaimMismatch(name.clone()), None, &[detail]);
                }
            }
        }
        self.accept(&token.claims)
    }

    fn check_signature(&self, t: &token::Token<'_>) -> Result<(), JwtError> {
        let candidates: Vec<&Key> = match &t.kid {
            Some(kid) => {
                let named: Vec<&Key> = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                    .collect();
                if named.is_empty() {
                    return Err(JwtError::UnknownKid);
                }
                named.into_iter().filter(|k| k.fits(t.alg)).collect()
            }
            None => self.keys.iter().filter(|k| k.fits(t.alg)).collect(),
        };
        if candidates.is_empty() {
            return Err(JwtError::AlgKeyMismatch);
        }
        if candidates
            .iter()
            .any(|k| verify::verify(t.alg, &k.material, t.signing_input, &t.signature))
        {
            Ok(())
        } else {
            Err(JwtError::BadSignature)
        }
    }

    fn accept(&self, claims: &Map<String, Value>) -> Verdict {
        let mut v = Verdict::allow();
        if let Some(Value::String(sub)) = claims.get("sub") {
            v = v.with_annotation("jwt.sub", sub.clone());
        }
        if let Some(Value::String(iss)) = claims.get("iss") {
            v = v.with_annotation("jwt.iss", iss.clone());
        }
        for (claim, header) in &self.forward_claims {
            match claims.get(claim).and_then(header_value) {
                Some(value) => v = v.with_request_header(header, value),
                None if claims.get(claim).is_some_and(|c| !c.is_null()) => {
                    v = v.with_finding(
                        Finding::new(
                            "jwt-claim-not-forwarded",
                            "claim has control characters; not forwarded",
                        )
                        .severity(Severity::Notice)
                        .tag("auth-jwt")
                        .data(claim),
                    );
                }
                None => {}
            }
        }
        v
    }

    fn refuse(&self, e: &JwtError, required_scope: Option<&str>, data: &[String]) -> Verdict {
        let mut finding = Finding::new(e.code(), e.detail())
            .severity(Severity::Warning)
            .tag("auth-jwt");
        if let Some(d) = data.first() {
            finding = finding.data(d);
        }
        Verdict::deny_status(e.status(), format!("auth-jwt: {}", e.detail()))
            .with_deny_header("www-authenticate", e.challenge(&self.realm, required_scope))
            .with_finding(finding)
    }
}

fn load_keys(c: &Config) -> Result<KeySet, String> {
    match (&c.jwks, &c.jwks_file) {
        (Some(doc), _) => jwk::parse_jwks(doc, "auth-jwt config: jwks"),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("auth-jwt config: jwks_file \"{path}\": {e}"))?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| format!("auth-jwt config: jwks_file \"{path}\": not JSON: {e}"))?;
            jwk::parse_jwks(&doc, &format!("auth-jwt config: jwks_file \"{path}\""))
        }
        (None, None) => Err("auth-jwt config: \"jwks\" or \"jwks_file\" is required".into()),
    }
}

/// The bearer token of the request. Several `Authorization` headers are
/// refused: an upstream might read another one than the policy did.
fn bearer_token(req: &Request) -> Result<String, JwtError> {
    let mut values = req.header_all("authorization");
    let Some(value) = values.next() else {
        return Err(JwtError::Missing);
    };
    if values.next().is_some() {
        return Err(JwtError::Malformed("several Authorization headers"));
    }
    let value = std::str::from_utf8(value)
        .map_err(|_| JwtError::Malformed("Authorization is not UTF-8"))?;
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(JwtError::Missing);
    }
    Ok(rest.trim().to_string())
}

/// A claim as a header value: strings as they are (if free of control
/// characters), numbers and booleans as text, lists and objects as JSON.
fn header_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.chars().any(char::is_control) => None,
        Value::String(s) => Some(s.clone()),
        other => serde_json::to_string(other).ok(),
    }
}
