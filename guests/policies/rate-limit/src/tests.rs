//! Policy-level tests: the in-memory host's clock is moved by hand.

use super::*;
use edgewaf_sdk::Action;
use edgewaf_sdk::testing::{Harness, with_host};

/// A time at the start of a 10 s window (and of a 1 s one).
const T0: u64 = 1_700_000_000_000;

fn at(ms: u64) {
    with_host(|h| h.clock_ms = Some(ms));
}

fn harness(json: &str) -> Harness<RateLimit> {
    let h = Harness::<RateLimit>::new(json).unwrap();
    at(T0);
    h
}

fn from(ip: &str) -> Request {
    Request::builder().client(ip).target("/api/x").build()
}

fn retry_after(v: &Verdict) -> Option<String> {
    match &v.action {
        Action::Deny(d) => d
            .headers
            .iter()
            .find(|h| h.name == "retry-after")
            .map(|h| String::from_utf8_lossy(&h.value).into_owned()),
        _ => None,
    }
}

/// How many of `n` requests are allowed.
fn allowed(h: &Harness<RateLimit>, req: &Request, n: usize) -> usize {
    (0..n).filter(|_| h.on_request(req).is_allow()).count()
}

const PER_IP_3_PER_10S: &str = r#"{"rules":[{"name":"ip","key":"ip","limit":3,"window_secs":10}]}"#;

#[test]
fn limit_then_429_with_retry_after() {
    let h = harness(PER_IP_3_PER_10S);
    let req = from("192.0.2.1");
    assert_eq!(allowed(&h, &req, 3), 3);
    let v = h.on_request(&req);
    assert!(v.is_deny());
    assert_eq!(v.deny_status_code(), Some(429));
    assert_eq!(v.rule_ids(), vec!["rate-limit-exceeded"]);
    assert_eq!(v.findings[0].data, "ip: ip=192.0.2.1: 4.0 > 3 per 10s");
    // 3 allowed in this window: the next fits 3 1/3 s into the next window,
    // when 3 * (1 - f) + 1 <= 3. That is 13.334 s from now.
    assert_eq!(retry_after(&v).as_deref(), Some("14"));
    at(T0 + 13_333);
    assert!(h.on_request(&req).is_deny(), "not yet");
    at(T0 + 13_334);
    assert!(
        h.on_request(&req).is_allow(),
        "exactly when the window allows it"
    );
    assert!(h.on_request(&req).is_deny());
}

#[test]
fn previous_window_is_weighted() {
    let h = harness(PER_IP_3_PER_10S);
    let req = from("192.0.2.1");
    assert_eq!(allowed(&h, &req, 3), 3);
    // Halfway through the next window, the previous 3 count as 1.5.
    at(T0 + 15_000);
    assert!(h.on_request(&req).is_allow(), "1.5 + 1 = 2.5");
    assert!(h.on_request(&req).is_deny(), "1.5 + 2 = 3.5");
    // Two windows later nothing of the first one is left.
    at(T0 + 30_000);
    // Previous window (T0+20s..30s) was empty.
    assert_eq!(allowed(&h, &req, 5), 3);
}

#[test]
fn a_fixed_window_edge_does_not_double_the_rate() {
    // A fixed window would allow 3 at 9.9 s and 3 more at 10.0 s.
    let h = harness(PER_IP_3_PER_10S);
    let req = from("192.0.2.1");
    at(T0 + 9_900);
    assert_eq!(allowed(&h, &req, 3), 3);
    at(T0 + 10_000);
    assert_eq!(allowed(&h, &req, 3), 0);
}

#[test]
fn keys_are_independent_and_client_ip_annotation_is_used() {
    let h = harness(PER_IP_3_PER_10S);
    assert_eq!(allowed(&h, &from("192.0.2.1"), 5), 3);
    assert_eq!(allowed(&h, &from("192.0.2.2"), 5), 3);
    // Behind a trusted proxy, ip-filter's client.ip decides, not the peer.
    let via = |ip: &str| {
        Request::builder()
            .client("10.0.0.1")
            .annotation("client.ip", ip)
            .build()
    };
    assert_eq!(allowed(&h, &via("198.51.100.1"), 5), 3);
    assert_eq!(allowed(&h, &via("198.51.100.2"), 5), 3);
}

