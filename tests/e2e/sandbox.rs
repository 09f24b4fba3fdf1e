//! Hostile guests: an infinite loop, a memory bomb, a trap, a failing init.
//! Each gets the tenant's on_error action; the host keeps serving the others.

use crate::support::*;
use std::time::Duration;

fn hostile(host: &str, behaviour: &str, extra: &str) -> String {
    format!(
        "hosts = [\"{host}\"]\nupstream = \"http://{{upstream}}\"\n{extra}\n[[policy]]\nmodule = \"hostile\"\n[policy.config]\n{behaviour}\n"
    )
}

fn sandbox_waf(echo: &Echo) -> Waf {
    let tenants = [
        ("ok", hostile("ok.test", "on_request = \"allow\"", "")),
        ("spin", hostile("spin.test", "on_request = \"loop\"", "")),
        // A generous deadline, so the memory limit is what stops it.
        (
            "bomb",
            hostile(
                "bomb.test",
                "on_request = \"grow\"",
                "[limits]\nmemory_mib = 16\ndeadline_ms = 10000",
            ),
        ),
        ("panic", hostile("panic.test", "on_request = \"trap\"", "")),
        (
            "open",
            hostile("open.test", "on_request = \"loop\"", "on_error = \"allow\""),
        ),
        ("broken", hostile("broken.test", "init = \"fail\"", "")),
    ];
    let refs: Vec<(&str, &str)> = tenants.iter().map(|(n, t)| (*n, t.as_str())).collect();
    Waf::start(&echo.addr, &refs)
}

#[test]
fn infinite_loop_is_stopped_at_the_deadline() {
    let echo = Echo::start();
    let waf = sandbox_waf(&echo);
    let r = waf.get("spin.test", "/");
    assert_eq!(r.status, 403, "on_error = deny (the default): {r:?}");
    let d = waf.decision(&r.request_id());
    assert_eq!(d["action"], "error");
    assert!(
        d["errors"][0]
            .as_str()
            .unwrap()
            .contains("deadline of 50 ms"),
        "{d}"
    );
    // The loop can be hit again: a fresh instance replaces the trapped one.
    assert_eq!(waf.get("spin.test", "/").status, 403);
    assert_eq!(waf.get("ok.test", "/").status, 200);
}

#[test]
fn memory_bomb_is_stopped_at_the_limit() {
    let echo = Echo::start();
    let waf = sandbox_waf(&echo);
    let r = waf.get("bomb.test", "/");
    assert_eq!(r.status, 403, "{r:?}");
    let d = waf.decision(&r.request_id());
    assert!(
        d["errors"][0]
            .as_str()
            .unwrap()
            .contains("memory limit of 16 MiB"),
        "{d}"
    );
    assert_eq!(waf.get("ok.test", "/").status, 200);
}

#[test]
fn a_trapping_guest_fails_closed_and_on_error_allow_fails_open() {
    let echo = Echo::start();
    let waf = sandbox_waf(&echo);
    let r = waf.get("panic.test", "/");
    assert_eq!(r.status, 403, "{r:?}");
    let d = waf.decision(&r.request_id());
    assert!(d["errors"][0].as_str().unwrap().contains("trap"), "{d}");
    let r = waf.get("open.test", "/");
    assert_eq!(
        r.status, 200,
        "on_error = allow skips the failed policy: {r:?}"
    );
}

#[test]
fn failing_init_is_refused_at_load_with_the_guests_message() {
    let echo = Echo::start();
    let waf = sandbox_waf(&echo);
    let log = waf.stderr();
    assert!(log.contains("hostile: init refused as configured"), "{log}");
    assert_eq!(
        waf.get("broken.test", "/").status,
        421,
        "the broken tenant is not served"
    );
    assert_eq!(waf.get("ok.test", "/").status, 200, "the others are");
}

#[test]
fn other_tenants_keep_serving_while_a_guest_spins() {
    let echo = Echo::start();
    let waf = sandbox_waf(&echo);
    let addr = waf.addr.clone();
    // Keep the spinning tenant busy from several threads...
    let spinners: Vec<_> = (0..4)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let r = send(
                        &addr,
                        "GET / HTTP/1.1\r\nHost: spin.test\r\nConnection: close\r\n\r\n",
                    );
                    assert_eq!(r.status, 403);
                }
            })
        })
        .collect();
    // ...while the healthy tenant answers every request.
    let mut ok = 0;
    for _ in 0..50 {
        if waf.get("ok.test", "/").status == 200 {
            ok += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for s in spinners {
        s.join().unwrap();
    }
    assert_eq!(ok, 50);
}
