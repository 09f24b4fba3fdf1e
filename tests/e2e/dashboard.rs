//! The dashboard in a real headless Chromium (issue 14): log in, see the
//! attack the test sent in the event list and the top-rules chart, block the
//! attacker's IP from the page, and the next attack from that IP is denied by
//! the IP list. Screenshots of the dashboard and the compliance report go to
//! `target/screenshots/` (and `docs/img/` with `EDGEWAF_SCREENSHOTS_TO_DOCS=1`).

use crate::analytics::Node;
use crate::cdp::Browser;
use crate::support::*;

const ATTACKER: &str = "127.0.0.51";
const SQLI: &str = "/products?id=1%27%20OR%20%271%27%3D%271";

fn screenshot(browser: &mut Browser, name: &str, width: u32) {
    let mut dirs = vec![repo().join("target/screenshots")];
    if std::env::var_os("EDGEWAF_SCREENSHOTS_TO_DOCS").is_some() {
        dirs.push(repo().join("docs/img"));
    }
    for d in dirs {
        browser.screenshot(&d.join(name), width);
    }
}

/// Some traffic so the charts have something to draw.
fn background_traffic(node: &Node) {
    for i in 0..12 {
        let ip = format!("127.0.0.{}", 60 + i % 4);
        assert_eq!(
            node.get_from(&ip, "shop.test", &format!("/products?page={i}"))
                .status,
            200
        );
    }
    let xss = "/comment?q=%3Cscript%3Ealert(1)%3C/script%3E";
    assert_eq!(node.get_from("127.0.0.70", "shop.test", xss).status, 403);
    assert_eq!(
        node.get_from("127.0.0.71", "shop.test", "/../../etc/passwd")
            .status,
        403
    );
}

#[test]
fn block_an_attacker_from_the_dashboard_in_chromium() {
    let echo = Echo::start();
    let node = Node::start(&echo.addr);
    background_traffic(&node);
    let attack = node.get_from(ATTACKER, "shop.test", SQLI);
    assert_eq!(attack.status, 403);
    let id = attack.request_id();
    let stored = node.wait_events(&format!("request_id={id}"), 1);
    assert_eq!(stored.len(), 1, "the attack is in the store");
    let rule = stored[0]["rule_ids"][0].as_str().unwrap().to_string();

    let admin = format!("http://{}", node.waf.admin);
    let mut b = Browser::launch(&format!("{admin}/login"));
    b.wait_for("document.getElementById('token')", "the login form");
    b.eval(&format!(
        "document.getElementById('token').value = {:?}; document.getElementById('login').click(); true",
        TOKEN
    ));
    b.wait_for(
        "location.pathname === '/dashboard' && document.body.dataset.loaded",
        "the dashboard after logging in",
    );
    assert_eq!(
        b.eval("document.cookie"),
        "",
        "the session cookie is HttpOnly: no script sees it"
    );

    // The attack in the event list, its rule in the top-rules chart.
    let row = format!("document.querySelector('#events tbody tr[data-request-id=\"{id}\"]')");
    b.wait_for(&row, "the attack's row in the event list");
    assert_eq!(b.eval(&format!("{row}.children[2].textContent")), ATTACKER);
    b.wait_for(
        &format!("document.querySelector('#chart-rules .rule-bar[data-rule=\"{rule}\"]')"),
        "the attack's rule in the top-rules chart",
    );

    // Block from the row, confirm.
    b.eval(&format!(
        "{row}.querySelector('button.block').click(); true"
    ));
    b.wait_for(
        "!document.getElementById('confirm').hidden",
        "the confirmation",
    );
    assert!(
        b.eval("document.getElementById('confirm-text').textContent")
            .as_str()
            .unwrap()
            .contains(ATTACKER)
    );
    b.eval("document.getElementById('confirm-yes').click(); true");
    b.wait_for(
        &format!("document.body.dataset.blocked === {ATTACKER:?}"),
        "the block to be applied",
    );

    // The next attack from that IP is denied by the IP list.
    let next = node.get_from(ATTACKER, "shop.test", SQLI);
    assert_eq!(next.status, 403);
    let e = node.wait_events(&format!("request_id={}", next.request_id()), 1);
    assert_eq!(e[0]["policy"], "ip-filter", "{}", e[0]);
    assert_eq!(e[0]["rule_ids"][0], "ip-filter-list");
    assert_eq!(
        node.get_from(ATTACKER, "shop.test", "/fine").status,
        403,
        "everything from it now"
    );
    assert_eq!(
        node.get_from("127.0.0.60", "shop.test", "/fine").status,
        200,
        "others still pass"
    );
    let list = node.call(TOKEN, "GET", "/api/lists/blocklist", "").json();
    assert_eq!(list["entries"][0]["cidr"], format!("{ATTACKER}/32"));
    assert_eq!(
        list["entries"][0]["comment"],
        "blocked from the dashboard by default"
    );

    // Screenshots: the dashboard for the shop, and its compliance report.
    b.eval("const s = document.getElementById('tenant'); s.value = 'shop'; s.dispatchEvent(new Event('change')); true");
    b.wait_for(
        "document.getElementById('report-link').href.includes('tenant=shop')",
        "the report link",
    );
    b.eval("document.body.dataset.loaded = ''; document.getElementById('refresh').click(); true");
    b.wait_for("document.body.dataset.loaded", "the refreshed dashboard");
    screenshot(&mut b, "dashboard.png", 1400);
    let report = b
        .eval("document.getElementById('report-link').href")
        .as_str()
        .unwrap()
        .to_string();
    b.navigate(&report);
    b.wait_for(
        "document.title.startsWith('Compliance report')",
        "the compliance report",
    );
    let text = b
        .eval("document.body.innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("list-add") && text.contains(&format!("{ATTACKER}/32")),
        "{text}"
    );
    screenshot(&mut b, "compliance-report.png", 1100);
}
