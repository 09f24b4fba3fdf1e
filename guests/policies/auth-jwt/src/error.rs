//! Why a request was refused: one error code per failure, its HTTP status and the
//! `WWW-Authenticate` challenge (RFC 6750 §3) the client gets.

/// A refusal. `code()` is the finding id the decision log shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// No `Authorization: Bearer` credential at all.
    Missing,
    /// Wrong number of segments, empty segment, too long, JWE.
    Malformed(&'static str),
    /// A segment is not unpadded base64url.
    BadBase64(&'static str),
    /// The header or claims are not a JSON object (or not UTF-8).
    BadJson(&'static str),
    /// `alg` is `none` (in any letter case).
    AlgNone,
    /// `alg` is missing, unknown, or not in the configured allow-list.
    AlgUnsupported,
    /// The header lists `crit` extensions this policy does not implement.
    UnsupportedCrit,
    /// `kid` names no key of the JWKS.
    UnknownKid,
    /// The key found cannot be used with the token's `alg` (algorithm confusion).
    AlgKeyMismatch,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is absent and the config requires it.
    MissingExp,
    /// A registered claim has the wrong JSON type.
    BadClaim(&'static str),
    /// `exp` + leeway is in the past.
    Expired,
    /// `nbf` - leeway is in the future.
    NotYetValid,
    /// `iat` - leeway is in the future.
    IssuedInFuture,
    /// `iat` is older than `max_age_seconds`.
    TooOld,
    /// `iss` is absent or not one of the accepted issuers.
    BadIssuer,
    /// `aud` is absent or names none of the accepted audiences.
    BadAudience,
    /// A rule for this path requires scopes the token lacks.
    InsufficientScope(String),
    /// A rule for this path requires a claim value the token lacks.
    ClaimMismatch(String),
}

impl JwtError {
    /// Stable finding id.
    pub fn code(&self) -> &'static str {
        match self {
            JwtError::Missing => "jwt-missing",
            JwtError::Malformed(_) => "jwt-malformed",
            JwtError::BadBase64(_) => "jwt-bad-base64",
            JwtError::BadJson(_) => "jwt-bad-json",
            JwtError::AlgNone => "jwt-alg-none",
            JwtError::AlgUnsupported => "jwt-alg-unsupported",
            JwtError::UnsupportedCrit => "jwt-unsupported-crit",
            JwtError::UnknownKid => "jwt-unknown-kid",
            JwtError::AlgKeyMismatch => "jwt-alg-key-mismatch",
            JwtError::BadSignature => "jwt-bad-signature",
            JwtError::MissingExp => "jwt-missing-exp",
            JwtError::BadClaim(_) => "jwt-bad-claim",
            JwtError::Expired => "jwt-expired",
            JwtError::NotYetValid => "jwt-not-yet-valid",
            JwtError::IssuedInFuture => "jwt-iat-future",
            JwtError::TooOld => "jwt-too-old",
            JwtError::BadIssuer => "jwt-bad-issuer",
            JwtError::BadAudience => "jwt-bad-audience",
            JwtError::InsufficientScope(_) => "jwt-insufficient-scope",
            JwtError::ClaimMismatch(_) => "jwt-claim-mismatch",
        }
    }

    /// 401 for a missing or invalid token, 403 for a valid token without the
    /// rights the path needs.
    pub fn status(&self) -> u16 {
        match self {
            JwtError::InsufficientScope(_) | JwtError::ClaimMismatch(_) => 403,
            _ => 401,
        }
    }

    /// The `error_description` sent to the client: short, fixed text without
    /// quotes or token contents.
    pub fn description(&self) -> &'static str {
        match self {
            JwtError::Missing => "bearer token required",
            JwtError::Malformed(d) | JwtError::BadBase64(d) | JwtError::BadJson(d) => d,
            JwtError::BadClaim(d) => d,
            JwtError::AlgNone => "unsigned tokens are not accepted",
            JwtError::AlgUnsupported => "signing algorithm not accepted",
            JwtError::UnsupportedCrit => "unsupported critical header",
            JwtError::UnknownKid => "unknown key id",
            JwtError::AlgKeyMismatch => "algorithm does not match the key",
            JwtError::BadSignature => "signature verification failed",
            JwtError::MissingExp => "token has no expiry",
            JwtError::Expired => "token expired",
            JwtError::NotYetValid => "token not yet valid",
            JwtError::IssuedInFuture => "token issued in the future",
            JwtError::TooOld => "token too old",
            JwtError::BadIssuer => "issuer not accepted",
            JwtError::BadAudience => "audience not accepted",
            JwtError::InsufficientScope(_) => "insufficient scope",
            JwtError::ClaimMismatch(_) => "token lacks a required claim",
        }
    }

    /// Detail for the decision log (never the token itself).
    pub fn detail(&self) -> String {
        match self {
            JwtError::InsufficientScope(s) => format!("missing scope(s): {s}"),
            JwtError::ClaimMismatch(c) => format!("claim mismatch: {c}"),
            other => other.description().to_string(),
        }
    }

    /// The `WWW-Authenticate` value. A request without credentials gets a
    /// challenge without error code (RFC 6750 §3.1).
    pub fn challenge(&self, realm: &str, required_scope: Option<&str>) -> String {
        match self {
            JwtError::Missing => format!("Bearer realm=\"{realm}\""),
            JwtError::InsufficientScope(_) | JwtError::ClaimMismatch(_) => {
                let mut v = format!(
                    "Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"{}\"",
                    self.description()
                );
                if let Some(scope) = required_scope.filter(|s| !s.is_empty()) {
                    v.push_str(&format!(", scope=\"{scope}\""));
                }
                v
            }
            _ => format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{}\"",
                self.description()
            ),
        }
    }
}
