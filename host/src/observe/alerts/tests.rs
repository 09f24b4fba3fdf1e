use super::deliver::{Backoff, Deliverer, Target, sign};
use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn cfg() -> AlertConfig {
    toml::from_str(
        r#"webhook = "http://127.0.0.1:1/hook"
blocked_per_minute = 3
new_rule = true
policy_errors = true"#,
    )
    .unwrap()
}

fn event(action: &'static str, rules: &[&str]) -> DecisionEvent {
    DecisionEvent {
        ts: crate::observe::events::timestamp(),
        request_id: "r1".into(),
        tenant: "api".into(),
        tenant_version: None,
        client_ip: "192.0.2.1".into(),
        country: None,
        method: "GET".into(),
        path: "/".into(),
        action,
        status: if action == "allow" { 200 } else { 403 },
        mode: "block",
        policy: Some("crs".into()),
        would_deny: None,
        rule_ids: rules.iter().map(|r| r.to_string()).collect(),
        findings: vec![],
        reason: None,
        errors: vec![],
        annotations: vec![],
        eval_us: 10,
    }
}

fn kinds(a: &[Alert]) -> Vec<AlertKind> {
    a.iter().map(|a| a.kind).collect()
}

#[test]
fn blocked_rate_fires_once_per_minute_over_the_threshold() {
    let (c, mut w) = (cfg(), Watch::default());
    let t = 6_000; // minute 100
    for i in 0..3 {
        assert!(
            w.observe(&c, &event("deny", &[]), t + i).is_empty(),
            "at {i}"
        );
    }
    assert!(w.observe(&c, &event("allow", &[]), t).is_empty());
    let a = w.observe(&c, &event("deny", &[]), t + 5);
    assert_eq!(kinds(&a), [AlertKind::BlockedRate]);
    assert_eq!(a[0].details["blocked"], 4);
    assert!(
        w.observe(&c, &event("deny", &[]), t + 6).is_empty(),
        "once per minute"
    );
    for i in 0..3 {
        assert!(w.observe(&c, &event("deny", &[]), t + 60 + i).is_empty());
    }
    assert_eq!(
        kinds(&w.observe(&c, &event("deny", &[]), t + 65)),
        [AlertKind::BlockedRate]
    );
}

#[test]
fn new_rule_fires_first_time_and_again_after_the_window() {
    let mut c = cfg();
    c.blocked_per_minute = None;
    let mut w = Watch::default();
    let a = w.observe(&c, &event("allow", &["942100", "949110"]), 1000);
    assert_eq!(kinds(&a), [AlertKind::NewRule, AlertKind::NewRule]);
    assert_eq!(a[0].details["rule_id"], "942100");
    assert!(
        w.observe(&c, &event("allow", &["942100"]), 100_000)
            .is_empty(),
        "no window: since start"
    );
    c.new_rule_window = Some(Duration::from_secs(3600));
    let mut w = Watch::default();
    assert_eq!(w.observe(&c, &event("allow", &["1"]), 0).len(), 1);
    assert!(w.observe(&c, &event("allow", &["1"]), 3599).is_empty());
    assert!(
        w.observe(&c, &event("allow", &["1"]), 7000).is_empty(),
        "seen at 3599"
    );
    assert_eq!(w.observe(&c, &event("allow", &["1"]), 7000 + 3600).len(), 1);
}

#[test]
fn policy_errors_are_throttled_to_one_a_minute_with_the_count() {
    let mut c = cfg();
    c.blocked_per_minute = None;
    let mut w = Watch::default();
    let mut ev = event("error", &[]);
    ev.errors = vec!["crs: deadline exceeded".into()];
    let a = w.observe(&c, &ev, 120);
    assert_eq!(kinds(&a), [AlertKind::PolicyError]);
    assert_eq!(a[0].details["errors"][0], "crs: deadline exceeded");
    assert!(w.observe(&c, &ev, 150).is_empty());
    assert!(w.observe(&c, &ev, 170).is_empty());
    let a = w.observe(&c, &ev, 180);
    assert_eq!(a[0].details["count"], 3, "two suppressed and this one");
    c.policy_errors = false;
    assert!(Watch::default().observe(&c, &ev, 0).is_empty());
}

