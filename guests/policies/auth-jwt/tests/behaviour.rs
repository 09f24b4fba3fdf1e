//! Behaviour beyond the table: forwarded headers, annotations, JWKS files,
//! config errors, and garbage that must never panic or pass.

mod common;

use auth_jwt::AuthJwt;
use common::*;
use edgewaf_sdk::prelude::*;
use edgewaf_sdk::testing::{Harness, with_host};
use rand::{Rng, SeedableRng};
use serde_json::json;

fn harness(config_json: &str) -> Harness<AuthJwt> {
    let h = Harness::<AuthJwt>::new(config_json).unwrap();
    with_host(|host| host.clock_ms = Some(NOW as u64 * 1000));
    h
}

fn request(token: Option<&str>, target: &str) -> RequestBuilder {
    let mut b = Request::builder().target(target);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b
}

use edgewaf_sdk::testing::RequestBuilder;

#[test]
fn valid_token_forwards_claims_and_strips_client_copies() {
    let k = Keys::load();
    let h = harness(&config(&k.jwks()));
    let tok = k.sign("RS256", "rsa", &good_claims());
    let req = request(Some(&tok), "/orders")
        .header("x-auth-sub", "spoofed-admin")
        .header("X-Auth-Tenant", "globex")
        .build();
    let v = h.on_request(&req);
    assert!(v.is_allow(), "{v:?}");
    let mut removed = v.remove_request_headers.clone();
    removed.sort();
    assert_eq!(removed, vec!["x-auth-sub", "x-auth-tenant"]);
    let added: Vec<(String, String)> = v
        .add_request_headers
        .iter()
        .map(|h| {
            (
                h.name.clone(),
                String::from_utf8_lossy(&h.value).into_owned(),
            )
        })
        .collect();
    assert!(added.contains(&("x-auth-sub".into(), "svc-billing".into())));
    assert!(added.contains(&("x-auth-tenant".into(), "acme".into())));
    let ann: Vec<(&str, &str)> = v
        .annotations
        .iter()
        .map(|a| (a.key.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(ann, vec![("jwt.sub", "svc-billing"), ("jwt.iss", ISSUER)]);
}

#[test]
fn client_copies_are_stripped_on_every_path_and_outcome() {
    let k = Keys::load();
    let h = harness(&config(&k.jwks()));
    for (token, target) in [
        (None, "/health"),
        (None, "/catalog"),
        (None, "/orders"),
        (Some("garbage"), "/orders"),
    ] {
        let v = h.on_request(
            &request(token, target)
                .header("x-auth-sub", "spoofed")
                .build(),
        );
        assert!(
            v.remove_request_headers.contains(&"x-auth-sub".to_string()),
            "{target}: {v:?}"
        );
        assert!(v.add_request_headers.is_empty(), "{target}: {v:?}");
    }
}

#[test]
fn claims_are_forwarded_safely() {
    let k = Keys::load();
    let h = harness(&config(&k.jwks()));
    // A claim with a newline is not forwarded (header injection), and noted.
    let tok = k.sign(
        "HS256",
        "hs",
        &claims_with(json!({"sub": "a\r\nx-admin: 1"})),
    );
    let v = h.on_request(&request(Some(&tok), "/orders").build());
    assert!(v.is_allow());
    assert!(v.add_request_headers.iter().all(|h| h.name != "x-auth-sub"));
    assert_eq!(v.rule_ids(), vec!["jwt-claim-not-forwarded"]);
    // Non-string claims go as JSON.
    let tok = k.sign(
        "HS256",
        "hs",
        &claims_with(json!({"tenant": ["acme", "globex"]})),
    );
    let v = h.on_request(&request(Some(&tok), "/orders").build());
    let tenant = v
        .add_request_headers
        .iter()
        .find(|h| h.name == "x-auth-tenant")
        .unwrap();
    assert_eq!(tenant.value, br#"["acme","globex"]"#);
}

#[test]
fn several_authorization_headers_are_refused() {
    let k = Keys::load();
    let h = harness(&config(&k.jwks()));
    let tok = k.sign("RS256", "rsa", &good_claims());
    let req = request(Some(&tok), "/orders")
        .header("authorization", "Bearer other")
        .build();
    let v = h.on_request(&req);
    assert_eq!(v.deny_status_code(), Some(401));
    assert_eq!(v.rule_ids(), vec!["jwt-malformed"]);
}

#[test]
fn findings_carry_no_token() {
    let k = Keys::load();
    let h = harness(&config(&k.jwks()));
    let tok = k.sign("RS256", "rsa", &claims_with(json!({"exp": NOW - 3600})));
    let v = h.on_request(&request(Some(&tok), "/orders").build());
    let Action::Deny(d) = &v.action else {
        panic!("{v:?}")
    };
    assert_eq!(v.rule_ids(), vec!["jwt-expired"]);
    assert_eq!(v.findings[0].data, "alg=RS256 kid=rsa");
    let sig = tok.rsplit('.').next().unwrap();
    let all = format!("{v:?}");
    assert!(!all.contains(sig) && !d.reason.contains(sig));
    let ch = String::from_utf8_lossy(&d.headers[0].value).into_owned();
    assert_eq!(
        ch,
        "Bearer realm=\"edgewaf\", error=\"invalid_token\", error_description=\"token expired\""
    );
}

#[test]
fn insufficient_scope_challenge_names_the_scope() {
    let k = Keys::load();
    let h = harness(&config(&k.jwks()));
    let tok = k.sign(
        "ES256",
        "p256",
        &claims_with(json!({"scope": "payments:read"})),
    );
    let v = h.on_request(&request(Some(&tok), "/payments").build());
    let Action::Deny(d) = &v.action else {
        panic!("{v:?}")
    };
    assert_eq!(d.status, 403);
    assert_eq!(
        String::from_utf8_lossy(&d.headers[0].value),
        "Bearer realm=\"edgewaf\", error=\"insufficient_scope\", error_description=\"insufficient scope\", scope=\"payments:write\""
    );
    assert_eq!(v.findings[0].message, "missing scope(s): payments:write");
}

#[test]
fn jwks_file_is_read_at_init() {
    let k = Keys::load();
    let dir = std::env::temp_dir().join(format!("auth-jwt-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwks.json");
    std::fs::write(&path, k.jwks().to_string()).unwrap();
    let cfg = json!({"jwks_file": path.to_str().unwrap(), "issuer": ISSUER, "audience": AUDIENCE})
        .to_string();
    let h = harness(&cfg);
    let v = h.on_request(&request(Some(&k.sign("EdDSA", "ed", &good_claims())), "/x").build());
    assert!(v.is_allow(), "{v:?}");
    std::fs::write(&path, "{\"keys\": [").unwrap();
    let err = Harness::<AuthJwt>::new(&cfg).err().unwrap();
    assert!(
        err.contains("jwks_file") && err.contains("not JSON"),
        "{err}"
    );
    let missing =
        json!({"jwks_file": "/nonexistent/jwks.json", "issuer": ISSUER, "audience": AUDIENCE})
            .to_string();
    let err = Harness::<AuthJwt>::new(&missing).err().unwrap();
    assert!(err.contains("/nonexistent/jwks.json"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn algorithms_allow_list() {
    let k = Keys::load();
    let cfg =
        json!({"jwks": k.jwks(), "issuer": ISSUER, "audience": AUDIENCE, "algorithms": ["ES256"]})
            .to_string();
    let h = harness(&cfg);
    assert!(
        h.on_request(&request(Some(&k.sign("ES256", "p256", &good_claims())), "/").build())
            .is_allow()
    );
    let v = h.on_request(&request(Some(&k.sign("HS256", "hs", &good_claims())), "/").build());
    assert_eq!(v.rule_ids(), vec!["jwt-alg-unsupported"]);
}

#[test]
fn hs_token_without_kid_never_uses_rsa_keys() {
    // Only an RSA key: an HS256 token keyed with the RSA public key has no
    // key to be checked against at all.
    let k = Keys::load();
    let mut jwks = k.jwks();
    jwks["keys"] = json!([jwks["keys"][1].clone()]);
    let h = harness(&json!({"jwks": jwks, "issuer": ISSUER, "audience": AUDIENCE}).to_string());
    let tok = k.sign_with("HS256", &json!({"alg": "HS256"}), &good_claims(), false);
    let v = h.on_request(&request(Some(&tok), "/").build());
    assert_eq!(v.rule_ids(), vec!["jwt-alg-key-mismatch"]);
}

#[test]
fn max_age_limits_old_tokens() {
    let k = Keys::load();
    let cfg =
        json!({"jwks": k.jwks(), "issuer": ISSUER, "audience": AUDIENCE, "max_age_seconds": 300})
            .to_string();
    let h = harness(&cfg);
    let old = k.sign("HS256", "hs", &claims_with(json!({"iat": NOW - 1000})));
    assert_eq!(
        h.on_request(&request(Some(&old), "/").build()).rule_ids(),
        vec!["jwt-too-old"]
    );
    assert!(
        h.on_request(&request(Some(&k.sign("HS256", "hs", &good_claims())), "/").build())
            .is_allow()
    );
}

#[test]
fn clock_moves_tokens_into_expiry() {
    let k = Keys::load();
    let h = harness(&config(&k.jwks()));
    let tok = k.sign("ES256", "p256", &good_claims()); // exp = NOW + 600, leeway 60
    let req = request(Some(&tok), "/orders").build();
    with_host(|host| host.clock_ms = Some((NOW + 659) as u64 * 1000));
    assert!(h.on_request(&req).is_allow());
    with_host(|host| host.clock_ms = Some((NOW + 660) as u64 * 1000));
    assert_eq!(h.on_request(&req).rule_ids(), vec!["jwt-expired"]);
}

/// The error a config (the working one changed by `f`) is refused with.
fn rejected(k: &Keys, f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut c = json!({"jwks": k.jwks(), "issuer": ISSUER, "audience": AUDIENCE});
    f(&mut c);
    Harness::<AuthJwt>::new(&c.to_string())
        .err()
        .unwrap_or_else(|| panic!("accepted {c}"))
}

fn assert_errors_contain(cases: Vec<(String, &str)>) {
    for (err, want) in cases {
        assert!(err.contains(want), "error {err:?} should contain {want:?}");
    }
}

#[test]
fn config_errors_name_the_field() {
    let k = Keys::load();
    assert_errors_contain(vec![
        (
            rejected(&k, |c| c["leeway"] = json!(5)),
            "unknown field `leeway`",
        ),
        (
            rejected(&k, |c| {
                c["rules"] = json!([{"path_prefix": "/a", "scope": ["x"]}])
            }),
            "unknown field `scope`",
        ),
        (
            rejected(&k, |c| {
                c.as_object_mut().unwrap().remove("issuer");
            }),
            "missing field `issuer`",
        ),
        (
            rejected(&k, |c| c["audience"] = json!(7)),
            "expected a string or a list of strings",
        ),
        (rejected(&k, |c| c["jwks_file"] = json!("/x")), "not both"),
        (
            rejected(&k, |c| {
                c.as_object_mut().unwrap().remove("jwks");
            }),
            "\"jwks_file\"",
        ),
        (
            rejected(&k, |c| c["algorithms"] = json!(["RS256", "none"])),
            "algorithms: \"none\"",
        ),
        (
            rejected(&k, |c| c["rules"] = json!([{"path_prefix": "payments"}])),
            "rules[0].path_prefix",
        ),
        (
            rejected(&k, |c| c["skip_paths"] = json!(["/ok", "health"])),
            "skip_paths[1]",
        ),
        (
            rejected(&k, |c| {
                c["forward_claims"] = json!({"sub": "authorization"})
            }),
            "forward_claims.sub",
        ),
        (
            rejected(&k, |c| c["forward_claims"] = json!({"sub": "x bad"})),
            "forward_claims.sub",
        ),
        (rejected(&k, |c| c["realm"] = json!("a\"b")), "\"realm\""),
        (
            Harness::<AuthJwt>::new("not json").err().unwrap(),
            "auth-jwt config",
        ),
    ]);
}

#[test]
fn jwks_errors_name_the_key() {
    let k = Keys::load();
    assert_errors_contain(vec![
        (
            rejected(&k, |c| {
                c["jwks"] = json!({"keys": [{"kty": "oct", "kid": "short", "k": "c2hvcnQ"}]})
            }),
            "(kid \"short\"): HMAC secret",
        ),
        (
            rejected(
                &k,
                |c| {
                    c["jwks"] =
                        json!({"keys": [{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}]})
                },
            ),
            "keys[0] (kid \"r\")",
        ),
        (
            rejected(&k, |c| c["jwks"]["keys"][2]["d"] = json!("secret")),
            "keys[2] (kid \"p256\"): contains private key material",
        ),
        (
            rejected(&k, |c| c["jwks"]["keys"][2]["x"] = json!("not base64!")),
            "keys[2] (kid \"p256\"): \"x\" is not base64url",
        ),
        (
            rejected(&k, |c| c["jwks"]["keys"][1]["alg"] = json!("ES256")),
            "keys[1] (kid \"rsa\"): \"alg\" ES256 does not fit",
        ),
        (
            rejected(
                &k,
                |c| {
                    c["jwks"] =
                        json!({"keys": [{"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}]})
                },
            ),
            "no usable signature verification key",
        ),
        (
            rejected(&k, |c| c["jwks"] = json!({"nokeys": []})),
            "\"keys\" array",
        ),
    ]);
}

#[test]
fn skipped_jwks_keys_are_logged() {
    let k = Keys::load();
    let mut jwks = k.jwks();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "EC", "crv": "P-521", "kid": "big", "x": "AA", "y": "AA"}));
    let _h = harness(&json!({"jwks": jwks, "issuer": ISSUER, "audience": AUDIENCE}).to_string());
    let logs = with_host(|h| h.logs.clone());
    assert!(
        logs.iter()
            .any(|(_, m)| m.contains("kid \"big\"") && m.contains("P-521")),
        "{logs:?}"
    );
}

/// Random mutations of valid tokens: never a panic, never an allow.
#[test]
fn mutated_tokens_never_pass_or_panic() {
    let k = Keys::load();
    let h = harness(&config(&k.jwks()));
    let valid: Vec<String> = [
        "HS256:hs",
        "RS256:rsa",
        "PS256:rsa",
        "ES256:p256",
        "ES384:p384",
        "EdDSA:ed",
    ]
    .iter()
    .map(|s| {
        let (alg, kid) = s.split_once(':').unwrap();
        k.sign(alg, kid, &good_claims())
    })
    .collect();
    let alphabet =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %\x00\xff";
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut denied = 0;
    for round in 0..3000 {
        let original = valid[round % valid.len()].as_bytes();
        let mut t = original.to_vec();
        for _ in 0..rng.gen_range(1..4) {
            let i = rng.gen_range(0..t.len());
            match rng.gen_range(0..3) {
                0 => t[i] = alphabet[rng.gen_range(0..alphabet.len())],
                1 => {
                    t.remove(i);
                }
                _ => t.insert(i, alphabet[rng.gen_range(0..alphabet.len())]),
            }
        }
        // Whitespace around the token is not part of it.
        if t.trim_ascii() == original {
            continue;
        }
        let req = Request::builder()
            .target("/orders")
            .header("authorization", [b"Bearer ".as_slice(), &t].concat())
            .build();
        let v = h.on_request(&req);
        assert!(
            v.is_deny(),
            "mutated token passed: {}",
            String::from_utf8_lossy(&t)
        );
        denied += 1;
    }
    assert!(denied > 2900);
}
