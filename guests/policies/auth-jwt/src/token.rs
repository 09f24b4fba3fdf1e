//! Splitting and decoding a compact JWS (RFC 7515 §7.1): three base64url
//! segments `header.payload.signature`. Nothing here trusts the token: every
//! check that can fail returns an error, never panics.

use crate::alg::Alg;
use crate::error::JwtError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Longest token accepted, in bytes; longer ones are refused before decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A decoded but not yet verified token.
#[derive(Debug)]
pub struct Token<'a> {
    /// The verified algorithm name from the header.
    pub alg: Alg,
    /// `kid` from the header.
    pub kid: Option<String>,
    /// The claims object.
    pub claims: Map<String, Value>,
    /// `header.payload` exactly as received: the signed bytes.
    pub signing_input: &'a [u8],
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Decodes `token`. Algorithms outside `allowed` are refused here, before any
/// key is looked at.
pub fn decode<'a>(token: &'a str, allowed: &[Alg]) -> Result<Token<'a>, JwtError> {
    if token.is_empty() {
        return Err(JwtError::Malformed("empty token"));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed("token too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let segments = token.split('.').count();
        return Err(JwtError::Malformed(if segments == 5 {
            "encrypted tokens (JWE) are not accepted"
        } else {
            "a token has three dot-separated segments"
        }));
    };
    if h.is_empty() || p.is_empty() {
        return Err(JwtError::Malformed("empty token segment"));
    }
    let header = json_object(
        &b64(h, "header is not base64url")?,
        "header is not a JSON object",
    )?;
    let alg = match header.get("alg") {
        Some(Value::String(name)) if name.eq_ignore_ascii_case("none") => {
            return Err(JwtError::AlgNone);
        }
        Some(Value::String(name)) => Alg::from_name(name)
            .filter(|a| allowed.contains(a))
            .ok_or(JwtError::AlgUnsupported)?,
        _ => return Err(JwtError::AlgUnsupported),
    };
    if header.contains_key("crit") {
        return Err(JwtError::UnsupportedCrit);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(JwtError::BadJson("kid is not a string")),
    };
    if s.is_empty() {
        return Err(JwtError::BadSignature);
    }
    let signature = b64(s, "signature is not base64url")?;
    let claims = json_object(
        &b64(p, "payload is not base64url")?,
        "payload is not a JSON object",
    )?;
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    Ok(Token {
        alg,
        kid,
        claims,
        signing_input,
        signature,
    })
}

fn b64(segment: &str, what: &'static str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::BadBase64(what))
}

fn json_object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, JwtError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::BadJson(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn splits_and_decodes() {
        let tok = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"HS256","kid":"k1"}"#),
            enc(r#"{"sub":"a"}"#),
            enc("sig")
        );
        let t = decode(&tok, &Alg::ALL).unwrap();
        assert_eq!(t.alg, Alg::HS256);
        assert_eq!(t.kid.as_deref(), Some("k1"));
        assert_eq!(t.claims["sub"], "a");
        assert_eq!(t.signature, b"sig");
        assert_eq!(t.signing_input, tok.rsplit_once('.').unwrap().0.as_bytes());
    }

    #[test]
    fn refusals() {
        let h = enc(r#"{"alg":"HS256"}"#);
        let p = enc("{}");
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "jwt-malformed"),
            (format!("{h}.{p}"), "jwt-malformed"),
            (format!("{h}.{p}.c2ln.x"), "jwt-malformed"),
            (format!("{h}.{p}.a.b.c"), "jwt-malformed"),
            (format!(".{p}.c2ln"), "jwt-malformed"),
            (format!("{h}.{p}."), "jwt-bad-signature"),
            (format!("{h}.{p}.c2ln="), "jwt-bad-base64"),
            (format!("{h}.{p}.c2l*"), "jwt-bad-base64"),
            (format!("{h}.{p}x!.c2ln"), "jwt-bad-base64"),
            (format!("{}.{p}.c2ln", enc("[1]")), "jwt-bad-json"),
            (format!("{h}.{}.c2ln", enc("not json")), "jwt-bad-json"),
            (
                format!("{}.{p}.c2ln", enc(r#"{"alg":"nOnE"}"#)),
                "jwt-alg-none",
            ),
            (
                format!("{}.{p}.c2ln", enc(r#"{"alg":"HS257"}"#)),
                "jwt-alg-unsupported",
            ),
            (
                format!("{}.{p}.c2ln", enc(r#"{"alg":7}"#)),
                "jwt-alg-unsupported",
            ),
            (
                format!("{}.{p}.c2ln", enc(r#"{"typ":"JWT"}"#)),
                "jwt-alg-unsupported",
            ),
            (
                format!("{}.{p}.c2ln", enc(r#"{"alg":"HS256","crit":["b64"]}"#)),
                "jwt-unsupported-crit",
            ),
            (
                format!("{}.{p}.c2ln", enc(r#"{"alg":"HS256","kid":1}"#)),
                "jwt-bad-json",
            ),
            ("a".repeat(MAX_TOKEN_LEN + 1), "jwt-malformed"),
        ];
        for (tok, code) in cases {
            assert_eq!(
                decode(&tok, &Alg::ALL).unwrap_err().code(),
                code,
                "token {tok:.60}"
            );
        }
        let only_rs = [Alg::RS256];
        assert_eq!(
            decode(&format!("{h}.{p}.c2ln"), &only_rs).unwrap_err(),
            JwtError::AlgUnsupported
        );
    }
}
