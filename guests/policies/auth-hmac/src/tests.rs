use super::*;
use edgewaf_sdk::testing::{Harness, with_host};
use serde_json::json;

const NOW: u64 = 1_767_225_600;
const SECRET: &str = "whsec_test_secret_0123456789";
const OTHER_SECRET: &str = "whsec_rotated_secret_abcdefgh";
/// Computed independently with `openssl dgst -sha256 -hmac` over the documented
/// canonical string for `POST /hooks/pay?v=2`, body `{"amount":42}`, ts NOW.
const GOLDEN: &str = "8a8a79656e46adf9f8a0441191963042c6a4b5f21d5ca8807e62d106c068aeff";

fn config(extra: serde_json::Value) -> String {
    let mut c = json!({"keys": [{"id": "partner-7", "secret": SECRET}, {"id": "partner-9", "secret": OTHER_SECRET}]});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c.to_string()
}

fn harness(extra: serde_json::Value) -> Harness<AuthHmac> {
    let h = Harness::<AuthHmac>::new(&config(extra)).unwrap();
    with_host(|host| host.clock_ms = Some(NOW * 1000));
    h
}

fn sign(secret: &str, ts: &str, method: &str, target: &str, body: &[u8]) -> String {
    let canonical = format!("{ts}\n{method}\n{target}\n{}", hex(&Sha256::digest(body)));
    let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap()
        .chain_update(canonical.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// A request signed with `secret` at `ts`, optionally naming the key.
fn signed(secret: &str, ts: u64, key_id: Option<&str>) -> Request {
    let body = br#"{"amount":42}"#;
    let sig = sign(secret, &ts.to_string(), "POST", "/hooks/pay?v=2", body);
    let mut b = Request::builder()
        .method("POST")
        .target("/hooks/pay?v=2")
        .header("x-timestamp", ts.to_string())
        .header("x-signature", format!("v1={sig}"))
        .body(body.to_vec());
    if let Some(id) = key_id {
        b = b.header("x-key-id", id);
    }
    b.build()
}

/// Deny status (if any) and finding ids.
type Outcome<'a> = (Option<u16>, Vec<&'a str>);

fn outcome(v: &Verdict) -> Outcome<'_> {
    (v.deny_status_code(), v.rule_ids())
}

