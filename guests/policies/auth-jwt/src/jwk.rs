//! JSON Web Key Sets (RFC 7517): parsed once at init into verification keys.
//!
//! Keys meant for something other than signatures (`use` other than `sig`,
//! `key_ops` without `verify`, an `alg` this policy does not verify, or an
//! unknown `kty`/`crv`) are skipped and reported; malformed keys of a supported
//! type are errors naming the key, so a typo never silently drops a key.

use crate::alg::{Alg, Family};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::{BigUint, RsaPublicKey, traits::PublicKeyParts};
use serde_json::{Map, Value};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (bounds the cost of one verification).
pub const MAX_RSA_BITS: usize = 8192;
/// Smallest HMAC secret accepted, in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_HMAC_BYTES: usize = 32;

/// The public (or, for HMAC, shared) material of one key.
pub enum KeyMaterial {
    /// `kty: oct`: the shared secret.
    Hmac(Vec<u8>),
    /// `kty: RSA`.
    Rsa(RsaPublicKey),
    /// `kty: EC`, `crv: P-256`.
    P256(p256::ecdsa::VerifyingKey),
    /// `kty: EC`, `crv: P-384`.
    P384(p384::ecdsa::VerifyingKey),
    /// `kty: OKP`, `crv: Ed25519`.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl KeyMaterial {
    /// The key's family.
    pub fn family(&self) -> Family {
        match self {
            KeyMaterial::Hmac(_) => Family::Hmac,
            KeyMaterial::Rsa(_) => Family::Rsa,
            KeyMaterial::P256(_) => Family::P256,
            KeyMaterial::P384(_) => Family::P384,
            KeyMaterial::Ed25519(_) => Family::Ed25519,
        }
    }
}

/// One verification key.
pub struct Key {
    /// `kid`, if the JWK has one.
    pub kid: Option<String>,
    /// `alg`, if the JWK pins one: tokens must then use exactly it.
    pub alg: Option<Alg>,
    /// The key itself.
    pub material: KeyMaterial,
}

impl Key {
    /// True when this key may verify a token signed with `alg`.
    pub fn fits(&self, alg: Alg) -> bool {
        self.material.family() == alg.family() && self.alg.is_none_or(|a| a == alg)
    }
}

/// A parsed key set.
pub struct KeySet {
    /// The usable keys, in JWKS order.
    pub keys: Vec<Key>,
    /// One line per skipped key, for the host log.
    pub skipped: Vec<String>,
}

/// Parses a JWKS document (`{"keys": [...]}`). `source` names it in errors.
pub fn parse_jwks(doc: &Value, source: &str) -> Result<KeySet, String> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{source}: a JWKS needs a \"keys\" array"))?;
    let mut set = KeySet {
        keys: Vec::new(),
        skipped: Vec::new(),
    };
    for (i, jwk) in keys.iter().enumerate() {
        let obj = jwk
            .as_object()
            .ok_or_else(|| format!("{source}: keys[{i}] is not a JSON object"))?;
        let label = match obj.get("kid").and_then(Value::as_str) {
            Some(kid) => format!("{source}: keys[{i}] (kid \"{kid}\")"),
            None => format!("{source}: keys[{i}]"),
        };
        match parse_jwk(obj, &label)? {
            Parsed::Key(k) => set.keys.push(*k),
            Parsed::Skipped(why) => set.skipped.push(format!("{label} skipped: {why}")),
        }
    }
    if set.keys.is_empty() {
        return Err(format!(
            "{source}: no usable signature verification key in the JWKS"
        ));
    }
    Ok(set)
}

enum Parsed {
    Key(Box<Key>),
    Skipped(String),
}

/// What part of a JWK says: a value to use, or why the whole key is skipped.
enum Part<T> {
    Use(T),
    Skip(String),
}

fn parse_jwk(obj: &Map<String, Value>, label: &str) -> Result<Parsed, String> {
    let kid = match obj.get("kid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(format!("{label}: \"kid\" must be a string")),
    };
    let kty = obj
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{label}: \"kty\" (a string) is required"))?;
    if let Some(why) = not_for_verifying(obj) {
        return Ok(Parsed::Skipped(why));
    }
    let alg = match declared_alg(obj, label)? {
        Part::Use(alg) => alg,
        Part::Skip(why) => return Ok(Parsed::Skipped(why)),
    };
    if kty != "oct" && obj.contains_key("d") {
        return Err(format!(
            "{label}: contains private key material (\"d\"); publish only the public key"
        ));
    }
    let material = match key_material(obj, kty, alg, label)? {
        Part::Use(m) => m,
        Part::Skip(why) => return Ok(Parsed::Skipped(why)),
    };
    let key = Key { kid, alg, material };
    if let Some(a) = alg
        && !key.fits(a)
    {
        return Err(format!(
            "{label}: \"alg\" {} does not fit a \"{kty}\" key",
            a.name()
        ));
    }
    Ok(Parsed::Key(Box::new(key)))
}

/// Why a key whose "use" or "key_ops" rule out verifying signatures is skipped.
fn not_for_verifying(obj: &Map<String, Value>) -> Option<String> {
    if let Some(u) = obj.get("use")
        && u.as_str() != Some("sig")
    {
        return Some(format!("\"use\" is {u}, not \"sig\""));
    }
    let verifies = obj.get("key_ops").is_none_or(|ops| {
        ops.as_array()
            .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")))
    });
    (!verifies).then(|| "\"key_ops\" does not include \"verify\"".into())
}

