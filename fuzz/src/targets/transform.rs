//! Every transformation in seclang's registry, on every input, checked
//! against the contracts the engine relies on:
//!
//! * a transformation returns `Cow::Borrowed` exactly when its output equals
//!   its input (an owned copy of an unchanged value is a contract break);
//! * an input holding none of its *exact* trigger bytes comes out byte for
//!   byte the same, and none of its *identity* trigger bytes the same up to
//!   ASCII case (the prefilter skips rules on these promises, so a break is a
//!   missed detection);
//! * it is a pure function: the same input twice gives the same output.

use super::{bucket, feature};
use crate::corpus::Corpus;
use seclang::transform::{self, ByteSet, TransformFn};
use std::borrow::Cow;
use std::sync::OnceLock;

struct Entry {
    name: &'static str,
    f: TransformFn,
    exact: Option<ByteSet>,
    identity: Option<ByteSet>,
}

fn registry() -> &'static [Entry] {
    static R: OnceLock<Vec<Entry>> = OnceLock::new();
    R.get_or_init(|| {
        transform::names()
            .map(|name| {
                let f = transform::lookup(name).expect("registered name resolves");
                Entry {
                    name,
                    f,
                    exact: transform::chain_exact_triggers(&[f]),
                    identity: transform::chain_identity_triggers(&[f]),
                }
            })
            .collect()
    })
}

fn check(e: &Entry, input: &[u8], held: ByteSet) -> u64 {
    let out = (e.f)(input);
    if let Cow::Owned(o) = &out {
        assert!(
            o.as_slice() != input,
            "{}: unchanged output returned as Cow::Owned",
            e.name
        );
    }
    if e.exact.is_some_and(|t| !t.intersects(held)) {
        assert_eq!(
            &*out, input,
            "{}: changed an input holding none of its exact trigger bytes",
            e.name
        );
    }
    if e.identity.is_some_and(|t| !t.intersects(held)) {
        assert!(
            out.eq_ignore_ascii_case(input),
            "{}: changed (beyond ASCII case) an input holding none of its trigger bytes",
            e.name
        );
    }
    let again = (e.f)(input);
    assert_eq!(&*again, &*out, "{}: two runs differ", e.name);
    feature((
        e.name,
        matches!(out, Cow::Borrowed(_)),
        bucket(out.len()),
        out.len().cmp(&input.len()),
    ))
}

/// Runs every transformation on `input`.
pub fn run(input: &[u8]) -> u64 {
    let held = ByteSet::of(input);
    let mut acc = 0u64;
    for e in registry() {
        acc = acc.rotate_left(1) ^ check(e, input, held);
    }
    // Chains as CRS writes them: each output feeds the next.
    let mut v = Cow::Borrowed(input);
    for name in [
        "urlDecodeUni",
        "htmlEntityDecode",
        "jsDecode",
        "cssDecode",
        "removeNulls",
    ] {
        let f = transform::lookup(name).expect("known transformation");
        v = Cow::Owned(f(&v).into_owned());
    }
    feature((acc, bucket(v.len())))
}

/// Tokens for transformations: their escape syntaxes.
pub const DICT: &[&[u8]] = &[
    b"%u",
    b"%U",
    b"\\u",
    b"\\x",
    b"\\0",
    b"\\\n",
    b"&#x",
    b"&#X",
    b"&#",
    b"&quot",
    b"&nbsp;",
    b"0x",
    b"/*",
    b"*/",
    b"<!--",
    b"-->",
    b"--",
    b"#",
    b"/./",
    b"/../",
    b"\\..\\",
    b"^",
    b"\"",
    b"'",
    b"==",
    b"=",
    b"\xc0\x80",
    b"\xe0\x80\x80",
    b"\xf4\x90\x80\x80",
    b"\xef\xbc\x9c",
];

/// Seeds: request lines, header values and bodies of the CRS tests.
pub fn seeds(c: &Corpus) -> Vec<Vec<u8>> {
    let mut s: Vec<Vec<u8>> = [
        &b"%u0041%41%4%zz+%c0%af"[..],
        b"&#x41;&#65&lt&quot;&#x110000;&#;",
        b"\\u0041\\x41\\101\\0\\\\\\\"",
        b"/a/./b/../../c//d",
        b"C:\\a\\..\\b",
        b"SELECT/**/1 -- x\n#y",
        b"0x414243 0xZZ",
        b"  \t trim\r\n ",
        b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff",
        b"YWJj ZGVm=x",
        b"c^md /c \"wh\"o'am'i",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    for r in &c.requests {
        s.push(r.uri.as_bytes().to_vec());
        s.extend(r.headers.iter().map(|(_, v)| v.as_bytes().to_vec()));
        if !r.body.is_empty() {
            s.push(r.body.clone());
        }
    }
    s
}
