//! Per-request cost of auth-jwt, natively: one `on_request` (header parsing,
//! base64 and JSON decoding, signature verification, claim checks, verdict)
//! for RS256 (RSA 2048) and ES256 (P-256) tokens.
//!
//! `CARGO_TARGET_DIR=/tmp/target-auth cargo bench -p auth-jwt --bench verify`;
//! medians land in `<target>/criterion/<name>/new/estimates.json`.

#[path = "../tests/common/mod.rs"]
mod common;

use auth_jwt::AuthJwt;
use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use edgewaf_sdk::prelude::*;
use edgewaf_sdk::testing::{Harness, with_host};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let keys = Keys::load();
    let h = Harness::<AuthJwt>::new(&config(&keys.jwks())).unwrap();
    with_host(|host| host.clock_ms = Some(NOW as u64 * 1000));
    let mut group = c.benchmark_group("auth-jwt on_request");
    for (name, alg, kid) in [
        ("RS256", "RS256", "rsa"),
        ("ES256", "ES256", "p256"),
        ("EdDSA", "EdDSA", "ed"),
        ("HS256", "HS256", "hs"),
    ] {
        let token = keys.sign(alg, kid, &good_claims());
        let req = Request::builder()
            .target("/payments/42")
            .header("authorization", format!("Bearer {token}"))
            .header("x-auth-sub", "spoofed")
            .build();
        assert!(h.on_request(&req).is_allow(), "{name} token must pass");
        group.bench_function(name, |b| b.iter(|| h.on_request(black_box(&req))));
    }
    // The cheapest refusal path for contrast: a tampered RS256 token.
    let tampered = {
        let t = keys.sign("RS256", "rsa", &good_claims());
        let (head, sig) = t.rsplit_once('.').unwrap();
        let mut sig = sig.to_string();
        sig.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
        format!("{head}.{sig}")
    };
    let req = Request::builder()
        .target("/orders")
        .header("authorization", format!("Bearer {tampered}"))
        .build();
    assert!(h.on_request(&req).is_deny());
    group.bench_function("RS256 bad signature", |b| {
        b.iter(|| h.on_request(black_box(&req)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
