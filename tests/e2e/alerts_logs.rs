//! Alerts as signed webhooks and the SIEM-ready decision log (issue 14),
//! against real `edgewaf serve` processes.

use crate::support::*;
use hmac::{Hmac, Mac};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "alert-secret-0123456789abcdef";
const ATTACK: &str = "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E";

/// A tenant with signatures and alerts to `{hook}`.
const SHOP: &str = r#"
hosts = ["shop.test"]
upstream = "http://{upstream}"

[[policy]]
module = "signatures"

[alerts]
webhook = "http://{hook}/hook"
secret_env = "EDGEWAF_TEST_ALERT_SECRET"
blocked_per_minute = 2
new_rule = true
"#;

/// One webhook request: lower-cased head and body.
type Hit = (String, Vec<u8>);

/// A webhook receiver answering 500 to the first `fail` requests, then 204.
fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<Hit>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hits = Arc::new(Mutex::new(Vec::new()));
    let shared = hits.clone();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let Some(hit) = read_hit(&mut s) else {
                continue;
            };
            let mut hits = shared.lock().unwrap();
            hits.push(hit);
            let status = if hits.len() <= fail {
                "500 Internal Server Error"
            } else {
                "204 No Content"
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (addr, hits)
}

fn read_hit(s: &mut std::net::TcpStream) -> Option<Hit> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        let len: usize = header(&head, "content-length")?.parse().ok()?;
        while buf.len() < end + 4 + len {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Some((head, buf[end + 4..end + 4 + len].to_vec()));
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

/// Starts `edgewaf serve` in `waf`'s folder with the alert secret set.
fn spawn(waf: &mut Waf) -> Proc {
    waf.addr = format!("127.0.0.1:{}", free_port());
    waf.admin = format!("127.0.0.1:{}", free_port());
    let stderr = std::fs::File::create(waf.dir.path().join("stderr.log")).unwrap();
    let mut child = edgewaf()
        .args(["serve", "--config"])
        .arg(waf.dir.path().join("edgewaf.toml"))
        .args(["--listen", &waf.addr, "--admin-listen", &waf.admin])
        .env("EDGEWAF_ADMIN_TOKEN", TOKEN)
        .env("EDGEWAF_TEST_ALERT_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start edgewaf serve");
    let log = waf.dir.path().join("stderr.log");
    wait_for_listen(&waf.addr, "edgewaf serve", &mut child, Some(&log));
    wait_for_listen(&waf.admin, "edgewaf serve", &mut child, Some(&log));
    Proc {
        child,
        name: "edgewaf".into(),
    }
}

fn verify(head: &str, body: &[u8]) -> serde_json::Value {
    let ts = header(head, "x-edgewaf-timestamp").expect("timestamp header");
    let sig = header(head, "x-edgewaf-signature").expect("signature header");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(sig, want, "signature over {ts}.body");
    serde_json::from_slice(body).expect("JSON body")
}

fn wait_hits(hits: &Mutex<Vec<Hit>>, n: usize, within: Duration) -> Vec<Hit> {
    let start = Instant::now();
    while start.elapsed() < within {
        let h = hits.lock().unwrap().clone();
        if h.len() >= n {
            return h;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{} webhook requests, wanted {n}",
        hits.lock().unwrap().len()
    );
}

#[test]
fn alerts_arrive_signed_and_a_failing_receiver_gets_retries() {
    let echo = Echo::start();
    let (hook, hits) = receiver(2);
    let mut waf = Waf::prepare(&echo.addr, &[("shop", &SHOP.replace("{hook}", &hook))]);
    waf.write_config("");
    let _proc = spawn(&mut waf);
    for _ in 0..3 {
        assert_eq!(waf.get("shop.test", ATTACK).status, 403);
    }
    // new_rule (500, 500, then 204 after 0.5 s and 1 s), then blocked_rate (204).
    let got = wait_hits(&hits, 4, Duration::from_secs(20));
    let bodies: Vec<serde_json::Value> = got.iter().map(|(h, b)| verify(h, b)).collect();
    assert_eq!(bodies[0]["kind"], "new_rule");
    assert_eq!(
        bodies[0]["id"], bodies[2]["id"],
        "retries carry the same alert"
    );
    assert_eq!(bodies[1]["id"], bodies[0]["id"]);
    assert_eq!(bodies[0]["tenant"], "shop");
    assert!(bodies[0]["details"]["rule_id"].is_string());
    assert!(
        bodies
            .iter()
            .any(|b| b["kind"] == "blocked_rate" && b["details"]["blocked"] == 3)
    );
    let metrics = waf.admin_get("/metrics", Some(TOKEN)).body;
    assert!(
        metrics.contains("edgewaf_alerts_retries_total 2"),
        "{metrics}"
    );
    assert!(!waf.stderr().contains(SECRET), "the secret is never logged");
}

fn ecs_config(waf: &Waf, log: &str) {
    let cfg = format!(
        "[policies]\ndir = \"policies\"\nmodules = [{:?}]\n\n[log]\n{log}\n",
        modules_dir().display().to_string()
    );
    std::fs::write(waf.dir.path().join("edgewaf.toml"), cfg).unwrap();
}

fn lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document a line"))
        .collect()
}

fn get_ua(waf: &Waf, target: &str) -> Resp {
    send(
        &waf.addr,
        &format!(
            "GET {target} HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: e2e-agent/1\r\nX-Country: DE\r\nConnection: close\r\n\r\n"
        ),
    )
}

#[test]
fn ecs_log_has_typed_fields() {
    let echo = Echo::start();
    let mut waf = Waf::prepare(
        &echo.addr,
        &[(
            "shop",
            "hosts = [\"shop.test\"]\nupstream = \"http://{upstream}\"\n[[policy]]\nmodule = \"signatures\"\n",
        )],
    );
    let geo = crate::analytics::geo_config();
    // The header is trusted only from 127.0.0.2: it does not count from 127.0.0.1.
    let untrusted = "country_header = \"x-country\"\ntrusted_proxies = [\"127.0.0.2/32\"]\n";
    ecs_config(
        &waf,
        &format!("format = \"ecs\"\nfile = \"siem.log\"\n{geo}{untrusted}"),
    );
    let _proc = spawn(&mut waf);
    let r = get_ua(&waf, ATTACK);
    assert_eq!(r.status, 403);
    let path = waf.dir.path().join("siem.log");
    let start = Instant::now();
    while lines(&path).is_empty() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let d = &lines(&path)[0];
    assert!(d["@timestamp"].is_string());
    assert_eq!(d["event"]["action"], "deny");
    assert_eq!(d["event"]["outcome"], "failure");
    assert_eq!(d["source"]["ip"], "127.0.0.1");
    assert_eq!(d["source"]["geo"]["country_iso_code"], "QT");
    assert_eq!(d["url"]["path"], "/search");
    assert_eq!(d["url"]["query"], "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(d["http"]["request"]["method"], "GET");
    assert_eq!(d["http"]["response"]["status_code"], 403);
    assert!(
        d["http"]["request"]["bytes"]
            .as_u64()
            .is_some_and(|b| b > 0)
    );
    assert!(d["http"]["response"]["bytes"].is_u64());
    assert_eq!(d["user_agent"]["original"], "e2e-agent/1");
    assert!(d["host"]["name"].is_string());
    assert_eq!(d["url"]["domain"], "shop.test");
    assert!(d["rule"]["id"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(d["observer"]["type"], "waf");
    assert_eq!(d["http"]["request"]["id"], r.request_id());
    // From the trusted proxy, its header names the country.
    let raw =
        "GET /via-proxy HTTP/1.1\r\nHost: shop.test\r\nX-Country: de\r\nConnection: close\r\n\r\n";
    let r = send_bytes_from(&waf.addr, raw.as_bytes(), Some("127.0.0.2"));
    assert_eq!(r.status, 200);
    let start = Instant::now();
    while lines(&path).len() < 2 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let d = &lines(&path)[1];
    assert_eq!(d["url"]["path"], "/via-proxy");
    assert_eq!(d["source"]["geo"]["country_iso_code"], "DE");
}

#[test]
fn log_file_rotates_at_the_size_and_sighup_reopens_without_loss() {
    let echo = Echo::start();
    let mut waf = Waf::prepare(
        &echo.addr,
        &[(
            "shop",
            "hosts = [\"shop.test\"]\nupstream = \"http://{upstream}\"\n",
        )],
    );
    ecs_config(
        &waf,
        "format = \"json\"\nfile = \"d.log\"\nmax_bytes = 1000\nkeep = 5",
    );
    let proc = spawn(&mut waf);
    let dir = waf.dir.path().to_path_buf();
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(get_ua(&waf, &format!("/a/{i}")).request_id());
    }
    // Twelve lines of ~230 bytes: at least two rotations at 1000 bytes.
    for f in ["d.log", "d.log.1", "d.log.2"] {
        let len = std::fs::metadata(dir.join(f)).unwrap().len();
        assert!(len > 0 && len <= 1000, "{f}: {len} bytes");
    }
    let last_before = ids[11].clone();
    std::fs::rename(dir.join("d.log"), dir.join("d.log.moved")).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(proc.child.id() as i32, libc::SIGHUP) },
        0
    );
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..3 {
        ids.push(get_ua(&waf, &format!("/b/{i}")).request_id());
    }
    let new: Vec<_> = lines(&dir.join("d.log"))
        .iter()
        .map(|d| d["request_id"].clone())
        .collect();
    assert_eq!(new.len(), 3, "new lines go to the new file");
    let mut all: Vec<String> = [
        "d.log.5",
        "d.log.4",
        "d.log.3",
        "d.log.2",
        "d.log.1",
        "d.log.moved",
        "d.log",
    ]
    .iter()
    .flat_map(|f| lines(&dir.join(f)))
    .map(|d| d["request_id"].as_str().unwrap().to_string())
    .collect();
    all.sort();
    ids.sort();
    assert_eq!(all, ids, "every request logged once, none lost");
    assert!(
        lines(&dir.join("d.log.moved"))
            .iter()
            .any(|d| d["request_id"] == last_before.as_str()),
        "last line before SIGHUP"
    );
    assert!(
        lines(&dir.join("d.log"))[0].get("@timestamp").is_none(),
        "format json: the existing format"
    );
}
