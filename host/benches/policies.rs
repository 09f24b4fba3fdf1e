//! Per-request cost of policies INSIDE the Wasm sandbox, through the host's
//! runtime (the same path the proxy takes: record lowering, guest call, verdict
//! lifting, instance pool):
//!
//! - the CRS component at paranoia 1 (block mode): a benign GET with 8 headers,
//!   a 2 KB urlencoded POST, a 20 KB JSON POST, a denied SQLi GET, and the
//!   whole exchange of a benign GET (on-request, then on-response);
//! - auth-jwt: RS256 and ES256 tokens (the latency it adds to a request);
//! - a no-op policy (the `hostile` component configured to allow): what the
//!   host itself adds per policy call (instance borrow, lowering the request
//!   record into the sandbox, the call, lifting the verdict).
//!
//! `make guests && cargo bench -p edgewaf --bench policies` (needs the CRS in
//! `EDGEWAF_CRS_DIR` or the vendored `crs/v4.28.0`; `EDGEWAF_BENCH_ONLY=noop|crs|jwt`
//! runs one group). Criterion prints the median (the middle figure of `time:`).

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use edgewaf::serve::runtime::{
    Action, Header, Limits, PolicyPool, PolicySpec, Request, Response, Runtime,
};
use edgewaf::serve::state::{MemoryState, StateBackend};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `target/wasm32-wasip2/release/<name>.wasm`, or from `$EDGEWAF_BENCH_MODULES`
/// (to compare builds of the same policy).
fn module(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("EDGEWAF_BENCH_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/wasm32-wasip2/release"));
    let p = dir.join(format!("{name}.wasm"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (run `make guests` first)", p.display()))
}

fn load(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    name: &str,
    config: serde_json::Value,
    mounts: Vec<(PathBuf, String)>,
) -> Arc<PolicyPool> {
    let (_, component) = runtime.compile(&module(name)).unwrap();
    rt.block_on(runtime.load_policy(PolicySpec {
        tenant: "bench".into(),
        name: name.into(),
        component,
        config_json: config.to_string(),
        mounts,
        limits: Limits {
            memory_mib: 512,
            deadline_ms: 10_000,
            init_deadline_ms: 60_000,
            max_instances: 1,
        },
        source: None,
    }))
    .unwrap()
}

fn request(method: &str, target: &str, headers: &[(&str, String)], body: Vec<u8>) -> Request {
    let mut r = edgewaf::serve::request::new_request(
        method,
        target,
        headers.iter().map(|(n, v)| (n, v)),
        body,
    );
    r.connection.client_addr = "198.51.100.7".into();
    r
}

fn browser_headers() -> Vec<(&'static str, String)> {
    vec![
        ("host", "shop.example.com".into()),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
        ),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into(),
        ),
        ("accept-language", "en-GB,en;q=0.5".into()),
        ("accept-encoding", "gzip, deflate, br".into()),
        ("referer", "https://shop.example.com/products?page=1".into()),
        ("cookie", "session=4f9c2a7d1e8b3c6a; theme=dark".into()),
        ("connection", "keep-alive".into()),
    ]
}

fn allowed(pool: &PolicyPool, rt: &tokio::runtime::Runtime, req: &Request) -> bool {
    matches!(
        rt.block_on(pool.on_request(req)).unwrap().action,
        Action::Allow
    )
}

/// A ~2 KB urlencoded form POST with browser headers.
fn form_post() -> Request {
    let mut form = String::new();
    let mut i = 0;
    while form.len() < 2000 {
        form.push_str(&format!("field{i}=Some+ordinary+text+value+number+{i}&"));
        i += 1;
    }
    let mut h = browser_headers();
    h.push(("content-type", "application/x-www-form-urlencoded".into()));
    h.push(("content-length", form.len().to_string()));
    request("POST", "/account/profile", &h, form.into_bytes())
}

/// A ~20 KB JSON order POST with browser headers.
fn json_post() -> Request {
    let items: Vec<serde_json::Value> = (0..262)
        .map(|i| serde_json::json!({"sku": format!("SKU-{i:05}"), "name": format!("Ordinary product name {i}"), "qty": i % 7, "price": 19.99}))
        .collect();
    let json = serde_json::json!({"customer": {"name": "Ana Silva", "email": "ana@example.com"}, "items": items}).to_string();
    let mut h = browser_headers();
    h.push(("content-type", "application/json".into()));
    h.push(("content-length", json.len().to_string()));
    request("POST", "/api/orders", &h, json.into_bytes())
}

/// A small HTML page, the response side of the whole-exchange benchmark.
fn small_page() -> Response {
    Response {
        status: 200,
        headers: [("content-type", "text/html"), ("content-length", "29")]
            .into_iter()
            .map(|(n, v)| Header {
                name: n.into(),
                value: v.into(),
            })
            .collect(),
        body: b"<html><body>ok</body></html>\n".to_vec(),
        body_truncated: false,
    }
}