/// The key's "alg", if it names one; an algorithm we do not verify skips the key.
fn declared_alg(obj: &Map<String, Value>, label: &str) -> Result<Part<Option<Alg>>, String> {
    match obj.get("alg") {
        None => Ok(Part::Use(None)),
        Some(Value::String(name)) => Ok(match Alg::from_name(name) {
            Some(a) => Part::Use(Some(a)),
            None => Part::Skip(format!(
                "\"alg\" \"{name}\" is not a supported JWS algorithm"
            )),
        }),
        Some(_) => Err(format!("{label}: \"alg\" must be a string")),
    }
}

/// The public key of a "kty"; an unsupported type or curve skips the key.
fn key_material(
    obj: &Map<String, Value>,
    kty: &str,
    alg: Option<Alg>,
    label: &str,
) -> Result<Part<KeyMaterial>, String> {
    match kty {
        "oct" => hmac_material(obj, alg, label).map(Part::Use),
        "RSA" => rsa_material(obj, label).map(Part::Use),
        "EC" => ec_material(obj, label),
        "OKP" => okp_material(obj, label),
        other => Ok(Part::Skip(format!("\"kty\" \"{other}\" is not supported"))),
    }
}

fn hmac_material(
    obj: &Map<String, Value>,
    alg: Option<Alg>,
    label: &str,
) -> Result<KeyMaterial, String> {
    let k = b64_field(obj, "k", label)?;
    let min = alg.map_or(MIN_HMAC_BYTES, hmac_min_len);
    if k.len() < min {
        return Err(format!(
            "{label}: HMAC secret \"k\" is {} bytes; at least {min} are required",
            k.len()
        ));
    }
    Ok(KeyMaterial::Hmac(k))
}

fn rsa_material(obj: &Map<String, Value>, label: &str) -> Result<KeyMaterial, String> {
    let n = BigUint::from_bytes_be(&b64_field(obj, "n", label)?);
    let e = BigUint::from_bytes_be(&b64_field(obj, "e", label)?);
    let key = RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS)
        .map_err(|err| format!("{label}: invalid RSA key: {err}"))?;
    let bits = key.n().bits();
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "{label}: RSA modulus is {bits} bits; at least {MIN_RSA_BITS} are required"
        ));
    }
    Ok(KeyMaterial::Rsa(key))
}

fn ec_material(obj: &Map<String, Value>, label: &str) -> Result<Part<KeyMaterial>, String> {
    let crv = obj.get("crv").and_then(Value::as_str).unwrap_or("");
    let x = b64_field(obj, "x", label)?;
    let y = b64_field(obj, "y", label)?;
    Ok(Part::Use(match crv {
        "P-256" => KeyMaterial::P256(p256_key(&x, &y, label)?),
        "P-384" => KeyMaterial::P384(p384_key(&x, &y, label)?),
        other => return Ok(Part::Skip(format!("EC curve \"{other}\" is not supported"))),
    }))
}

fn okp_material(obj: &Map<String, Value>, label: &str) -> Result<Part<KeyMaterial>, String> {
    let crv = obj.get("crv").and_then(Value::as_str).unwrap_or("");
    if crv != "Ed25519" {
        return Ok(Part::Skip(format!("OKP curve \"{crv}\" is not supported")));
    }
    let x = b64_field(obj, "x", label)?;
    let bytes: [u8; 32] = x
        .as_slice()
        .try_into()
        .map_err(|_| format!("{label}: Ed25519 \"x\" must be 32 bytes"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| format!("{label}: \"x\" is not a valid Ed25519 public key"))?;
    Ok(Part::Use(KeyMaterial::Ed25519(key)))
}

/// Minimum HMAC secret length for an algorithm (its hash size).
pub fn hmac_min_len(alg: Alg) -> usize {
    match alg {
        Alg::HS384 => 48,
        Alg::HS512 => 64,
        _ => MIN_HMAC_BYTES,
    }
}

fn b64_field(obj: &Map<String, Value>, field: &str, label: &str) -> Result<Vec<u8>, String> {
    let s = obj
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{label}: \"{field}\" (a base64url string) is required"))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("{label}: \"{field}\" is not base64url: {e}"))
}

fn p256_key(x: &[u8], y: &[u8], label: &str) -> Result<p256::ecdsa::VerifyingKey, String> {
    if x.len() != 32 || y.len() != 32 {
        return Err(format!(
            "{label}: P-256 \"x\" and \"y\" must be 32 bytes each"
        ));
    }
    let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    p256::ecdsa::VerifyingKey::from_encoded_point(&point)
        .map_err(|_| format!("{label}: \"x\"/\"y\" is not a point on P-256"))
}

fn p384_key(x: &[u8], y: &[u8], label: &str) -> Result<p384::ecdsa::VerifyingKey, String> {
    if x.len() != 48 || y.len() != 48 {
        return Err(format!(
            "{label}: P-384 \"x\" and \"y\" must be 48 bytes each"
        ));
    }
    let point = p384::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    p384::ecdsa::VerifyingKey::from_encoded_point(&point)
        .map_err(|_| format!("{label}: \"x\"/\"y\" is not a point on P-384"))
}
