//! The fuzz targets. Each runs one input through one parser and returns a
//! coarse *feature* of what happened (an error class, an output shape): the
//! driver keeps inputs that show a feature it has not seen, a cheap stand-in
//! for coverage. A target panics when the code under test panics or breaks a
//! documented invariant; both count as crashes.

use crate::corpus::Corpus;
use std::hash::{DefaultHasher, Hash, Hasher};

mod body;
mod http;
mod jwt;
mod seclang_rules;
mod tenant_toml;
mod transform;

/// One fuzz target.
pub struct Target {
    /// The name on the command line.
    pub name: &'static str,
    /// What it feeds and to what.
    pub about: &'static str,
    /// Runs one input; returns a feature of the outcome.
    pub run: fn(&[u8]) -> u64,
    /// Tokens the mutator inserts besides the common ones.
    pub dict: &'static [&'static [u8]],
    /// Seeds: built-in ones plus what the corpus offers this target.
    pub seeds: fn(&Corpus) -> Vec<Vec<u8>>,
    /// Called once before the first run (for instance to learn where data
    /// files live).
    pub setup: fn(&Corpus),
}

fn no_setup(_: &Corpus) {}

/// Every target, in the order `make fuzz` runs them.
pub fn all() -> &'static [Target] {
    TARGETS
}

/// The target with this name.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

const TARGETS: &[Target] = &[
    Target {
        name: "seclang",
        about: "SecLang text -> RuleSet (parser, operator and action compilation), then one request through it",
        run: seclang_rules::run,
        dict: seclang_rules::DICT,
        seeds: seclang_rules::seeds,
        setup: seclang_rules::setup,
    },
    Target {
        name: "transform",
        about: "every transformation in seclang's registry on each input, with the Cow and trigger-byte invariants",
        run: transform::run,
        dict: transform::DICT,
        seeds: transform::seeds,
        setup: no_setup,
    },
    Target {
        name: "body-urlencoded",
        about: "URLENCODED body processor, directly and through a transaction",
        run: body::run_urlencoded,
        dict: body::URLENCODED_DICT,
        seeds: body::seeds_urlencoded,
        setup: no_setup,
    },
    Target {
        name: "body-multipart",
        about: "MULTIPART body processor (input: Content-Type line, then the body)",
        run: body::run_multipart,
        dict: body::MULTIPART_DICT,
        seeds: body::seeds_multipart,
        setup: no_setup,
    },
    Target {
        name: "body-json",
        about: "JSON body processor, directly and through a transaction",
        run: body::run_json,
        dict: body::JSON_DICT,
        seeds: body::seeds_json,
        setup: no_setup,
    },
    Target {
        name: "body-xml",
        about: "XML body processor and XPath selection, directly and through a transaction",
        run: body::run_xml,
        dict: body::XML_DICT,
        seeds: body::seeds_xml,
        setup: no_setup,
    },
    Target {
        name: "http-request",
        about: "raw bytes -> hyper's HTTP/1 server -> request::from_parts (the WIT record); and request::parse_file",
        run: http::run,
        dict: http::DICT,
        seeds: http::seeds,
        setup: no_setup,
    },
    Target {
        name: "jwt",
        about: "auth-jwt: JWKS documents at init, raw bearer tokens, and HS256-signed tokens with fuzzed header and claims",
        run: jwt::run,
        dict: jwt::DICT,
        seeds: jwt::seeds,
        setup: no_setup,
    },
    Target {
        name: "tenant-toml",
        about: "tenant TOML: TenantConfig::parse (serde + validate) and the tenant name check",
        run: tenant_toml::run,
        dict: tenant_toml::DICT,
        seeds: tenant_toml::seeds,
        setup: no_setup,
    },
];

/// Hashes anything into a feature.
pub fn feature(x: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// An error message with digits and quoted parts dropped, cut to 40 bytes:
/// the class of an error, not its instance.
pub fn error_class(msg: &str) -> u64 {
    let mut class = String::new();
    let mut quoted = false;
    for c in msg.chars() {
        match c {
            '"' | '`' => quoted = !quoted,
            _ if quoted || c.is_ascii_digit() => {}
            _ => class.push(c),
        }
        if class.len() >= 40 {
            break;
        }
    }
    feature(class)
}

/// Bytes as text, lossily.
pub fn text(input: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(input)
}

/// A length bucket: 0, 1, 2-3, 4-7, ...
pub fn bucket(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}
