//! Checks on the verified claims: registered time claims (RFC 7519 §4.1) against
//! the host clock, issuer and audience, then scopes and claim values per path.

use crate::error::JwtError;
use serde_json::{Map, Value};

/// The registered-claim requirements, from the config.
pub struct Registered {
    /// Accepted issuers.
    pub issuers: Vec<String>,
    /// Accepted audiences.
    pub audiences: Vec<String>,
    /// Allowed clock skew, seconds.
    pub leeway: f64,
    /// Maximum token age from `iat`, seconds.
    pub max_age: Option<f64>,
    /// `exp` is required.
    pub require_exp: bool,
}

impl Registered {
    /// Checks `exp`, `nbf`, `iat`, `iss` and `aud` at `now` (seconds since the epoch).
    pub fn check(&self, claims: &Map<String, Value>, now: f64) -> Result<(), JwtError> {
        match numeric_date(claims, "exp", "exp is not a number")? {
            Some(exp) if now >= exp + self.leeway => return Err(JwtError::Expired),
            None if self.require_exp => return Err(JwtError::MissingExp),
            _ => {}
        }
        if let Some(nbf) = numeric_date(claims, "nbf", "nbf is not a number")?
            && now + self.leeway < nbf
        {
            return Err(JwtError::NotYetValid);
        }
        let iat = numeric_date(claims, "iat", "iat is not a number")?;
        if let Some(iat) = iat
            && now + self.leeway < iat
        {
            return Err(JwtError::IssuedInFuture);
        }
        if let Some(max_age) = self.max_age {
            match iat {
                Some(iat) if now - iat <= max_age + self.leeway => {}
                Some(_) => return Err(JwtError::TooOld),
                None => return Err(JwtError::BadClaim("iat is required")),
            }
        }
        match claims.get("iss") {
            Some(Value::String(iss)) if self.issuers.iter().any(|i| i == iss) => {}
            _ => return Err(JwtError::BadIssuer),
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => self.audiences.contains(a),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .any(|a| self.audiences.iter().any(|x| x == a)),
            _ => false,
        };
        if !aud_ok {
            return Err(JwtError::BadAudience);
        }
        Ok(())
    }
}

fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
    type_error: &'static str,
) -> Result<Option<f64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_f64().map(Some).ok_or(JwtError::BadClaim(type_error)),
        Some(_) => Err(JwtError::BadClaim(type_error)),
    }
}

/// The token's scopes: the space-separated `scope` string (RFC 8693 §4.2) and
/// the `scp` list or string some issuers use.
pub fn scopes(claims: &Map<String, Value>) -> Vec<&str> {
    let mut out = Vec::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(s)) => out.extend(s.split(' ').filter(|s| !s.is_empty())),
            Some(Value::Array(list)) => out.extend(list.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    out
}

/// The required scopes the token lacks, space-separated, or `None`.
pub fn missing_scopes(claims: &Map<String, Value>, required: &[String]) -> Option<String> {
    let have = scopes(claims);
    let missing: Vec<&str> = required
        .iter()
        .map(String::as_str)
        .filter(|r| !have.contains(r))
        .collect();
    (!missing.is_empty()).then(|| missing.join(" "))
}

/// True when claim `value` satisfies `expected`: equal, or (for a list claim
/// and a non-list expectation) containing it.
pub fn claim_matches(value: Option<&Value>, expected: &Value) -> bool {
    match value {
        None => false,
        Some(v) if v == expected => true,
        Some(Value::Array(items)) if !expected.is_array() => items.contains(expected),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn reg() -> Registered {
        Registered {
            issuers: vec!["iss".into()],
            audiences: vec!["api".into()],
            leeway: 60.0,
            max_age: None,
            require_exp: true,
        }
    }

    #[test]
    fn time_claims_with_leeway() {
        let r = reg();
        let base = json!({"iss":"iss","aud":"api"});
        let with = |extra: Value| {
            let mut m = obj(base.clone());
            m.extend(obj(extra));
            m
        };
        assert_eq!(r.check(&with(json!({"exp": 1000})), 1059.0), Ok(()));
        assert_eq!(
            r.check(&with(json!({"exp": 1000})), 1060.0),
            Err(JwtError::Expired)
        );
        assert_eq!(r.check(&with(json!({"exp": 1000.5})), 1060.0), Ok(()));
        assert_eq!(r.check(&with(json!({})), 0.0), Err(JwtError::MissingExp));
        assert_eq!(
            r.check(&with(json!({"exp": "1000"})), 0.0)
                .unwrap_err()
                .code(),
            "jwt-bad-claim"
        );
        assert_eq!(
            r.check(&with(json!({"exp": 5000, "nbf": 1061})), 1000.0),
            Err(JwtError::NotYetValid)
        );
        assert_eq!(
            r.check(&with(json!({"exp": 5000, "nbf": 1060})), 1000.0),
            Ok(())
        );
        assert_eq!(
            r.check(&with(json!({"exp": 5000, "iat": 1100})), 1000.0),
            Err(JwtError::IssuedInFuture)
        );
        let aged = Registered {
            max_age: Some(300.0),
            ..reg()
        };
        assert_eq!(
            aged.check(&with(json!({"exp": 5000, "iat": 600})), 1000.0),
            Err(JwtError::TooOld)
        );
        assert_eq!(
            aged.check(&with(json!({"exp": 5000, "iat": 700})), 1000.0),
            Ok(())
        );
        assert_eq!(
            aged.check(&with(json!({"exp": 5000})), 1000.0)
                .unwrap_err()
                .code(),
            "jwt-bad-claim"
        );
    }

    #[test]
    fn issuer_and_audience() {
        let r = reg();
        let c = |v: Value| obj(v);
        assert_eq!(
            r.check(&c(json!({"exp":9,"aud":"api"})), 0.0),
            Err(JwtError::BadIssuer)
        );
        assert_eq!(
            r.check(&c(json!({"exp":9,"iss":["iss"],"aud":"api"})), 0.0),
            Err(JwtError::BadIssuer)
        );
        assert_eq!(
            r.check(&c(json!({"exp":9,"iss":"iss"})), 0.0),
            Err(JwtError::BadAudience)
        );
        assert_eq!(
            r.check(&c(json!({"exp":9,"iss":"iss","aud":["x","api"]})), 0.0),
            Ok(())
        );
        assert_eq!(
            r.check(&c(json!({"exp":9,"iss":"iss","aud":["x",1]})), 0.0),
            Err(JwtError::BadAudience)
        );
    }

    #[test]
    fn scopes_and_claims() {
        let c = obj(json!({"scope":"a  b","scp":["c"],"groups":["ops","dev"],"tenant":"acme"}));
        assert_eq!(scopes(&c), vec!["a", "b", "c"]);
        assert_eq!(missing_scopes(&c, &["a".into(), "c".into()]), None);
        assert_eq!(
            missing_scopes(&c, &["a".into(), "d".into(), "e".into()]).as_deref(),
            Some("d e")
        );
        assert!(claim_matches(c.get("tenant"), &json!("acme")));
        assert!(!claim_matches(c.get("tenant"), &json!("evil")));
        assert!(claim_matches(c.get("groups"), &json!("ops")));
        assert!(claim_matches(c.get("groups"), &json!(["ops", "dev"])));
        assert!(!claim_matches(c.get("missing"), &json!("x")));
    }
}
