//! Runs the data-driven operator vectors in `testdata/operators/<name>.json`
//! (one file per operator, run under its name and each alias) and checks that
//! every operator in [`OPERATORS`] has vectors and every file names one.
//!
//! Each vector: `param`, `input` (or `input_hex`), then `match` (bool) or
//! `error: true` (the argument must be rejected); optional `tx` (values for
//! `%{tx.*}` macros) and `capture` (expected TX.0.. values).

use super::{ALIASES, OPERATORS, OpContext, build};
use crate::macros::Macro;
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/operators")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn every_operator_has_vectors() {
    let names = OPERATORS.iter().map(|(n, _)| *n);
    crate::registry_check::assert_vector_files("operators", &dir(), names, ALIASES);
}

/// Runs vector `v` through the operator called `name`.
fn check(at: &str, name: &str, v: &Value) {
    let param = v["param"].as_str().unwrap();
    let op = build(name, param, Some(&dir()));
    if v["error"].as_bool() == Some(true) {
        let e = op
            .err()
            .unwrap_or_else(|| panic!("{at}: argument {param:?} should be rejected"));
        assert!(!e.starts_with("unknown operator"), "{at}: {e}");
        return;
    }
    let op = op.unwrap_or_else(|e| panic!("{at}: {e}"));
    let input = match v["input_hex"].as_str() {
        Some(h) => hex(h),
        None => v["input"].as_str().unwrap().as_bytes().to_vec(),
    };
    let tx = v["tx"].clone();
    let mut expand = |m: &Macro| {
        std::rc::Rc::from(m.expand(&mut |n, k| match (n, k) {
            ("tx", Some(k)) => tx[k].as_str().unwrap_or("").as_bytes().to_vec(),
            _ => Vec::new(),
        }))
    };
    let capture = v.get("capture").is_some();
    let mut ctx = OpContext {
        capture,
        captures: Vec::new(),
        expand: &mut expand,
    };
    let got = op.evaluate(&mut ctx, &input);
    assert_eq!(
        got,
        v["match"].as_bool().unwrap(),
        "{at}: input {:?}",
        String::from_utf8_lossy(&input)
    );
    // The engine skips values without one of the operator's required bytes.
    if got && let Some(need) = op.required_bytes() {
        assert!(
            need.intersects(crate::transform::ByteSet::of(&input)),
            "{at}: a match without a required byte"
        );
    }
    if let Some(Value::Array(caps)) = v.get("capture") {
        let want: Vec<Vec<u8>> = caps
            .iter()
            .map(|c| c.as_str().unwrap().as_bytes().to_vec())
            .collect();
        assert_eq!(ctx.captures, want, "{at}: captures");
    }
}

/// Runs every vector file through the operator it is named after, and
/// through each alias of that name.
#[test]
fn operator_vectors() {
    let mut count = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let vectors: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let aliases = ALIASES.iter().filter(|(_, t)| *t == name).map(|(a, _)| *a);
        for n in std::iter::once(name.as_str()).chain(aliases) {
            for (i, v) in vectors.iter().enumerate() {
                check(&format!("{name}.json #{i} via @{n}"), n, v);
                count += 1;
            }
        }
    }
    assert!(count > 50, "only {count} vectors ran");
}

/// The validation operators' required bytes: inputs without one never match
/// (pseudo-random bytes from the rest, 20,000 per operator).
#[test]
fn validation_operators_need_their_bytes() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (name, param) in [
        ("validateByteRange", "1-255"),
        ("validateByteRange", "9,10,13,32-126,128-255"),
        ("validateUrlEncoding", ""),
        ("validateUtf8Encoding", ""),
    ] {
        let op = build(name, param, None).unwrap();
        let need = op.required_bytes().expect(name);
        let rest: Vec<u8> = (0..=255u8)
            .filter(|&b| !need.intersects(crate::transform::ByteSet::of(&[b])))
            .collect();
        let mut expand = |_: &Macro| std::rc::Rc::from(Vec::new());
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| rest[(next() % rest.len() as u64) as usize])
                .collect();
            let mut ctx = OpContext {
                capture: false,
                captures: Vec::new(),
                expand: &mut expand,
            };
            assert!(!op.evaluate(&mut ctx, &input), "@{name} {param}: {input:?}");
        }
    }
}