#[test]
fn header_key_and_missing_header() {
    let h = harness(
        r#"{"rules":[{"name":"key","key":"header:x-api-key","limit":2,"window_secs":60}]}"#,
    );
    let with = |k: &str| Request::builder().header("x-api-key", k).build();
    assert_eq!(allowed(&h, &with("k1"), 4), 2);
    assert_eq!(allowed(&h, &with("k2"), 4), 2);
    // No key: the rule does not apply.
    assert_eq!(allowed(&h, &Request::builder().build(), 10), 10);
    let v = h.on_request(&with("k1"));
    assert!(
        !v.findings[0].data.contains("k1"),
        "header values are not logged: {}",
        v.findings[0].data
    );
}

#[test]
fn annotation_key_jwt_sub() {
    let h = harness(
        r#"{"rules":[{"name":"sub","key":"annotation:jwt.sub","limit":1,"window_secs":1}]}"#,
    );
    let sub = |s: &str| Request::builder().annotation("jwt.sub", s).build();
    assert!(h.on_request(&sub("svc-billing")).is_allow());
    let v = h.on_request(&sub("svc-billing"));
    assert!(v.is_deny());
    assert!(
        v.findings[0].data.contains("jwt.sub=svc-billing"),
        "{}",
        v.findings[0].data
    );
    assert!(h.on_request(&sub("svc-orders")).is_allow());
}

#[test]
fn path_prefix_and_methods() {
    let h = harness(
        r#"{"rules":[{"name":"login","key":"ip","path_prefix":"/login","methods":["POST"],"limit":1,"window_secs":60}]}"#,
    );
    let req = |m: &str, p: &str| Request::builder().method(m).target(p).build();
    assert!(h.on_request(&req("POST", "/login")).is_allow());
    assert!(h.on_request(&req("POST", "/login?next=/")).is_deny());
    assert!(
        h.on_request(&req("post", "/login/sso")).is_deny(),
        "methods compare case-insensitively"
    );
    assert_eq!(allowed(&h, &req("GET", "/login"), 5), 5);
    assert_eq!(allowed(&h, &req("POST", "/api"), 5), 5);
}

#[test]
fn penalty_box() {
    let h = harness(
        r#"{"rules":[{"name":"p","key":"ip","limit":2,"window_secs":1,"penalty_secs":30}]}"#,
    );
    let req = from("192.0.2.9");
    assert_eq!(allowed(&h, &req, 2), 2);
    let v = h.on_request(&req);
    assert_eq!(v.rule_ids(), vec!["rate-limit-exceeded"]);
    assert_eq!(retry_after(&v).as_deref(), Some("30"));
    // Long after the window has passed, the penalty still holds.
    at(T0 + 5_000);
    let v = h.on_request(&req);
    assert_eq!(v.rule_ids(), vec!["rate-limit-penalty"]);
    assert_eq!(retry_after(&v).as_deref(), Some("25"));
    assert_eq!(v.findings[0].data, "p: ip=192.0.2.9: 25s left");
    // Other clients are not affected.
    assert!(h.on_request(&from("192.0.2.10")).is_allow());
    at(T0 + 30_000);
    assert!(h.on_request(&req).is_allow(), "penalty over");
}

#[test]
fn token_bucket_burst_and_refill() {
    let h = harness(
        r#"{"rules":[{"name":"tb","key":"ip","limit":2,"window_secs":1,"algorithm":"token_bucket","burst":4}]}"#,
    );
    let req = from("192.0.2.1");
    assert_eq!(allowed(&h, &req, 6), 4, "the burst");
    let v = h.on_request(&req);
    assert_eq!(retry_after(&v).as_deref(), Some("1"), "500 ms, rounded up");
    at(T0 + 500);
    assert_eq!(allowed(&h, &req, 3), 1, "one token per 500 ms");
    at(T0 + 10_000);
    assert_eq!(allowed(&h, &req, 10), 4, "refilled to the burst, no more");
}