#[test]
fn canonical_string_matches_the_documented_golden_value() {
    let req = signed(SECRET, NOW, None);
    assert_eq!(
        canonical_string(&NOW.to_string(), &req),
        format!(
            "{NOW}\nPOST\n/hooks/pay?v=2\n{}",
            hex(&Sha256::digest(br#"{"amount":42}"#))
        )
    );
    assert_eq!(
        sign(
            SECRET,
            &NOW.to_string(),
            "POST",
            "/hooks/pay?v=2",
            br#"{"amount":42}"#
        ),
        GOLDEN
    );
    let h = harness(json!({}));
    let req = Request::builder()
        .method("POST")
        .target("/hooks/pay?v=2")
        .header("x-timestamp", NOW.to_string())
        .header("x-signature", format!("sha256={}", GOLDEN.to_uppercase()))
        .body(br#"{"amount":42}"#.to_vec())
        .build();
    let v = h.on_request(&req);
    assert!(v.is_allow(), "{v:?}");
}

#[test]
fn valid_signatures_pass_with_the_key_id() {
    let h = harness(json!({}));
    for (secret, key_id, name) in [
        (SECRET, Some("partner-7"), "partner-7"),
        (SECRET, None, "partner-7"),
        (OTHER_SECRET, None, "partner-9"),
        (OTHER_SECRET, Some("partner-9"), "partner-9"),
    ] {
        let v = h.on_request(&signed(secret, NOW, key_id));
        assert!(v.is_allow(), "{key_id:?}: {v:?}");
        assert_eq!(v.annotations[0].key, "hmac.key_id");
        assert_eq!(v.annotations[0].value, name);
    }
    assert!(h.policy().capabilities().request_body);
}

/// Every case is refused with its outcome, and no verdict shows the secret.
fn assert_refused(cases: &[(&str, Request, Outcome)]) {
    let h = harness(json!({}));
    for (name, req, want) in cases {
        let v = h.on_request(req);
        assert_eq!(outcome(&v), *want, "{name}");
        assert!(!format!("{v:?}").contains(SECRET), "{name}: secret leaked");
    }
}

/// A well-signed request (partner-7) changed by `f`.
fn good_but(f: impl FnOnce(&mut Request)) -> Request {
    let mut r = signed(SECRET, NOW, Some("partner-7"));
    f(&mut r);
    r
}

/// A well-signed request whose `name` header now says `value`.
fn good_with_header(name: &str, value: &str) -> Request {
    good_but(|r| {
        for h in r.headers.iter_mut().filter(|h| h.name == name) {
            h.value = value.as_bytes().to_vec();
        }
    })
}

#[test]
fn refusals_of_keys_and_missing_headers() {
    assert_refused(&[
        (
            "wrong secret",
            signed("whsec_wrong_secret_0000000000", NOW, None),
            (Some(401), vec!["hmac-bad-signature"]),
        ),
        (
            "other key's secret",
            signed(OTHER_SECRET, NOW, Some("partner-7")),
            (Some(401), vec!["hmac-bad-signature"]),
        ),
        (
            "unknown key id",
            signed(SECRET, NOW, Some("partner-1")),
            (Some(401), vec!["hmac-unknown-key"]),
        ),
        (
            "missing signature",
            good_but(|r| r.headers.retain(|h| h.name != "x-signature")),
            (Some(401), vec!["hmac-missing-signature"]),
        ),
        (
            "missing timestamp",
            good_but(|r| r.headers.retain(|h| h.name != "x-timestamp")),
            (Some(401), vec!["hmac-missing-timestamp"]),
        ),
    ]);
}

#[test]
fn refusals_of_timestamps() {
    let mut cases = vec![
        (
            "stale timestamp (replay)",
            signed(SECRET, NOW - 301, None),
            (Some(401), vec!["hmac-stale-timestamp"]),
        ),
        (
            "future timestamp",
            signed(SECRET, NOW + 301, None),
            (Some(401), vec!["hmac-future-timestamp"]),
        ),
        (
            "timestamp changed after signing",
            good_with_header("x-timestamp", &(NOW - 1).to_string()),
            (Some(401), vec!["hmac-bad-signature"]),
        ),
    ];
    for bad in [
        "1767225600.5",
        "-1767225600",
        "+1767225600",
        "abc",
        "",
        "99999999999999999999999",
    ] {
        cases.push((
            "bad timestamp",
            good_with_header("x-timestamp", bad),
            (Some(401), vec!["hmac-bad-timestamp"]),
        ));
    }
    assert_refused(&cases);
}

#[test]
fn refusals_of_tampered_requests() {
    let bad = (Some(401), vec!["hmac-bad-signature"]);
    assert_refused(&[
        (
            "tampered body",
            good_but(|r| r.body = br#"{"amount":4200}"#.to_vec()),
            bad.clone(),
        ),
        (
            "tampered query",
            good_but(|r| r.target = "/hooks/pay?v=3".into()),
            bad.clone(),
        ),
        (
            "tampered path",
            good_but(|r| r.target = "/hooks/refund?v=2".into()),
            bad.clone(),
        ),
        (
            "tampered method",
            good_but(|r| r.method = "PUT".into()),
            bad,
        ),
    ]);
}

#[test]
fn refusals_of_signature_formats_and_truncated_bodies() {
    let mut cases = Vec::new();
    for bad in ["deadbeef", "v1=", "v1=zz", "v2=abcd", "v1=abc", "sha1=00"] {
        cases.push((
            "bad signature format",
            good_with_header("x-signature", bad),
            (Some(401), vec!["hmac-bad-signature-format"]),
        ));
    }
    cases.push((
        "signature header twice",
        good_but(|r| {
            r.headers
                .push(edgewaf_sdk::Header::new("x-signature", "v1=00"))
        }),
        (Some(401), vec!["hmac-bad-signature-format"]),
    ));
    cases.push((
        "truncated body",
        good_but(|r| r.body_truncated = true),
        (Some(413), vec!["hmac-body-truncated"]),
    ));
    assert_refused(&cases);
}

#[test]
fn tolerance_edges_and_custom_window() {
    let h = harness(json!({}));
    assert!(h.on_request(&signed(SECRET, NOW - 300, None)).is_allow());
    assert!(h.on_request(&signed(SECRET, NOW + 300, None)).is_allow());
    let h = harness(json!({"tolerance_seconds": 30}));
    assert!(h.on_request(&signed(SECRET, NOW - 30, None)).is_allow());
    assert_eq!(
        outcome(&h.on_request(&signed(SECRET, NOW - 31, None))).1,
        vec!["hmac-stale-timestamp"]
    );
}

#[test]
fn rotation_with_several_signatures() {
    let h = harness(json!({}));
    let mut req = signed(OTHER_SECRET, NOW, None);
    let sig_old = sign(
        SECRET,
        &NOW.to_string(),
        "POST",
        "/hooks/pay?v=2",
        &req.body,
    );
    for hd in req.headers.iter_mut().filter(|h| h.name == "x-signature") {
        let new = String::from_utf8(hd.value.clone()).unwrap();
        hd.value = format!("v1={}, {new}", "00".repeat(32)).into_bytes();
    }
    assert_eq!(h.on_request(&req).annotations[0].value, "partner-9");
    // The old secret's signature as the second entry also passes.
    let mut req = signed(SECRET, NOW, None);
    for hd in req.headers.iter_mut().filter(|h| h.name == "x-signature") {
        hd.value = format!("v1={}, v1={sig_old}", "11".repeat(32)).into_bytes();
    }
    assert_eq!(h.on_request(&req).annotations[0].value, "partner-7");
}

#[test]
fn replays_inside_the_window_when_enabled() {
    let h = harness(json!({"reject_replays": true}));
    let req = signed(SECRET, NOW, None);
    assert!(h.on_request(&req).is_allow());
    assert_eq!(
        outcome(&h.on_request(&req)),
        (Some(401), vec!["hmac-replayed"])
    );
    // Adding a bogus extra signature does not make it a new request.
    let mut again = req.clone();
    for hd in again.headers.iter_mut().filter(|h| h.name == "x-signature") {
        hd.value.extend_from_slice(b",v1=00");
    }
    assert_eq!(outcome(&h.on_request(&again)).1, vec!["hmac-replayed"]);
    // A fresh request (new timestamp) passes.
    assert!(h.on_request(&signed(SECRET, NOW + 1, None)).is_allow());
    // Off by default.
    let h = harness(json!({}));
    assert!(h.on_request(&req).is_allow() && h.on_request(&req).is_allow());
}

#[test]
fn custom_header_names() {
    let h = harness(
        json!({"signature_header": "stripe-sig", "timestamp_header": "x-ts", "key_id_header": "x-kid"}),
    );
    let mut req = signed(SECRET, NOW, Some("partner-7"));
    for hd in req.headers.iter_mut() {
        hd.name = match hd.name.as_str() {
            "x-signature" => "stripe-sig".into(),
            "x-timestamp" => "x-ts".into(),
            "x-key-id" => "x-kid".into(),
            other => other.into(),
        };
    }
    assert!(h.on_request(&req).is_allow());
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (
            json!({"keys": [{"id": "a", "secret": SECRET}], "tolerance": 5}),
            "unknown field `tolerance`",
        ),
        (
            json!({"keys": [{"id": "a", "key": SECRET}]}),
            "unknown field `key`",
        ),
        (json!({"keys": []}), "\"keys\" is empty"),
        (
            json!({"keys": [{"id": "a", "secret": "short"}]}),
            "keys[0].secret (\"a\") is 5 bytes",
        ),
        (
            json!({"keys": [{"id": "a", "secret": SECRET}, {"id": "a", "secret": SECRET}]}),
            "keys[1].id \"a\" is used twice",
        ),
        (
            json!({"keys": [{"id": "", "secret": SECRET}]}),
            "keys[0].id",
        ),
        (
            json!({"keys": [{"id": "a", "secret": SECRET}], "timestamp_header": "x ts"}),
            "timestamp_header",
        ),
        (
            json!({"keys": [{"id": "a", "secret": SECRET}], "tolerance_seconds": 0}),
            "tolerance_seconds",
        ),
    ];
    for (cfg, want) in cases {
        let err = Harness::<AuthHmac>::new(&cfg.to_string())
            .err()
            .unwrap_or_else(|| panic!("accepted {cfg}"));
        assert!(err.contains(want), "{err:?} should contain {want:?}");
        assert!(!err.contains(SECRET), "secret in error {err}");
    }
}

#[test]
fn signature_parsing() {
    assert_eq!(parse_signatures("v1=00ff"), Some(vec![vec![0x00, 0xff]]));
    assert_eq!(
        parse_signatures(" sha256=AB , v1=cd "),
        Some(vec![vec![0xab], vec![0xcd]])
    );
    assert_eq!(parse_signatures(""), None);
    assert_eq!(parse_signatures(",,"), None);
    assert_eq!(parse_signatures("v1=é0"), None);
    assert_eq!(parse_signatures("v1=0"), None);
}

#[test]
fn garbage_headers_never_panic_or_pass() {
    let h = harness(json!({}));
    // A small deterministic generator for test inputs (not for anything secret).
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    let pieces: [&[u8]; 10] = [
        b"v1=",
        b"sha256=",
        b",",
        b"=",
        b"ab",
        b"0",
        b"\xff",
        b" ",
        b"1767225600",
        b"-",
    ];
    for _ in 0..2000 {
        let mut junk = |n: u32| -> Vec<u8> {
            (0..n)
                .flat_map(|_| pieces[(next() % 10) as usize].to_vec())
                .collect()
        };
        let (a, b, c) = (junk(6), junk(3), junk(2));
        let req = Request::builder()
            .method("POST")
            .target("/hooks/pay")
            .header("x-signature", a)
            .header("x-timestamp", b)
            .header("x-key-id", c)
            .build();
        assert!(h.on_request(&req).is_deny());
    }
}
