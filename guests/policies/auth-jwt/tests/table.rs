//! The table-driven JWT test: one row per token, with the expected outcome.

mod common;

use auth_jwt::AuthJwt;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use edgewaf_sdk::prelude::*;
use edgewaf_sdk::testing::{Harness, with_host};
use rsa::pkcs8::EncodePublicKey as _;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Allow,
    /// Deny with this status and finding id.
    Deny(u16, &'static str),
}
use Expect::*;

struct Case {
    name: &'static str,
    /// The whole Authorization header value; `None` sends none.
    authorization: Option<String>,
    target: &'static str,
    expect: Expect,
}

fn bearer(token: String) -> Option<String> {
    Some(format!("Bearer {token}"))
}

/// Replaces segment `i` of a token.
fn with_segment(token: &str, i: usize, seg: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[i] = seg.to_string();
    parts.join(".")
}

/// The tokens most cases start from, signed once.
struct Tokens<'a> {
    k: &'a Keys,
    good: serde_json::Value,
    rs: String,
    es: String,
    ed: String,
}

fn case(name: &'static str, token: String, expect: Expect) -> Case {
    Case {
        name,
        authorization: bearer(token),
        target: "/orders",
        expect,
    }
}

/// The token with its payload replaced by one for `sub: admin`, signature kept.
fn tampered_payload(tok: &str) -> String {
    with_segment(tok, 1, &enc_json(&claims_with(json!({"sub": "admin"}))))
}