fn crs(c: &mut Criterion, rt: &tokio::runtime::Runtime, runtime: &Arc<Runtime>) {
    let crs_dir = std::env::var_os("EDGEWAF_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("crs/v4.28.0"));
    let config = serde_json::json!({
        "rules": ["/crs/crs-setup.conf.example", "/crs/rules/*.conf"],
        "paranoia_level": 1,
    });
    let pool = load(rt, runtime, "crs", config, vec![(crs_dir, "/crs".into())]);

    let get = request(
        "GET",
        "/products/42?color=blue&size=m",
        &browser_headers(),
        vec![],
    );
    let post = form_post();
    let post_json = json_post();
    for (name, req) in [
        ("benign GET", &get),
        ("2KB urlencoded POST", &post),
        ("20KB JSON POST", &post_json),
    ] {
        assert!(allowed(&pool, rt, req), "{name} must be allowed by CRS PL1");
    }
    let sqli = request(
        "GET",
        "/products?id=1%27%20OR%20%271%27%3D%271",
        &browser_headers(),
        vec![],
    );
    assert!(!allowed(&pool, rt, &sqli), "the SQLi GET must be denied");
    eprintln!(
        "bodies: {} B urlencoded, {} B JSON",
        post.body.len(),
        post_json.body.len()
    );
    let mut g = c.benchmark_group("crs-pl1-in-wasm");
    g.bench_function("benign GET 8 headers", |b| {
        b.iter(|| rt.block_on(pool.on_request(black_box(&get))))
    });
    g.bench_function("2KB urlencoded POST", |b| {
        b.iter(|| rt.block_on(pool.on_request(black_box(&post))))
    });
    g.bench_function("20KB JSON POST", |b| {
        b.iter(|| rt.block_on(pool.on_request(black_box(&post_json))))
    });
    g.bench_function("SQLi GET (denied)", |b| {
        b.iter(|| rt.block_on(pool.on_request(black_box(&sqli))))
    });
    // The whole exchange of an allowed GET as the proxy runs it: on-request,
    // then on-response with a small HTML page (the CRS's phases 3-5 on the
    // transaction that on-request left in the same instance).
    let page = small_page();
    g.bench_function("benign GET + 29 B response", |b| {
        b.iter(|| {
            rt.block_on(async {
                pool.on_request(black_box(&get)).await.unwrap();
                pool.on_response(black_box(&get), &page).await.unwrap()
            })
        })
    });
    g.finish();
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn jwt(c: &mut Criterion, rt: &tokio::runtime::Runtime, runtime: &Arc<Runtime>) {
    use p256::ecdsa::signature::Signer as _;
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::SignatureEncoding as _;
    use rsa::traits::PublicKeyParts as _;
    let mut rng = rand::thread_rng();
    let rsa_key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let ec_key = p256::ecdsa::SigningKey::random(&mut rng);
    let point = ec_key.verifying_key().to_encoded_point(false);
    let jwks = serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "rsa", "alg": "RS256", "use": "sig",
         "n": b64(&rsa_key.n().to_bytes_be()), "e": b64(&rsa_key.e().to_bytes_be())},
        {"kty": "EC", "kid": "ec", "crv": "P-256", "alg": "ES256", "use": "sig",
         "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())},
    ]});
    let pool = load(
        rt,
        runtime,
        "auth-jwt".replace('-', "_").as_str(),
        serde_json::json!({"jwks": jwks, "issuer": "https://idp.test/", "audience": "payments"}),
        vec![],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({"iss": "https://idp.test/", "aud": "payments", "sub": "svc-1", "iat": now, "exp": now + 86_400});
    let signing_input = |alg: &str, kid: &str| {
        format!(
            "{}.{}",
            b64(format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#).as_bytes()),
            b64(claims.to_string().as_bytes())
        )
    };
    let rs = {
        let input = signing_input("RS256", "rsa");
        let sig = SigningKey::<sha2::Sha256>::new(rsa_key).sign(input.as_bytes());
        format!("{input}.{}", b64(&sig.to_bytes()))
    };
    let es = {
        let input = signing_input("ES256", "ec");
        let sig: p256::ecdsa::Signature = ec_key.sign(input.as_bytes());
        format!("{input}.{}", b64(&sig.to_bytes()))
    };
    let mut g = c.benchmark_group("auth-jwt-in-wasm");
    for (name, token) in [("RS256", rs), ("ES256", es)] {
        let mut h = browser_headers();
        h.push(("authorization", format!("Bearer {token}")));
        let req = request("GET", "/payments/42", &h, vec![]);
        assert!(allowed(&pool, rt, &req), "{name} token must pass");
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(pool.on_request(black_box(&req))))
        });
    }
    g.finish();
}

fn noop(c: &mut Criterion, rt: &tokio::runtime::Runtime, runtime: &Arc<Runtime>) {
    let pool = load(rt, runtime, "hostile", serde_json::json!({}), vec![]);
    let get = request(
        "GET",
        "/products/42?color=blue&size=m",
        &browser_headers(),
        vec![],
    );
    assert!(allowed(&pool, rt, &get), "the no-op policy allows");
    let mut g = c.benchmark_group("noop-policy-in-wasm");
    g.bench_function("benign GET 8 headers", |b| {
        b.iter(|| rt.block_on(pool.on_request(black_box(&get))))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state: Arc<dyn StateBackend> = Arc::new(MemoryState::new());
    let runtime = Runtime::new(state).unwrap();
    let only = std::env::var("EDGEWAF_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "noop" {
        noop(c, &rt, &runtime);
    }
    if only.is_empty() || only == "crs" {
        crs(c, &rt, &runtime);
    }
    if only.is_empty() || only == "jwt" {
        jwt(c, &rt, &runtime);
    }
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(5));
    targets = benches
}
criterion_main!(group);
