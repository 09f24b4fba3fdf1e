//! Test keys (from `testdata/`, test-only) and a token signer, shared by the
//! integration tests and the benchmark.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::pkcs8::DecodePrivateKey as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};
use std::path::PathBuf;

/// The fixed clock of the tests: 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;
pub const ISSUER: &str = "https://idp.test/";
pub const AUDIENCE: &str = "payments-api";
/// HMAC secret of kid `hs` (64 bytes, enough for HS512).
pub const HMAC_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn testdata(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub struct Keys {
    pub rsa: rsa::RsaPrivateKey,
    pub rsa_other: rsa::RsaPrivateKey,
    pub p256: p256::ecdsa::SigningKey,
    pub p384: p384::ecdsa::SigningKey,
    pub ed25519: ed25519_dalek::SigningKey,
}

impl Keys {
    pub fn load() -> Keys {
        Keys {
            rsa: rsa::RsaPrivateKey::from_pkcs8_pem(&testdata("rsa2048.pem")).unwrap(),
            rsa_other: rsa::RsaPrivateKey::from_pkcs8_pem(&testdata("rsa2048-other.pem")).unwrap(),
            p256: p256::ecdsa::SigningKey::from_pkcs8_pem(&testdata("p256.pem")).unwrap(),
            p384: p384::ecdsa::SigningKey::from_pkcs8_pem(&testdata("p384.pem")).unwrap(),
            ed25519: ed25519_dalek::SigningKey::from_pkcs8_pem(&testdata("ed25519.pem")).unwrap(),
        }
    }

    /// The public JWKS: kids `hs`, `rsa`, `p256`, `p384`, `ed`.
    pub fn jwks(&self) -> Value {
        let b = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let rsa_pub = self.rsa.to_public_key();
        let p256 = self.p256.verifying_key().to_encoded_point(false);
        let p384 = self.p384.verifying_key().to_encoded_point(false);
        json!({"keys": [
            {"kty": "oct", "kid": "hs", "k": b(HMAC_SECRET)},
            {"kty": "RSA", "kid": "rsa", "use": "sig", "n": b(&rsa_pub.n().to_bytes_be()), "e": b(&rsa_pub.e().to_bytes_be())},
            {"kty": "EC", "kid": "p256", "crv": "P-256", "x": b(p256.x().unwrap()), "y": b(p256.y().unwrap())},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": b(p384.x().unwrap()), "y": b(p384.y().unwrap())},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b(self.ed25519.verifying_key().as_bytes())},
        ]})
    }

    /// Signs `header.claims` with the key `alg` calls for (`rsa_other` when
    /// `other_rsa`); `alg` is the real signing algorithm, whatever the header says.
    pub fn sign_with(&self, alg: &str, header: &Value, claims: &Value, other_rsa: bool) -> String {
        let input = format!("{}.{}", enc_json(header), enc_json(claims));
        let sig = self.signature(alg, input.as_bytes(), other_rsa);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// A token with header `{"alg": alg, "kid": kid}`, signed with `alg`.
    pub fn sign(&self, alg: &str, kid: &str, claims: &Value) -> String {
        self.sign_with(
            alg,
            &json!({"alg": alg, "kid": kid, "typ": "JWT"}),
            claims,
            false,
        )
    }

    pub fn signature(&self, alg: &str, msg: &[u8], other_rsa: bool) -> Vec<u8> {
        let rsa = if other_rsa {
            &self.rsa_other
        } else {
            &self.rsa
        };
        let mut rng = rand::thread_rng();
        match alg {
            "HS256" => Hmac::<Sha256>::new_from_slice(HMAC_SECRET)
                .unwrap()
                .chain_update(msg)
                .finalize()
                .into_bytes()
                .to_vec(),
            "HS384" => Hmac::<Sha384>::new_from_slice(HMAC_SECRET)
                .unwrap()
                .chain_update(msg)
                .finalize()
                .into_bytes()
                .to_vec(),
            "HS512" => Hmac::<Sha512>::new_from_slice(HMAC_SECRET)
                .unwrap()
                .chain_update(msg)
                .finalize()
                .into_bytes()
                .to_vec(),
            "RS256" => rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa.clone())
                .sign(msg)
                .to_vec(),
            "RS384" => rsa::pkcs1v15::SigningKey::<Sha384>::new(rsa.clone())
                .sign(msg)
                .to_vec(),
            "RS512" => rsa::pkcs1v15::SigningKey::<Sha512>::new(rsa.clone())
                .sign(msg)
                .to_vec(),
            "PS256" => rsa::pss::BlindedSigningKey::<Sha256>::new(rsa.clone())
                .sign_with_rng(&mut rng, msg)
                .to_vec(),
            "PS384" => rsa::pss::BlindedSigningKey::<Sha384>::new(rsa.clone())
                .sign_with_rng(&mut rng, msg)
                .to_vec(),
            "PS512" => rsa::pss::BlindedSigningKey::<Sha512>::new(rsa.clone())
                .sign_with_rng(&mut rng, msg)
                .to_vec(),
            "ES256" => {
                let s: p256::ecdsa::Signature = self.p256.sign(msg);
                s.to_bytes().to_vec()
            }
            "ES384" => {
                let s: p384::ecdsa::Signature = self.p384.sign(msg);
                s.to_bytes().to_vec()
            }
            "EdDSA" => self.ed25519.sign(msg).to_bytes().to_vec(),
            other => panic!("test signer: unknown alg {other}"),
        }
    }
}

pub fn enc_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// Claims that pass every registered-claim check at [`NOW`].
pub fn good_claims() -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "svc-billing",
        "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 600,
        "scope": "payments:read payments:write", "tenant": "acme"
    })
}

/// `good_claims` with fields replaced (a `null` removes the field).
pub fn claims_with(changes: Value) -> Value {
    let mut c = good_claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// The policy config used by the tests, with the given JWKS.
pub fn config(jwks: &Value) -> String {
    json!({
        "jwks": jwks,
        "issuer": ISSUER,
        "audience": [AUDIENCE, "other-api"],
        "forward_claims": {"sub": "x-auth-sub", "tenant": "x-auth-tenant"},
        "optional_paths": ["/catalog"],
        "skip_paths": ["/health"],
        "rules": [
            {"path_prefix": "/payments", "scopes": ["payments:write"], "claims": {"tenant": "acme"}},
            {"path_prefix": "/admin", "scopes": ["admin"]}
        ]
    })
    .to_string()
}
