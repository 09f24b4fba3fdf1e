use super::*;
use edgewaf_sdk::testing::Harness;
use serde_json::json;

const PARTNER_KEY: &str = "k7-3f9a1c0e5b2d4e6f8a0b1c2d3e4f5a6b";
const OPS_KEY: &str = "ops-0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn config(extra: serde_json::Value) -> String {
    let mut c = json!({"keys": [
        {"name": "partner-7", "sha256": sha(PARTNER_KEY)},
        {"name": "ops", "sha256": sha(OPS_KEY).to_uppercase()},
    ]});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c.to_string()
}

fn annotation(v: &Verdict, key: &str) -> Option<String> {
    v.annotations
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.clone())
}

#[test]
fn valid_keys_are_named() {
    let h = Harness::<AuthApiKey>::new(&config(json!({}))).unwrap();
    for (key, name) in [(PARTNER_KEY, "partner-7"), (OPS_KEY, "ops")] {
        let v = h.on_request(&Request::builder().header("x-api-key", key).build());
        assert!(v.is_allow(), "{v:?}");
        assert_eq!(annotation(&v, "apikey.name").as_deref(), Some(name));
        assert_eq!(v.remove_request_headers, vec!["x-api-key"]);
    }
}

#[test]
fn missing_and_wrong_keys_are_distinct_401s() {
    let h = Harness::<AuthApiKey>::new(&config(json!({}))).unwrap();
    let cases = [
        (None, "apikey-missing"),
        (Some(""), "apikey-missing"),
        (Some("   "), "apikey-missing"),
        (
            Some("k7-3f9a1c0e5b2d4e6f8a0b1c2d3e4f5a6c"),
            "apikey-invalid",
        ),
        (
            Some("K7-3F9A1C0E5B2D4E6F8A0B1C2D3E4F5A6B"),
            "apikey-invalid",
        ),
        (Some("k7-3f9a1c0e5b2d4e6f8a0b1c2d3e4f5a6"), "apikey-invalid"),
    ];
    for (key, id) in cases {
        let mut b = Request::builder();
        if let Some(k) = key {
            b = b.header("x-api-key", k);
        }
        let v = h.on_request(&b.build());
        assert_eq!(v.deny_status_code(), Some(401), "{key:?}");
        assert_eq!(v.rule_ids(), vec![id], "{key:?}");
        assert!(annotation(&v, "apikey.name").is_none());
    }
}

#[test]
fn the_raw_key_never_appears_in_the_verdict() {
    let h = Harness::<AuthApiKey>::new(&config(json!({"query_param": "api_key"}))).unwrap();
    let wrong = "super-secret-but-wrong-key-value";
    for req in [
        Request::builder().header("x-api-key", wrong).build(),
        Request::builder()
            .target(&format!("/x?api_key={wrong}"))
            .build(),
    ] {
        let v = h.on_request(&req);
        assert!(v.is_deny());
        assert!(!format!("{v:?}").contains(wrong), "{v:?}");
    }
    let logs = edgewaf_sdk::testing::with_host(|h| h.logs.clone());
    assert!(logs.iter().all(|(_, m)| !m.contains(wrong)));
}

#[test]
fn query_parameter_when_configured() {
    let h = Harness::<AuthApiKey>::new(&config(json!({"query_param": "api_key"}))).unwrap();
    let v = h.on_request(
        &Request::builder()
            .target(&format!("/orders?x=1&api_key={OPS_KEY}"))
            .build(),
    );
    assert_eq!(annotation(&v, "apikey.name").as_deref(), Some("ops"));
    // Header wins over the query parameter.
    let req = Request::builder()
        .target(&format!("/orders?api_key={OPS_KEY}"))
        .header("x-api-key", "nope")
        .build();
    assert_eq!(h.on_request(&req).rule_ids(), vec!["apikey-invalid"]);
    // Not configured: the query is ignored.
    let h = Harness::<AuthApiKey>::new(&config(json!({}))).unwrap();
    let v = h.on_request(
        &Request::builder()
            .target(&format!("/orders?api_key={OPS_KEY}"))
            .build(),
    );
    assert_eq!(v.rule_ids(), vec!["apikey-missing"]);
}