#[test]
fn token_bucket_steady_rate() {
    let h = harness(
        r#"{"rules":[{"name":"tb","key":"ip","limit":10,"window_secs":1,"algorithm":"token_bucket"}]}"#,
    );
    let req = from("192.0.2.1");
    // 50 requests per second for 10 seconds: the first second's burst of 10,
    // then 10 per second.
    let mut ok = 0;
    for i in 0..500u64 {
        at(T0 + i * 20);
        ok += usize::from(h.on_request(&req).is_allow());
    }
    assert!((100..=110).contains(&ok), "{ok}");
}

#[test]
fn sliding_window_flood_gets_the_limit_and_no_more() {
    let h = harness(r#"{"rules":[{"name":"ip","key":"ip","limit":100,"window_secs":1}]}"#);
    let req = from("192.0.2.1");
    // 10x the limit for 20 s, evenly spread; count the allowed ones per
    // sliding second as well.
    let mut allowed_at = Vec::new();
    for i in 0..20_000u64 {
        at(T0 + i);
        if h.on_request(&req).is_allow() {
            allowed_at.push(i);
        }
    }
    let total = allowed_at.len();
    assert!(
        (1900..=2000).contains(&total),
        "{total} allowed in 20 windows of 100"
    );
    // Any 1-second span holds at most a little over the limit (the sliding
    // window is an estimate that assumes the previous window was uniform).
    let worst = allowed_at
        .iter()
        .map(|&s| {
            allowed_at
                .iter()
                .filter(|&&t| t >= s && t < s + 1000)
                .count()
        })
        .max()
        .unwrap();
    assert!(worst <= 100, "{worst} in one second");
}

#[test]
fn global_key_is_shared() {
    let h = harness(r#"{"rules":[{"name":"all","key":"global","limit":3,"window_secs":10}]}"#);
    assert!(h.on_request(&from("192.0.2.1")).is_allow());
    assert!(h.on_request(&from("192.0.2.2")).is_allow());
    assert!(h.on_request(&from("2001:db8::1")).is_allow());
    assert!(h.on_request(&from("192.0.2.3")).is_deny());
}

#[test]
fn rules_in_order_and_custom_status() {
    let h = harness(
        r#"{"status":503,"rules":[
            {"name":"burst","key":"ip","limit":2,"window_secs":1},
            {"name":"hour","key":"ip","limit":3,"window_secs":3600}]}"#,
    );
    let req = from("192.0.2.1");
    assert_eq!(allowed(&h, &req, 3), 2);
    let v = h.on_request(&req);
    assert_eq!(v.deny_status_code(), Some(503));
    assert!(v.findings[0].data.starts_with("burst:"));
    at(T0 + 3_000);
    // The per-second rule is fine again; the hourly one has seen 2 allowed
    // requests: the denied ones were charged to neither rule.
    assert!(h.on_request(&req).is_allow());
    let v = h.on_request(&req);
    assert!(
        v.findings[0].data.starts_with("hour:"),
        "{}",
        v.findings[0].data
    );
    // Denied by the hourly rule, so not charged to the per-second one either.
    at(T0 + 3_500);
    assert!(h.on_request(&from("192.0.2.7")).is_allow());
}

#[test]
fn instances_share_state_only_through_the_host() {
    // Two instances of the policy (as on two pool slots or two nodes sharing
    // Redis) see one budget, because nothing is kept in the instance.
    let h = harness(PER_IP_3_PER_10S);
    let second = RateLimit::init(PER_IP_3_PER_10S).unwrap();
    let req = from("192.0.2.1");
    let mut ok = 0;
    for i in 0..10 {
        let v = if i % 2 == 0 {
            h.on_request(&req)
        } else {
            second.on_request(&req)
        };
        ok += usize::from(v.is_allow());
    }
    assert_eq!(ok, 3);
}

#[test]
fn init_errors() {
    let err = Harness::<RateLimit>::new(r#"{"rules":[{"name":"a","key":"ip","limit":1}]}"#)
        .err()
        .unwrap();
    assert!(err.contains("window_secs"), "{err}");
    let err = Harness::<RateLimit>::new(r#"{"rule":[]}"#).err().unwrap();
    assert!(err.contains("unknown field `rule`"), "{err}");
    let err = Harness::<RateLimit>::new("").err().unwrap();
    assert!(err.starts_with("rate-limit config:"), "{err}");
}
