//! The admin API: token, metrics that match the traffic, runtime lists.

use crate::support::*;

fn metric(text: &str, line_prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn healthz_is_open_and_everything_else_needs_the_token() {
    let echo = Echo::start();
    let waf = Waf::start(
        &echo.addr,
        &[(
            "t",
            "hosts = [\"t.test\"]\nupstream = \"http://{upstream}\"\n",
        )],
    );
    assert_eq!(waf.admin_get("/healthz", None).status, 200);
    assert_eq!(waf.admin_get("/metrics", None).status, 401);
    assert_eq!(waf.admin_get("/metrics", Some("wrong-token")).status, 401);
    assert_eq!(waf.admin_get("/api/events", None).status, 401);
    assert_eq!(waf.admin_get("/api/tenants", None).status, 401);
    let r = waf.admin_get("/api/tenants", Some(TOKEN));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tenants"][0]["name"], "t");
}

#[test]
fn metrics_count_the_requests_sent() {
    let echo = Echo::start();
    let tenant = r#"
hosts = ["m.test"]
upstream = "http://{upstream}"
[[policy]]
module = "signatures"
"#;
    let waf = Waf::start(&echo.addr, &[("m", tenant)]);
    for _ in 0..7 {
        assert_eq!(waf.get("m.test", "/fine").status, 200);
    }
    for _ in 0..3 {
        assert_eq!(
            waf.get("m.test", "/?q=%3Cscript%3Ealert(1)%3C/script%3E")
                .status,
            403
        );
    }
    let r = waf.admin_get("/metrics", Some(TOKEN));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(r.body.ends_with("# EOF\n"), "the body is OpenMetrics text");
    let text = r.body;
    assert_eq!(
        metric(
            &text,
            r#"edgewaf_requests_total{tenant="m",action="allow"}"#
        ),
        Some(7.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"edgewaf_requests_total{tenant="m",action="deny"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"edgewaf_policy_decisions_total{tenant="m",policy="signatures",action="deny"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(&text, r#"edgewaf_policy_eval_seconds_count{tenant="m"}"#),
        Some(10.0),
        "{text}"
    );
    let events = waf
        .admin_get("/api/events?limit=5&tenant=m", Some(TOKEN))
        .json();
    assert_eq!(events["events"].as_array().unwrap().len(), 5);
}

#[test]
fn runtime_list_entries_apply_to_the_next_request() {
    let echo = Echo::start();
    let tenant = r#"
hosts = ["l.test"]
upstream = "http://{upstream}"
[[policy]]
module = "ip-filter"
[policy.config]
lists = ["blocklist"]
"#;
    let waf = Waf::start(&echo.addr, &[("l", tenant)]);
    let raw = b"GET / HTTP/1.1\r\nHost: l.test\r\nConnection: close\r\n\r\n";
    assert_eq!(
        send_bytes_from(&waf.addr, raw, Some("127.0.0.3")).status,
        200
    );
    let r = waf.admin_send(
        "POST",
        "/api/lists/blocklist/entries",
        r#"{"cidr":"127.0.0.3/32","comment":"flood"}"#,
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        send_bytes_from(&waf.addr, raw, Some("127.0.0.3")).status,
        403
    );
    assert_eq!(
        send_bytes_from(&waf.addr, raw, Some("127.0.0.4")).status,
        200
    );
    let list = waf.admin_get("/api/lists/blocklist", Some(TOKEN)).json();
    assert_eq!(list["entries"][0]["cidr"], "127.0.0.3/32");
    let r = waf.admin_send("DELETE", "/api/lists/blocklist/entries/127.0.0.3%2F32", "");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        send_bytes_from(&waf.addr, raw, Some("127.0.0.3")).status,
        200
    );
    let r = waf.admin_send(
        "POST",
        "/api/lists/blocklist/entries",
        r#"{"cidr":"not-an-ip"}"#,
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("not-an-ip"));
}

#[test]
fn metrics_listen_serves_metrics_without_the_token() {
    let echo = Echo::start();
    let port = free_port();
    let mut waf = Waf::prepare(
        &echo.addr,
        &[(
            "t",
            "hosts = [\"t.test\"]\nupstream = \"http://{upstream}\"\n",
        )],
    );
    waf.write_config(&format!(
        "\n[admin]\nmetrics_listen = \"127.0.0.1:{port}\"\n"
    ));
    waf.spawn();
    assert_eq!(waf.get("t.test", "/").status, 200);
    let scrape = |path: &str| {
        send(
            &format!("127.0.0.1:{port}"),
            &format!("GET {path} HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n"),
        )
    };
    let r = scrape("/metrics");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{r:?}"
    );
    assert_eq!(
        metric(
            &r.body,
            r#"edgewaf_requests_total{tenant="t",action="allow"}"#
        ),
        Some(1.0),
        "{}",
        r.body
    );
    // Nothing else of the admin API is reachable there.
    assert_eq!(scrape("/api/tenants").status, 404);
    assert_eq!(scrape("/api/events").status, 404);
    // The admin listener still wants the token.
    assert_eq!(waf.admin_get("/metrics", None).status, 401);
}
