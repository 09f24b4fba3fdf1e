//! The dashboard in a real headless Chromium (issue 14): log in, see the
//! attack the test sent in the event list, its rule in the top-rules chart and
//! its country in the top countries, block the attacker's IP from the page, and
//! the next attack from that IP is denied by the IP list. Screenshots of the dashboard and the compliance report go to
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

/// Logs in through the form with the admin token.
fn log_in(b: &mut Browser) {
    b.wait_for("document.getElementById('token')", "the login form");
    b.eval(&format!(
        "document.getElementById('token').value = {TOKEN:?}; document.getElementById('login').click(); true"
    ));
    let loaded = "location.pathname === '/dashboard' && document.body.dataset.loaded";
    b.wait_for(loaded, "the dashboard after logging in");
    let cookie = b.eval("document.cookie");
    assert_eq!(
        cookie, "",
        "the session cookie is HttpOnly: no script sees it"
    );
}

/// Sees the attack in the event list and its rule in the top-rules chart,
/// then blocks its IP from its row and confirms.
fn see_and_block(b: &mut Browser, request_id: &str, rule: &str) {
    let row =
        format!("document.querySelector('#events tbody tr[data-request-id=\"{request_id}\"]')");
    b.wait_for(&row, "the attack's row in the event list");
    assert_eq!(b.eval(&format!("{row}.children[2].textContent")), ATTACKER);
    let bar = format!("document.querySelector('#chart-rules .rule-bar[data-rule=\"{rule}\"]')");
    b.wait_for(&bar, "the attack's rule in the top-rules chart");
    // The attacker's country (loopback is "QT" in tests/e2e/testdata/countries.csv).
    let country = "document.querySelector('#top-countries tbody tr td')";
    b.wait_for(
        &format!("{country} && {country}.textContent === 'QT'"),
        "the attacker's country in the Top countries panel",
    );
    b.eval(&format!(
        "{row}.querySelector('button.block').click(); true"
    ));
    b.wait_for(
        "!document.getElementById('confirm').hidden",
        "the confirmation",
    );
    let question = b.eval("document.getElementById('confirm-text').textContent");
    assert!(question.as_str().unwrap().contains(ATTACKER), "{question}");
    b.eval("document.getElementById('confirm-yes').click(); true");
    let blocked = format!("document.body.dataset.blocked === {ATTACKER:?}");
    b.wait_for(&blocked, "the block to be applied");
}

/// The dashboard of the shop, then its compliance report, as screenshots.
fn screenshots(b: &mut Browser) {
    b.eval("const s = document.getElementById('tenant'); s.value = 'shop'; s.dispatchEvent(new Event('change')); true");
    let link = "document.getElementById('report-link').href";
    b.wait_for(
        &format!("{link}.includes('tenant=shop')"),
        "the report link",
    );
    b.eval("document.body.dataset.loaded = ''; document.getElementById('refresh').click(); true");
    b.wait_for("document.body.dataset.loaded", "the refreshed dashboard");
    screenshot(b, "dashboard.png", 1400);
    let report = b.eval(link).as_str().unwrap().to_string();
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
    screenshot(b, "compliance-report.png", 1100);
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

    let mut b = Browser::launch(&format!("http://{}/login", node.waf.admin));
    log_in(&mut b);
    see_and_block(&mut b, &id, &rule);

    // The next attack from that IP is denied by the IP list.
    let next = node.get_from(ATTACKER, "shop.test", SQLI);
    assert_eq!(next.status, 403);
    let e = node.wait_events(&format!("request_id={}", next.request_id()), 1);
    assert_eq!(e[0]["policy"], "ip-filter", "{}", e[0]);
    assert_eq!(e[0]["rule_ids"][0], "ip-filter-list");
    let benign = node.get_from(ATTACKER, "shop.test", "/fine");
    assert_eq!(benign.status, 403, "everything from it now");
    let other = node.get_from("127.0.0.60", "shop.test", "/fine");
    assert_eq!(other.status, 200, "others still pass");
    let list = node.call(TOKEN, "GET", "/api/lists/blocklist", "").json();
    assert_eq!(list["entries"][0]["cidr"], format!("{ATTACKER}/32"));
    let comment = &list["entries"][0]["comment"];
    assert_eq!(comment, "blocked from the dashboard by default");
    screenshots(&mut b);
}
