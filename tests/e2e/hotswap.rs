//! Hot swap: policies change per tenant while traffic flows, with no failed
//! request, instant effect, rollback, restart persistence and file watch.

use crate::support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Version 1 blocks `<script>`; version 2 differs in one rule (sig-xss-1 off).
fn tenant_a(xss_rule_on: bool) -> String {
    let disabled = if xss_rule_on { "" } else { "\"sig-xss-1\"" };
    format!(
        "hosts = [\"a.test\"]\nupstream = \"http://{{upstream}}\"\n[[policy]]\nmodule = \"signatures\"\n[policy.config]\ndisabled_rules = [{disabled}]\n"
    )
}

const TENANT_B: &str =
    "hosts = [\"b.test\"]\nupstream = \"http://{upstream}\"\n[[policy]]\nmodule = \"signatures\"\n";

const PROBE: &str = "/search?q=%3Cscript%3Ex%3C/script%3E";

/// A keep-alive HTTP/1.1 client: one connection, many requests.
struct Client {
    addr: String,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn new(addr: &str) -> Self {
        Client {
            addr: addr.to_string(),
            conn: None,
        }
    }

    /// Sends a GET and returns the status; an error means the request failed.
    fn get(&mut self, host: &str, target: &str) -> Result<u16, String> {
        if self.conn.is_none() {
            let s = TcpStream::connect(&self.addr).map_err(|e| format!("connect: {e}"))?;
            s.set_read_timeout(Some(Duration::from_secs(10))).ok();
            s.set_nodelay(true).ok();
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut().unwrap();
        let req = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        conn.get_mut()
            .write_all(req.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut line = String::new();
        conn.read_line(&mut line)
            .map_err(|e| format!("read: {e}"))?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut len = 0usize;
        let mut close = false;
        loop {
            line.clear();
            conn.read_line(&mut line)
                .map_err(|e| format!("read: {e}"))?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:") && lower.contains("close") {
                close = true;
            }
        }
        let mut body = vec![0; len];
        conn.read_exact(&mut body)
            .map_err(|e| format!("body: {e}"))?;
        if close {
            self.conn = None;
        }
        Ok(status)
    }
}

#[derive(Default)]
struct Load {
    ok: AtomicU64,
    failed: AtomicU64,
    server_errors: AtomicU64,
}

/// Benign keep-alive traffic from `threads` connections until `stop`.
fn drive(
    addr: &str,
    host: &'static str,
    threads: usize,
    stop: &Arc<AtomicBool>,
    load: &Arc<Load>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|i| {
            let (addr, stop, load) = (addr.to_string(), stop.clone(), load.clone());
            std::thread::spawn(move || {
                let mut c = Client::new(&addr);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    match c.get(host, &format!("/products/{i}?page={n}")) {
                        Ok(200) => load.ok.fetch_add(1, Ordering::Relaxed),
                        Ok(s) if s >= 500 => load.server_errors.fetch_add(1, Ordering::Relaxed),
                        Ok(_) | Err(_) => load.failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect()
}

/// `PUT /api/tenants/{name}` with a TOML body.
fn put_tenant(waf: &Waf, name: &str, text: &str, upstream: &str) -> Resp {
    let body = text.replace("{upstream}", upstream);
    send(
        &waf.admin,
        &format!(
            "PUT /api/tenants/{name} HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/toml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs `during` under benign keep-alive load on both tenants (two
/// connections each); what the load saw and what `during` returned.
fn under_load<T>(waf: &Waf, during: impl FnOnce() -> T) -> (Arc<Load>, T) {
    let stop = Arc::new(AtomicBool::new(false));
    let load = Arc::new(Load::default());
    let mut handles = drive(&waf.addr, "a.test", 2, &stop, &load);
    handles.extend(drive(&waf.addr, "b.test", 2, &stop, &load));
    let out = during();
    stop.store(true, Ordering::Relaxed);
    handles.into_iter().for_each(|h| h.join().unwrap());
    (load, out)
}

/// What 100 swaps of tenant a measured.
struct Swaps {
    /// API response until the next request sees the new version, per swap.
    effect_ms: Vec<f64>,
    /// validate + init + swap, as the API reports it, per swap.
    apply_ms: Vec<f64>,
    secs: f64,
}

/// 100 swaps of tenant a, at least 310 ms apart, each checked at once.
fn hundred_swaps(waf: &Waf, upstream: &str) -> Swaps {
    let started = Instant::now();
    let mut effect_ms = Vec::new();
    let mut apply_ms = Vec::new();
    let mut probe_a = Client::new(&waf.addr);
    let mut probe_b = Client::new(&waf.addr);
    for i in 0..100 {
        let xss_on = i % 2 == 1; // the first swap turns the rule off
        let t0 = Instant::now();
        let r = put_tenant(waf, "a", &tenant_a(xss_on), upstream);
        assert_eq!(r.status, 200, "swap {i}: {r:?}");
        apply_ms.push(r.json()["apply_ms"].as_f64().unwrap());
        let answered = Instant::now();
        // The first request started after the API response sees the new rule.
        let status = probe_a.get("a.test", PROBE).unwrap();
        effect_ms.push(answered.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(
            status,
            if xss_on { 403 } else { 200 },
            "swap {i}: the new version must be in effect"
        );
        // Tenant B is never affected.
        assert_eq!(
            probe_b.get("b.test", PROBE).unwrap(),
            403,
            "swap {i}: tenant b changed"
        );
        let spent = t0.elapsed();
        let pace = Duration::from_millis(310);
        if spent < pace {
            std::thread::sleep(pace - spent);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Swaps {
        effect_ms,
        apply_ms,
        secs,
    }
}

#[test]
fn hundred_swaps_under_load_drop_nothing_and_take_effect_at_once() {
    let echo = Echo::start();
    let waf = Waf::start(&echo.addr, &[("a", &tenant_a(true)), ("b", TENANT_B)]);
    assert_eq!(waf.get("a.test", PROBE).status, 403);

    // Baseline: the same load without swaps.
    let baseline_secs = 8.0;
    let (base, ()) = under_load(&waf, || {
        std::thread::sleep(Duration::from_secs_f64(baseline_secs))
    });
    // Under swaps: 100 swaps over at least 30 s.
    let (load, mut swaps) = under_load(&waf, || hundred_swaps(&waf, &echo.addr));
    let swap_secs = swaps.secs;

    assert!(swap_secs >= 30.0, "the swap phase lasted {swap_secs:.1} s");
    assert_eq!(
        load.failed.load(Ordering::Relaxed),
        0,
        "failed requests during swaps"
    );
    assert_eq!(
        load.server_errors.load(Ordering::Relaxed),
        0,
        "5xx during swaps"
    );
    assert_eq!(
        base.failed.load(Ordering::Relaxed) + base.server_errors.load(Ordering::Relaxed),
        0
    );
    swaps.effect_ms.sort_by(f64::total_cmp);
    swaps.apply_ms.sort_by(f64::total_cmp);
    let base_rps = base.ok.load(Ordering::Relaxed) as f64 / baseline_secs;
    let swap_rps = load.ok.load(Ordering::Relaxed) as f64 / swap_secs;
    println!(
        "hot swap: 100 swaps in {swap_secs:.1} s; API response -> effect p50 {:.2} ms p99 {:.2} ms; \
         apply (validate+init+swap) p50 {:.0} ms p99 {:.0} ms; throughput {swap_rps:.0} req/s during swaps vs \
         {base_rps:.0} req/s without ({} requests, 0 failed, 0 5xx)",
        percentile(&swaps.effect_ms, 0.5),
        percentile(&swaps.effect_ms, 0.99),
        percentile(&swaps.apply_ms, 0.5),
        percentile(&swaps.apply_ms, 0.99),
        load.ok.load(Ordering::Relaxed),
    );
}

/// The change was refused with 422 and an error that says `what`.
fn assert_422_saying(r: &Resp, what: &str) {
    assert_eq!(r.status, 422, "{r:?}");
    assert!(r.json()["error"].as_str().unwrap().contains(what), "{r:?}");
}

#[test]
fn invalid_changes_get_4xx_and_the_old_version_keeps_serving() {
    let echo = Echo::start();
    let waf = Waf::start(&echo.addr, &[("a", &tenant_a(true))]);
    let serving = || waf.get("a.test", PROBE).status;
    assert_eq!(serving(), 403);

    // Bytes that are not Wasm.
    let r = waf.admin_send("PUT", "/api/modules/junk", "this is not a component");
    assert_422_saying(&r, "not a valid WebAssembly component");
    // A component of the wrong world: an empty component exports nothing.
    let empty_component = b"\0asm\x0d\0\x01\0";
    let raw = [
        format!(
            "PUT /api/modules/empty HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            empty_component.len()
        )
        .into_bytes(),
        empty_component.to_vec(),
    ]
    .concat();
    let r = send_bytes_from(&waf.admin, &raw, None);
    assert_422_saying(&r, "edgewaf:policy world");
    // A component whose init fails.
    let bad_init = "hosts = [\"a.test\"]\nupstream = \"http://{upstream}\"\n[[policy]]\nmodule = \"hostile\"\n[policy.config]\ninit = \"fail\"\n";
    let r = put_tenant(&waf, "a", bad_init, &echo.addr);
    assert_422_saying(&r, "hostile: init refused as configured");
    // A TOML typo.
    let r = put_tenant(
        &waf,
        "a",
        "hosts = [\"a.test\"]\nupstreem = \"http://x\"\n",
        &echo.addr,
    );
    assert_eq!(r.status, 422, "{r:?}");
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(e.contains("line 2") && e.contains("upstreem"), "{e}");
    // An unknown policy name.
    let r = put_tenant(
        &waf,
        "a",
        "hosts = [\"a.test\"]\nupstream = \"http://{upstream}\"\n[[policy]]\nmodule = \"no-such-policy\"\n",
        &echo.addr,
    );
    assert_422_saying(&r, "unknown module \"no-such-policy\"");
    // A policy that loops on every request fails the smoke request.
    let spin = "hosts = [\"a.test\"]\nupstream = \"http://{upstream}\"\n[[policy]]\nmodule = \"hostile\"\n[policy.config]\non_request = \"loop\"\n";
    let r = put_tenant(&waf, "a", spin, &echo.addr);
    assert_422_saying(&r, "smoke request failed");
    // Through all of it, the old version served.
    assert_eq!(serving(), 403);
    let t = waf.admin_get("/api/tenants/a", Some(TOKEN)).json();
    assert!(t["text"].as_str().unwrap().contains("signatures"));
}

#[test]
fn rollback_versions_restart_and_warm_start() {
    let echo = Echo::start();
    let mut waf = Waf::start(&echo.addr, &[("a", &tenant_a(true))]);
    assert_eq!(waf.get("a.test", PROBE).status, 403);
    let r = put_tenant(&waf, "a", &tenant_a(false), &echo.addr);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(waf.get("a.test", PROBE).status, 200);
    let versions = waf.admin_get("/api/tenants/a/versions", Some(TOKEN)).json();
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        2,
        "{versions}"
    );
    // Roll back to the previous version in one call.
    let r = waf.admin_send("POST", "/api/tenants/a/rollback", "");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(waf.get("a.test", PROBE).status, 403, "rolled back");
    // And forward again to a named version.
    let newest_off = versions["versions"][0]["id"].as_str().unwrap().to_string();
    let r = waf.admin_send(
        "POST",
        "/api/tenants/a/rollback",
        &format!("{{\"version\":\"{newest_off}\"}}"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(waf.get("a.test", PROBE).status, 200);
    let r = waf.admin_send("POST", "/api/tenants/a/rollback", "{\"version\":\"nope\"}");
    assert_eq!(r.status, 404);
    // The decision log carries the tenant version.
    let resp = waf.get("a.test", "/");
    let d = waf.decision(&resp.request_id());
    assert_eq!(d["tenant_version"], versions["versions"][0]["hash"], "{d}");

    // Restart: the last applied version serves, from the precompiled cache.
    waf.stop();
    let t = Instant::now();
    waf.spawn();
    let warm = t.elapsed();
    assert_eq!(
        waf.get("a.test", PROBE).status,
        200,
        "restart serves the last applied version"
    );
    // Cold: without the precompiled cache.
    waf.stop();
    std::fs::remove_dir_all(waf.dir.path().join(".edgewaf/cache")).unwrap();
    let t = Instant::now();
    waf.spawn();
    let cold = t.elapsed();
    assert_eq!(waf.get("a.test", PROBE).status, 200);
    println!("start-up to listening: warm precompiled cache {warm:.2?}, cold {cold:.2?}");

    // DELETE stops serving the tenant.
    let r = waf.admin_send("DELETE", "/api/tenants/a", "");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(waf.get("a.test", "/").status, 421);
}

#[test]
fn editing_a_tenant_file_reloads_it_and_a_broken_edit_is_ignored() {
    let echo = Echo::start();
    let waf = Waf::start(&echo.addr, &[("a", &tenant_a(true))]);
    let file = waf.dir.path().join("policies/a.toml");
    assert_eq!(waf.get("a.test", PROBE).status, 403);
    std::fs::write(&file, tenant_a(false).replace("{upstream}", &echo.addr)).unwrap();
    let until = |want: u16| {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if waf.get("a.test", PROBE).status == want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    };
    assert!(until(200), "the edit took effect without a restart");
    // A broken edit: logged, and the last good version keeps serving.
    std::fs::write(&file, "hosts = [\"a.test\"\nthis is not toml").unwrap();
    let t = Instant::now();
    while !waf.stderr().contains("ignoring the edit") && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        waf.stderr().contains("ignoring the edit"),
        "{}",
        waf.stderr()
    );
    assert_eq!(waf.get("a.test", PROBE).status, 200);
    // A new tenant file is picked up too.
    std::fs::write(
        waf.dir.path().join("policies/c.toml"),
        format!(
            "hosts = [\"c.test\"]\nupstream = \"http://{}\"\n",
            echo.addr
        ),
    )
    .unwrap();
    let t = Instant::now();
    while waf.get("c.test", "/").status != 200 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(waf.get("c.test", "/").status, 200);
}