#[test]
fn config_errors_name_the_field() {
    let bad: Result<AlertConfig, _> =
        toml::from_str("webhook = \"http://x/\"\nnew_rule_window = \"soon\"");
    assert!(bad.unwrap_err().to_string().contains("new_rule_window"));
    let mut c = cfg();
    c.webhook = "https://x/".into();
    assert!(c.validate().unwrap_err().contains("http://"));
    c.webhook = "http://127.0.0.1/".into();
    c.secret_env = "EDGEWAF_TEST_ALERT_SECRET_UNSET".into();
    assert!(
        c.validate()
            .unwrap_err()
            .contains("EDGEWAF_TEST_ALERT_SECRET_UNSET")
    );
}

#[test]
fn signature_is_hmac_sha256_of_timestamp_dot_body() {
    let got = sign(b"Jefe", 0, b"");
    assert!(got.starts_with("sha256=") && got.len() == 7 + 64);
    assert_ne!(sign(b"Jefe", 1, b"x"), sign(b"Jefe", 1, b"y"));
    assert_ne!(sign(b"Jefe", 1, b"x"), sign(b"Jefd", 1, b"x"));
    // The same MAC computed over the whole message "42.body" in one piece.
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(b"key").unwrap();
    hmac::Mac::update(&mut mac, b"42.body");
    let want = hex::encode(hmac::Mac::finalize(mac).into_bytes());
    assert_eq!(sign(b"key", 42, b"body"), format!("sha256={want}"));
}

/// A receiver that answers 500 to the first `fail` requests, then 200, and
/// hands every request (head, body) to the test.
async fn receiver(fail: usize) -> (u16, tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let (head, body) = read_request(&mut s).await;
            let _ = tx.send((head, body));
            let status = if n < fail {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let resp =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    (port, rx)
}

async fn read_request(s: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = header(&head, "content-length").parse().unwrap();
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            return (head, buf[end + 4..end + 4 + len].to_vec());
        }
        assert!(n > 0, "connection closed mid-head");
    }
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

#[tokio::test]
async fn failing_receiver_gets_retries_then_the_signed_alert_arrives() {
    let (port, mut rx) = receiver(2).await;
    let secret = b"0123456789abcdef-test".to_vec();
    let target = Target::new(
        format!("http://127.0.0.1:{port}/hook").parse().unwrap(),
        secret.clone(),
    );
    let backoff = Backoff {
        attempts: 4,
        first: Duration::from_millis(20),
        max: Duration::from_millis(50),
    };
    let d = Deliverer::start(8, backoff, Default::default());
    let mut w = Watch::default();
    let alert = w.observe(&cfg(), &event("allow", &["942100"]), 0).remove(0);
    let id = alert.id.clone();
    d.send(&target, alert);
    for _ in 0..3 {
        let (head, body) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let ts: u64 = header(&head, "x-edgewaf-timestamp").parse().unwrap();
        assert_eq!(
            header(&head, "x-edgewaf-signature"),
            sign(&secret, ts, &body)
        );
        assert_eq!(header(&head, "x-edgewaf-alert-id"), id);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["kind"], "new_rule");
        assert_eq!(v["details"]["rule_id"], "942100");
    }
    let c = d.counters().clone();
    for _ in 0..100 {
        if c.sent.get() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(c.sent.get(), 1);
    assert_eq!(c.retries.get(), 2);
    assert_eq!(c.failed.get(), 0);
}

#[tokio::test]
async fn full_queue_drops_and_counts() {
    // Nothing listens on port 1: every attempt fails; one job in flight, one queued.
    let target = Target::new(
        "http://127.0.0.1:1/".parse().unwrap(),
        b"0123456789abcdef".to_vec(),
    );
    let backoff = Backoff {
        attempts: 2,
        first: Duration::from_secs(5),
        max: Duration::from_secs(5),
    };
    let d = Deliverer::start(1, backoff, Default::default());
    let mut w = Watch::default();
    for i in 0..10 {
        let rule = format!("r{i}");
        for a in w.observe(&cfg(), &event("allow", &[&rule]), 0) {
            d.send(&target, a);
        }
    }
    let dropped = d.counters().dropped.get();
    assert!((8..=9).contains(&dropped), "dropped {dropped}");
}