/// Algorithm confusion: HMAC "signed" with the RSA public key (PEM) as secret.
fn hs_with_rsa_pem(k: &Keys, good: &serde_json::Value) -> String {
    let pem = k
        .rsa
        .to_public_key()
        .to_public_key_pem(Default::default())
        .unwrap();
    let header = json!({"alg": "HS256", "kid": "rsa"});
    let input = format!("{}.{}", enc_json(&header), enc_json(good));
    use hmac::Mac;
    let mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(pem.as_bytes())
        .unwrap()
        .chain_update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn cases(k: &Keys) -> Vec<Case> {
    let good = good_claims();
    let t = Tokens {
        k,
        rs: k.sign("RS256", "rsa", &good),
        es: k.sign("ES256", "p256", &good),
        ed: k.sign("EdDSA", "ed", &good),
        good,
    };
    [
        valid_tokens(&t),
        time_claims(&t),
        issuer_and_audience(&t),
        confused_algorithms(&t),
        bad_signatures(&t),
        malformed_tokens(&t),
        missing_credentials_and_optional_paths(&t),
        scopes_and_claims(&t),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Each algorithm, valid.
fn valid_tokens(t: &Tokens) -> Vec<Case> {
    let Tokens {
        k,
        good,
        rs,
        es,
        ed,
        ..
    } = t;
    vec![
        case("HS256 valid", k.sign("HS256", "hs", good), Allow),
        case("HS384 valid", k.sign("HS384", "hs", good), Allow),
        case("HS512 valid", k.sign("HS512", "hs", good), Allow),
        case("RS256 valid", rs.clone(), Allow),
        case("RS384 valid", k.sign("RS384", "rsa", good), Allow),
        case("RS512 valid", k.sign("RS512", "rsa", good), Allow),
        case("PS256 valid", k.sign("PS256", "rsa", good), Allow),
        case("PS384 valid", k.sign("PS384", "rsa", good), Allow),
        case("PS512 valid", k.sign("PS512", "rsa", good), Allow),
        case("ES256 valid", es.clone(), Allow),
        case("ES384 valid", k.sign("ES384", "p384", good), Allow),
        case("EdDSA valid", ed.clone(), Allow),
        case(
            "RS256 without kid tries fitting keys",
            k.sign_with("RS256", &json!({"alg": "RS256"}), good, false),
            Allow,
        ),
        Case {
            name: "lower-case bearer scheme",
            authorization: Some(format!("bearer   {rs}")),
            target: "/orders",
            expect: Allow,
        },
    ]
}

/// Time claims (leeway 60 s).
fn time_claims(t: &Tokens) -> Vec<Case> {
    let Tokens { k, .. } = t;
    vec![
        case(
            "expired",
            k.sign("RS256", "rsa", &claims_with(json!({"exp": NOW - 61}))),
            Deny(401, "jwt-expired"),
        ),
        case(
            "expired within leeway",
            k.sign("ES256", "p256", &claims_with(json!({"exp": NOW - 30}))),
            Allow,
        ),
        case(
            "not yet valid",
            k.sign("RS256", "rsa", &claims_with(json!({"nbf": NOW + 120}))),
            Deny(401, "jwt-not-yet-valid"),
        ),
        case(
            "nbf within leeway",
            k.sign("HS256", "hs", &claims_with(json!({"nbf": NOW + 30}))),
            Allow,
        ),
        case(
            "issued in the future",
            k.sign("HS256", "hs", &claims_with(json!({"iat": NOW + 300}))),
            Deny(401, "jwt-iat-future"),
        ),
        case(
            "no exp",
            k.sign("HS256", "hs", &claims_with(json!({"exp": null}))),
            Deny(401, "jwt-missing-exp"),
        ),
        case(
            "exp is a string",
            k.sign("HS256", "hs", &claims_with(json!({"exp": "tomorrow"}))),
            Deny(401, "jwt-bad-claim"),
        ),
    ]
}

/// Issuer and audience.
fn issuer_and_audience(t: &Tokens) -> Vec<Case> {
    let Tokens { k, .. } = t;
    vec![
        case(
            "wrong iss",
            k.sign(
                "RS256",
                "rsa",
                &claims_with(json!({"iss": "https://evil.test/"})),
            ),
            Deny(401, "jwt-bad-issuer"),
        ),
        case(
            "no iss",
            k.sign("ES256", "p256", &claims_with(json!({"iss": null}))),
            Deny(401, "jwt-bad-issuer"),
        ),
        case(
            "wrong aud",
            k.sign("RS256", "rsa", &claims_with(json!({"aud": "billing-api"}))),
            Deny(401, "jwt-bad-audience"),
        ),
        case(
            "aud list with an accepted one",
            k.sign(
                "EdDSA",
                "ed",
                &claims_with(json!({"aud": ["x", "other-api"]})),
            ),
            Allow,
        ),
        case(
            "no aud",
            k.sign("EdDSA", "ed", &claims_with(json!({"aud": null}))),
            Deny(401, "jwt-bad-audience"),
        ),
    ]
}

/// Unsigned and confused algorithms.
fn confused_algorithms(t: &Tokens) -> Vec<Case> {
    let Tokens { k, good, rs, .. } = t;
    let unsigned = format!("{}.{}.", enc_json(&json!({"alg": "none"})), enc_json(good));
    vec![
        case("alg none", unsigned.clone(), Deny(401, "jwt-alg-none")),
        case(
            "alg NONE with a signature",
            with_segment(
                &k.sign("HS256", "hs", good),
                0,
                &enc_json(&json!({"alg": "NONE", "kid": "hs"})),
            ),
            Deny(401, "jwt-alg-none"),
        ),
        case(
            "HS256 against the RSA key (confusion)",
            hs_with_rsa_pem(k, good),
            Deny(401, "jwt-alg-key-mismatch"),
        ),
        case(
            "RS256 header naming the HMAC key",
            k.sign_with("RS256", &json!({"alg": "RS256", "kid": "hs"}), good, false),
            Deny(401, "jwt-alg-key-mismatch"),
        ),
        case(
            "ES256 header naming the P-384 key",
            k.sign_with(
                "ES256",
                &json!({"alg": "ES256", "kid": "p384"}),
                good,
                false,
            ),
            Deny(401, "jwt-alg-key-mismatch"),
        ),
        case(
            "ES384 header over an ES256 signature",
            k.sign_with(
                "ES256",
                &json!({"alg": "ES384", "kid": "p384"}),
                good,
                false,
            ),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "unknown alg",
            with_segment(rs, 0, &enc_json(&json!({"alg": "RS1024", "kid": "rsa"}))),
            Deny(401, "jwt-alg-unsupported"),
        ),
        case(
            "no alg",
            with_segment(rs, 0, &enc_json(&json!({"kid": "rsa"}))),
            Deny(401, "jwt-alg-unsupported"),
        ),
        case(
            "crit header",
            k.sign_with(
                "RS256",
                &json!({"alg": "RS256", "kid": "rsa", "crit": ["exp"], "exp": 1}),
                good,
                false,
            ),
            Deny(401, "jwt-unsupported-crit"),
        ),
    ]
}

/// Bad signatures.
fn bad_signatures(t: &Tokens) -> Vec<Case> {
    let Tokens {
        k,
        good,
        rs,
        es,
        ed,
        ..
    } = t;
    vec![
        case(
            "tampered payload RS256",
            tampered_payload(rs),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "tampered payload ES256",
            tampered_payload(es),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "tampered payload EdDSA",
            tampered_payload(ed),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "tampered payload HS256",
            tampered_payload(&k.sign("HS256", "hs", good)),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "tampered payload ES384",
            tampered_payload(&k.sign("ES384", "p384", good)),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "tampered payload PS256",
            tampered_payload(&k.sign("PS256", "rsa", good)),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "tampered header",
            with_segment(
                rs,
                0,
                &enc_json(&json!({"alg": "RS256", "kid": "rsa", "x": 1})),
            ),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "signed by another RSA key",
            k.sign_with("RS256", &json!({"alg": "RS256", "kid": "rsa"}), good, true),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "RS256 signature labelled PS256",
            with_segment(
                rs,
                0,
                &enc_json(&json!({"alg": "PS256", "kid": "rsa", "typ": "JWT"})),
            ),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "empty signature",
            with_segment(rs, 2, ""),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "signature of the wrong length",
            with_segment(es, 2, "AAAA"),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "unknown kid",
            k.sign("RS256", "retired-2019", good),
            Deny(401, "jwt-unknown-kid"),
        ),
    ]
}

/// Malformed tokens.
fn malformed_tokens(t: &Tokens) -> Vec<Case> {
    let Tokens { k, rs, .. } = t;
    vec![
        // 342 base64 characters encode the 256-byte signature: cutting 2 leaves valid
        // base64 of 255 bytes, cutting 1 leaves a length base64 cannot have.
        case(
            "truncated signature (whole bytes)",
            rs[..rs.len() - 2].to_string(),
            Deny(401, "jwt-bad-signature"),
        ),
        case(
            "truncated signature (partial byte)",
            rs[..rs.len() - 1].to_string(),
            Deny(401, "jwt-bad-base64"),
        ),
        case(
            "truncated to two segments",
            rs[..rs.rfind('.').unwrap()].to_string(),
            Deny(401, "jwt-malformed"),
        ),
        case(
            "truncated mid-header",
            rs[..10].to_string(),
            Deny(401, "jwt-malformed"),
        ),
        case(
            "four segments",
            format!("{rs}.AAAA"),
            Deny(401, "jwt-malformed"),
        ),
        case(
            "five segments (JWE)",
            "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d".to_string(),
            Deny(401, "jwt-malformed"),
        ),
        case(
            "header not base64",
            with_segment(rs, 0, "eyJh*GciOi"),
            Deny(401, "jwt-bad-base64"),
        ),
        case(
            "payload not base64",
            with_segment(rs, 1, "%%%"),
            Deny(401, "jwt-bad-base64"),
        ),
        case(
            "padded base64",
            with_segment(rs, 2, &format!("{}==", rs.rsplit('.').next().unwrap())),
            Deny(401, "jwt-bad-base64"),
        ),
        case(
            "header not JSON",
            with_segment(rs, 0, &URL_SAFE_NO_PAD.encode("{alg:RS256")),
            Deny(401, "jwt-bad-json"),
        ),
        case(
            "payload a JSON array",
            k.sign_with(
                "RS256",
                &json!({"alg": "RS256", "kid": "rsa"}),
                &json!([1, 2]),
                false,
            ),
            Deny(401, "jwt-bad-json"),
        ),
        case(
            "payload not UTF-8",
            with_segment(rs, 1, &URL_SAFE_NO_PAD.encode([0xff, 0xfe, b'{'])),
            Deny(401, "jwt-bad-json"),
        ),
        case("empty token", String::new(), Deny(401, "jwt-malformed")),
        case(
            "oversized token",
            format!("{rs}{}", "A".repeat(20_000)),
            Deny(401, "jwt-malformed"),
        ),
    ]
}

/// Missing credentials, optional and skipped paths.
fn missing_credentials_and_optional_paths(t: &Tokens) -> Vec<Case> {
    let Tokens { rs, .. } = t;
    vec![
        Case {
            name: "no Authorization",
            authorization: None,
            target: "/orders",
            expect: Deny(401, "jwt-missing"),
        },
        Case {
            name: "Basic credentials",
            authorization: Some("Basic dXNlcjpwYXNz".into()),
            target: "/orders",
            expect: Deny(401, "jwt-missing"),
        },
        // Optional and skipped paths.
        Case {
            name: "optional path without token",
            authorization: None,
            target: "/catalog/items",
            expect: Allow,
        },
        Case {
            name: "optional path with a bad token",
            authorization: bearer(tampered_payload(rs)),
            target: "/catalog",
            expect: Deny(401, "jwt-bad-signature"),
        },
        Case {
            name: "skipped path with garbage",
            authorization: Some("Bearer ???".into()),
            target: "/health",
            expect: Allow,
        },
        Case {
            name: "dotted path out of a skipped prefix",
            authorization: None,
            target: "/health/../orders",
            expect: Deny(401, "jwt-missing"),
        },
    ]
}

/// Scopes and claims per path.
fn scopes_and_claims(t: &Tokens) -> Vec<Case> {
    let Tokens { k, rs, .. } = t;
    vec![
        Case {
            name: "payments with scope and tenant",
            authorization: bearer(rs.clone()),
            target: "/payments/42",
            expect: Allow,
        },
        Case {
            name: "payments without the scope",
            authorization: bearer(k.sign(
                "RS256",
                "rsa",
                &claims_with(json!({"scope": "payments:read"})),
            )),
            target: "/payments",
            expect: Deny(403, "jwt-insufficient-scope"),
        },
        Case {
            name: "payments scope in scp list",
            authorization: bearer(k.sign(
                "ES256",
                "p256",
                &claims_with(json!({"scope": null, "scp": ["payments:write"]})),
            )),
            target: "/payments",
            expect: Allow,
        },
        Case {
            name: "payments for another tenant",
            authorization: bearer(k.sign(
                "RS256",
                "rsa",
                &claims_with(json!({"tenant": "globex"})),
            )),
            target: "/payments/1",
            expect: Deny(403, "jwt-claim-mismatch"),
        },
        Case {
            name: "admin needs its scope",
            authorization: bearer(rs.clone()),
            target: "/admin",
            expect: Deny(403, "jwt-insufficient-scope"),
        },
        Case {
            name: "encoded path still hits the rule",
            authorization: bearer(k.sign("RS256", "rsa", &claims_with(json!({"scope": "x"})))),
            target: "/orders/..%2fpayments",
            expect: Deny(403, "jwt-insufficient-scope"),
        },
        Case {
            name: "prefix is segment-aware",
            authorization: bearer(k.sign("RS256", "rsa", &claims_with(json!({"scope": "x"})))),
            target: "/paymentsx",
            expect: Allow,
        },
    ]
}

#[test]
fn jwt_table() {
    let keys = Keys::load();
    let h = Harness::<AuthJwt>::new(&config(&keys.jwks())).unwrap();
    with_host(|host| host.clock_ms = Some(NOW as u64 * 1000));
    let table = cases(&keys);
    let mut failures = Vec::new();
    for c in &table {
        let mut b = Request::builder().target(c.target);
        if let Some(a) = &c.authorization {
            b = b.header("authorization", a.as_str());
        }
        let v = h.on_request(&b.build());
        let got = match &v.action {
            Action::Allow => Allow,
            Action::Deny(d) => Deny(
                d.status,
                v.findings
                    .first()
                    .map_or("<no finding>", |f| leak(&f.rule_id)),
            ),
            Action::Redirect(_) => Deny(302, "<redirect>"),
            Action::Fail(_) => Deny(500, "<fail>"),
        };
        if got != c.expect {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                c.name, c.expect, got
            ));
            continue;
        }
        if let Action::Deny(d) = &v.action {
            let challenge = d
                .headers
                .iter()
                .find(|h| h.name == "www-authenticate")
                .map(|h| String::from_utf8_lossy(&h.value).into_owned());
            let ok = match (c.expect, challenge.as_deref()) {
                (Deny(401, "jwt-missing"), Some(ch)) => ch == "Bearer realm=\"edgewaf\"",
                (Deny(401, _), Some(ch)) => ch.starts_with(
                    "Bearer realm=\"edgewaf\", error=\"invalid_token\", error_description=\"",
                ),
                (Deny(403, _), Some(ch)) => ch.contains("error=\"insufficient_scope\""),
                _ => false,
            };
            if !ok {
                failures.push(format!("{}: bad WWW-Authenticate {challenge:?}", c.name));
            }
        }
    }
    println!(
        "jwt table: {} cases, {} failed",
        table.len(),
        failures.len()
    );
    assert!(table.len() >= 30);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}