#[test]
fn custom_header_and_no_strip() {
    let h = Harness::<AuthApiKey>::new(&config(json!({"header": "X-Partner-Key", "strip": false})))
        .unwrap();
    let v = h.on_request(
        &Request::builder()
            .header("x-partner-key", PARTNER_KEY)
            .build(),
    );
    assert!(v.is_allow());
    assert!(v.remove_request_headers.is_empty());
    let v = h.on_request(&Request::builder().header("x-api-key", PARTNER_KEY).build());
    assert_eq!(v.rule_ids(), vec!["apikey-missing"]);
}

#[test]
fn repeated_header_is_refused() {
    let h = Harness::<AuthApiKey>::new(&config(json!({}))).unwrap();
    let req = Request::builder()
        .header("x-api-key", "wrong")
        .header("x-api-key", PARTNER_KEY)
        .build();
    let v = h.on_request(&req);
    assert_eq!(v.deny_status_code(), Some(401));
    assert_eq!(v.rule_ids(), vec!["apikey-ambiguous"]);
}

#[test]
fn binary_garbage_does_not_panic() {
    let h = Harness::<AuthApiKey>::new(&config(json!({"query_param": "k"}))).unwrap();
    for bytes in [
        vec![0xff, 0xfe, 0x00],
        vec![b'%'; 3],
        (0..=255u8).collect::<Vec<_>>(),
    ] {
        assert!(
            h.on_request(&Request::builder().header("x-api-key", bytes).build())
                .is_deny()
        );
    }
    assert!(
        h.on_request(&Request::builder().target("/?k=%ff%fe&k").build())
            .is_deny()
    );
}

#[test]
fn config_errors_name_the_field() {
    let ok = sha(PARTNER_KEY);
    let cases = [
        (
            json!({"keys": [{"name": "a", "sha256": ok}], "headers": "x"}),
            "unknown field `headers`",
        ),
        (
            json!({"keys": [{"name": "a", "sha": ok}]}),
            "unknown field `sha`",
        ),
        (json!({"keys": []}), "\"keys\" is empty"),
        (json!({}), "missing field `keys`"),
        (
            json!({"keys": [{"name": "a", "sha256": "abc"}]}),
            "keys[0].sha256 (\"a\")",
        ),
        (
            json!({"keys": [{"name": "a", "sha256": ok}, {"name": "b", "sha256": "zz".repeat(32)}]}),
            "keys[1].sha256",
        ),
        (
            json!({"keys": [{"name": "a", "sha256": ok}, {"name": "b", "sha256": ok}]}),
            "repeats the hash of \"a\"",
        ),
        (
            json!({"keys": [{"name": "", "sha256": ok}]}),
            "keys[0].name",
        ),
        (
            json!({"keys": [{"name": "a", "sha256": ok}], "header": "bad header"}),
            "header: \"bad header\"",
        ),
        (
            json!({"keys": [{"name": "a", "sha256": ok}], "query_param": ""}),
            "query_param",
        ),
    ];
    for (cfg, want) in cases {
        let err = Harness::<AuthApiKey>::new(&cfg.to_string())
            .err()
            .unwrap_or_else(|| panic!("accepted {cfg}"));
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    }
}

#[test]
fn hex_parsing() {
    assert_eq!(parse_hex32(&"0f".repeat(32)), Some([0x0f; 32]));
    assert_eq!(parse_hex32(&"0F".repeat(32)), Some([0x0f; 32]));
    assert_eq!(parse_hex32(&"0f".repeat(31)), None);
    assert_eq!(parse_hex32(&format!("{}+1", "0".repeat(62))), None);
    assert_eq!(parse_hex32(&"é".repeat(32)), None);
}
