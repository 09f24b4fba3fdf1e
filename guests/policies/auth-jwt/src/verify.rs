//! Signature verification with the RustCrypto crates. Key selection and
//! algorithm/key agreement are checked by the caller; this only verifies.

use crate::alg::Alg;
use crate::jwk::{KeyMaterial, hmac_min_len};
use hmac::{Hmac, Mac};
use rsa::signature::Verifier as _;
use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// True when `signature` is `alg`'s valid signature of `input` under `key`.
/// A key of the wrong family never verifies.
pub fn verify(alg: Alg, key: &KeyMaterial, input: &[u8], signature: &[u8]) -> bool {
    match (alg, key) {
        (Alg::HS256 | Alg::HS384 | Alg::HS512, KeyMaterial::Hmac(secret)) => {
            secret.len() >= hmac_min_len(alg) && hmac_ok(alg, secret, input, signature)
        }
        (Alg::RS256, KeyMaterial::Rsa(k)) => rsa_ok(
            k,
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(input),
            signature,
        ),
        (Alg::RS384, KeyMaterial::Rsa(k)) => rsa_ok(
            k,
            Pkcs1v15Sign::new::<Sha384>(),
            &Sha384::digest(input),
            signature,
        ),
        (Alg::RS512, KeyMaterial::Rsa(k)) => rsa_ok(
            k,
            Pkcs1v15Sign::new::<Sha512>(),
            &Sha512::digest(input),
            signature,
        ),
        (Alg::PS256, KeyMaterial::Rsa(k)) => {
            rsa_ok(k, Pss::new::<Sha256>(), &Sha256::digest(input), signature)
        }
        (Alg::PS384, KeyMaterial::Rsa(k)) => {
            rsa_ok(k, Pss::new::<Sha384>(), &Sha384::digest(input), signature)
        }
        (Alg::PS512, KeyMaterial::Rsa(k)) => {
            rsa_ok(k, Pss::new::<Sha512>(), &Sha512::digest(input), signature)
        }
        (Alg::ES256, KeyMaterial::P256(k)) => p256::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|sig| k.verify(input, &sig).is_ok()),
        (Alg::ES384, KeyMaterial::P384(k)) => p384::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|sig| k.verify(input, &sig).is_ok()),
        (Alg::EdDSA, KeyMaterial::Ed25519(k)) => ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|sig| k.verify_strict(input, &sig).is_ok()),
        _ => false,
    }
}

fn rsa_ok<S: rsa::traits::SignatureScheme>(
    key: &RsaPublicKey,
    scheme: S,
    hashed: &[u8],
    sig: &[u8],
) -> bool {
    // RFC 7518 §3.3: the signature is exactly the modulus length.
    sig.len() == rsa::traits::PublicKeyParts::size(key) && key.verify(scheme, hashed, sig).is_ok()
}

fn hmac_ok(alg: Alg, secret: &[u8], input: &[u8], signature: &[u8]) -> bool {
    // `verify_slice` compares in constant time.
    match alg {
        Alg::HS256 => Hmac::<Sha256>::new_from_slice(secret)
            .is_ok_and(|m| m.chain_update(input).verify_slice(signature).is_ok()),
        Alg::HS384 => Hmac::<Sha384>::new_from_slice(secret)
            .is_ok_and(|m| m.chain_update(input).verify_slice(signature).is_ok()),
        Alg::HS512 => Hmac::<Sha512>::new_from_slice(secret)
            .is_ok_and(|m| m.chain_update(input).verify_slice(signature).is_ok()),
        _ => false,
    }
}
