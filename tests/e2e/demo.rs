//! The auth demo tenants of `policies/` (payments: JWT, partners: API key and
//! rate limit, hooks: signed webhooks) through the real proxy, the way the
//! README's curl calls use them.

use crate::support::*;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

fn demo(name: &str) -> String {
    std::fs::read_to_string(repo().join("policies").join(format!("{name}.toml")))
        .unwrap()
        .replace("http://127.0.0.1:8081", "http://{upstream}")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hmac_hex(secret: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The token README's openssl recipe mints.
fn demo_token(scope: &str, exp_in: i64) -> String {
    let header = b64(br#"{"alg":"HS256","kid":"demo","typ":"JWT"}"#);
    let n = now() as i64;
    let payload = b64(
        format!(
            r#"{{"iss":"https://idp.demo/","aud":"payments","sub":"svc-billing","scope":"{scope}","iat":{n},"exp":{}}}"#,
            n + exp_in
        )
        .as_bytes(),
    );
    let sig = b64(&hmac_hex(
        b"edgewaf-demo-hs256-secret-0123456789",
        format!("{header}.{payload}").as_bytes(),
    ));
    format!("{header}.{payload}.{sig}")
}

fn get(waf: &Waf, host: &str, target: &str, extra: &str) -> Resp {
    send(
        &waf.addr,
        &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"),
    )
}

#[test]
fn payments_requires_a_valid_jwt_before_the_waf_rules() {
    let echo = Echo::start();
    let waf = Waf::start(&echo.addr, &[("payments", &demo("payments"))]);
    let r = get(&waf, "payments.localhost", "/payments/42", "");
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("www-authenticate").unwrap().starts_with("Bearer"),
        "{r:?}"
    );
    let token = demo_token("payments:write", 600);
    let auth = format!("Authorization: Bearer {token}\r\nX-Auth-Sub: spoofed\r\n");
    let r = get(&waf, "payments.localhost", "/payments/42", &auth);
    assert_eq!(r.status, 200, "{r:?}");
    let seen = r.json()["headers"].to_string();
    assert!(
        seen.contains(r#"["x-auth-sub","svc-billing"]"#),
        "claim forwarded, spoofed header gone: {seen}"
    );
    // Missing scope: 403.
    let narrow = format!(
        "Authorization: Bearer {}\r\n",
        demo_token("payments:read", 600)
    );
    assert_eq!(
        get(&waf, "payments.localhost", "/payments/42", &narrow).status,
        403
    );
    // Expired: 401.
    let old = format!(
        "Authorization: Bearer {}\r\n",
        demo_token("payments:write", -3600)
    );
    assert_eq!(
        get(&waf, "payments.localhost", "/payments/42", &old).status,
        401
    );
    // A valid token does not get an attack past the WAF rules.
    let r = get(
        &waf,
        "payments.localhost",
        "/payments/42?id=1%27%20OR%20%271%27%3D%271",
        &auth,
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(waf.decision(&r.request_id())["policy"], "signatures");
}

#[test]
fn partners_need_an_api_key_and_are_rate_limited_per_key() {
    let echo = Echo::start();
    let waf = Waf::start(&echo.addr, &[("partners", &demo("partners"))]);
    assert_eq!(
        get(&waf, "partners.localhost", "/api/orders", "").status,
        401
    );
    assert_eq!(
        get(
            &waf,
            "partners.localhost",
            "/api/orders",
            "X-Api-Key: wrong-key-000000\r\n"
        )
        .status,
        401
    );
    let key = "X-Api-Key: demo-partner-key-0123456789\r\n";
    let r = get(&waf, "partners.localhost", "/api/orders", key);
    assert_eq!(r.status, 200, "{r:?}");
    let d = waf.decision(&r.request_id());
    assert!(d["annotations"].to_string().contains("partner-7"), "{d}");
    assert!(
        !d.to_string().contains("demo-partner-key"),
        "the key is never logged: {d}"
    );
    let statuses: Vec<u16> = (0..25)
        .map(|_| get(&waf, "partners.localhost", "/api/orders", key).status)
        .collect();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 5, "20 per 10 s: the rest get 429: {statuses:?}");
}

#[test]
fn hooks_accept_only_fresh_signed_bodies() {
    let echo = Echo::start();
    let waf = Waf::start(&echo.addr, &[("hooks", &demo("hooks"))]);
    let body = r#"{"event":"payment.succeeded","amount":4200}"#;
    let signed = |ts: u64, body: &str| {
        let canonical = format!(
            "{ts}\nPOST\n/hooks/pay\n{}",
            hex::encode(Sha256::digest(body.as_bytes()))
        );
        let sig = hex::encode(hmac_hex(
            b"whsec_demo_0123456789abcdef",
            canonical.as_bytes(),
        ));
        format!(
            "POST /hooks/pay HTTP/1.1\r\nHost: hooks.localhost\r\nContent-Type: application/json\r\nX-Timestamp: {ts}\r\nX-Key-Id: shop-webhooks\r\nX-Signature: v1={sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    assert_eq!(send(&waf.addr, &signed(now(), body)).status, 200);
    let tampered = signed(now(), body).replace("4200", "9999");
    assert_eq!(send(&waf.addr, &tampered).status, 401, "tampered body");
    assert_eq!(
        send(&waf.addr, &signed(now() - 3600, body)).status,
        401,
        "replayed an hour later"
    );
    let unsigned = post("hooks.localhost", "/hooks/pay", "application/json", body);
    assert_eq!(send(&waf.addr, &unsigned).status, 401);
}
