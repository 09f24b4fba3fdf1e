//! auth-jwt, natively through the SDK's test harness. The first byte picks
//! what the rest of the input is:
//!
//! * `0`: a JWKS document, configured inline (`jwks = ...`): the JWK parser
//!   at init, then one HS256 token against whatever keys loaded;
//! * `1`: a raw `Authorization: Bearer` token against a fixed JWKS (HMAC,
//!   RSA, P-256, P-384, Ed25519 keys): segment splitting, base64url, header
//!   and claims JSON, signature verification with every key type;
//! * `2`: a JOSE header and a claims set separated by a newline, encoded and
//!   signed HS256 with the configured secret, so the claims checks (`exp`,
//!   `nbf`, `iss`, `aud`, scopes, forwarded claims) see fuzzed values.

use super::{error_class, feature};
use crate::corpus::Corpus;
use auth_jwt::AuthJwt;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use edgewaf_sdk::prelude::*;
use edgewaf_sdk::testing::{Harness, RequestBuilder, with_host};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const JWKS: &str = include_str!("../../testdata/jwks.json");
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// The fixed clock: 2026-01-01T00:00:00Z.
const NOW_MS: u64 = 1_767_225_600_000;

fn config(jwks: &str) -> String {
    format!(
        r#"{{"jwks": {jwks}, "issuer": "https://idp.test/", "audience": ["payments-api", "x"],
            "max_age_seconds": 3600, "forward_claims": {{"sub": "x-auth-sub", "tenant": "x-auth-tenant"}},
            "rules": [{{"path_prefix": "/payments", "scopes": ["payments:write"], "claims": {{"tenant": "acme"}}}}],
            "optional_paths": ["/catalog"]}}"#
    )
}

thread_local! {
    static FIXED: Harness<AuthJwt> = Harness::new(&config(JWKS)).expect("fixed JWKS loads");
}

fn sign(header: &[u8], claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("any key length");
    mac.update(input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{sig}")
}

fn verdict_feature(v: &Verdict) -> u64 {
    let ids: Vec<&str> = v.findings.iter().map(|f| f.rule_id.as_str()).collect();
    feature((v.is_allow(), ids, v.add_request_headers.len()))
}

fn request(authorization: &[u8]) -> Request {
    RequestBuilder::new()
        .target("/payments/42?x=1")
        .header("authorization", authorization.to_vec())
        .header("x-auth-sub", "spoofed")
        .build()
}

fn on_fixed(authorization: &[u8]) -> u64 {
    FIXED.with(|h| {
        with_host(|host| {
            host.clock_ms = Some(NOW_MS);
            host.logs.clear();
        });
        verdict_feature(&h.on_request(&request(authorization)))
    })
}

fn jwks_doc(doc: &[u8]) -> u64 {
    let cfg = config(&String::from_utf8_lossy(doc));
    let h = match Harness::<AuthJwt>::new(&cfg) {
        Ok(h) => h,
        Err(e) => return error_class(&e),
    };
    with_host(|host| host.clock_ms = Some(NOW_MS));
    let token = sign(
        br#"{"alg":"HS256","kid":"hs"}"#,
        br#"{"iss":"https://idp.test/","aud":"x","exp":1767229200,"iat":1767225000,"sub":"s"}"#,
    );
    let v = h.on_request(&request(format!("Bearer {token}").as_bytes()));
    verdict_feature(&v) ^ 1
}

/// Runs one input.
pub fn run(input: &[u8]) -> u64 {
    let Some((&mode, rest)) = input.split_first() else {
        return on_fixed(b"");
    };
    match mode % 3 {
        0 => jwks_doc(rest),
        1 => {
            let mut auth = b"Bearer ".to_vec();
            auth.extend_from_slice(rest);
            on_fixed(&auth) ^ 2
        }
        _ => {
            let (header, claims) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (&br#"{"alg":"HS256","kid":"hs"}"#[..], rest),
            };
            on_fixed(format!("Bearer {}", sign(header, claims)).as_bytes()) ^ 3
        }
    }
}

/// JOSE and JWK names and values.
pub const DICT: &[&[u8]] = &[
    b"\"alg\":",
    b"\"HS256\"",
    b"\"RS256\"",
    b"\"PS512\"",
    b"\"ES384\"",
    b"\"EdDSA\"",
    b"\"none\"",
    b"\"kid\":",
    b"\"crit\":[\"b64\"]",
    b"\"kty\":",
    b"\"oct\"",
    b"\"RSA\"",
    b"\"EC\"",
    b"\"OKP\"",
    b"\"crv\":",
    b"\"P-256\"",
    b"\"Ed25519\"",
    b"\"n\":",
    b"\"e\":\"AQAB\"",
    b"\"x\":",
    b"\"y\":",
    b"\"d\":",
    b"\"k\":",
    b"\"use\":\"sig\"",
    b"\"keys\":[",
    b"\"exp\":",
    b"\"nbf\":",
    b"\"iat\":",
    b"\"iss\":\"https://idp.test/\"",
    b"\"aud\":[\"x\"]",
    b"\"scope\":\"payments:write\"",
    b"\"scp\":[",
    b"\"tenant\":\"acme\"",
    b"\"sub\":",
    b".",
    b"..",
    b"-",
    b"_",
    b"=",
    b"1.5e9",
    b"1767225600",
    b"\"enc\":",
];

/// Seeds for the three modes.
pub fn seeds(_: &Corpus) -> Vec<Vec<u8>> {
    let claims = r#"{"iss":"https://idp.test/","aud":"payments-api","exp":1767229200,"nbf":1767225000,"iat":1767225000,"sub":"svc","tenant":"acme","scope":"payments:write read"}"#;
    let mut s = vec![[&[0u8][..], JWKS.as_bytes()].concat()];
    s.push(b"\x00{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"\",\"y\":\"\"}]}".to_vec());
    s.push(b"\x00{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2hvcnQ\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\",\"d\":\"AAAA\"}]}".to_vec());
    let token = sign(
        br#"{"alg":"HS256","kid":"hs","typ":"JWT"}"#,
        claims.as_bytes(),
    );
    s.push([&[1u8][..], token.as_bytes()].concat());
    s.push(b"\x01eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".to_vec());
    s.push(b"\x01eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYSJ9.e30.AAAA".to_vec());
    s.push(format!("\x02{{\"alg\":\"HS256\",\"kid\":\"hs\"}}\n{claims}").into_bytes());
    s.push(b"\x02{\"alg\":\"HS256\"}\n{\"exp\":\"soon\",\"aud\":[1,null],\"scp\":{}}".to_vec());
    s
}
