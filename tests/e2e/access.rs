//! Named admin tokens with scopes: a read-only token gets 403 on every
//! changing call, over a table of ALL admin routes (checked against the route
//! tables in the admin and dashboard module docs, so a new route without a row
//! here fails); a tenant-scoped token sees only its tenant; changes and
//! refusals leave audit records with the token's name.

use crate::analytics::{AUDITOR, Node, SHOP_TEAM};
use crate::support::*;

/// Every admin route: method, path as documented, a concrete path, a body.
const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("GET", "/healthz", "/healthz", ""),
    ("GET", "/metrics", "/metrics", ""),
    ("GET", "/api/events", "/api/events?limit=5", ""),
    ("GET", "/api/tenants", "/api/tenants", ""),
    ("GET", "/api/lists/{name}", "/api/lists/blocklist", ""),
    (
        "POST",
        "/api/lists/{name}/entries",
        "/api/lists/blocklist/entries",
        r#"{"cidr":"198.51.100.7"}"#,
    ),
    (
        "DELETE",
        "/api/lists/{name}/entries/{cidr}",
        "/api/lists/blocklist/entries/198.51.100.7%2F32",
        "",
    ),
    ("GET", "/api/tenants/{t}", "/api/tenants/shop", ""),
    (
        "PUT",
        "/api/tenants/{t}",
        "/api/tenants/shop",
        r#"{"hosts":["shop.test"],"upstream":"http://127.0.0.1:9"}"#,
    ),
    ("DELETE", "/api/tenants/{t}", "/api/tenants/shop", ""),
    (
        "GET",
        "/api/tenants/{t}/versions",
        "/api/tenants/shop/versions",
        "",
    ),
    (
        "POST",
        "/api/tenants/{t}/rollback",
        "/api/tenants/shop/rollback",
        "",
    ),
    (
        "PUT",
        "/api/modules/{name}",
        "/api/modules/evil",
        "not a component",
    ),
    ("GET", "/login", "/login", ""),
    ("POST", "/login", "/login", ""),
    ("POST", "/logout", "/logout", ""),
    ("GET", "/dashboard", "/dashboard", ""),
    ("GET", "/dashboard/app.js", "/dashboard/app.js", ""),
    ("GET", "/api/whoami", "/api/whoami", ""),
    (
        "GET",
        "/api/analytics/overview",
        "/api/analytics/overview?tenant=shop",
        "",
    ),
    (
        "GET",
        "/api/analytics/events",
        "/api/analytics/events?tenant=shop",
        "",
    ),
    (
        "GET",
        "/api/reports/compliance",
        "/api/reports/compliance?tenant=shop",
        "",
    ),
];

/// Paths whose calls change nothing on the server (open to everyone, or
/// the caller's own session).
const NOT_CHANGES: &[&str] = &["/healthz", "/login", "/logout"];

/// `METHOD /path` pairs of the module docs' route tables.
fn documented_routes() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in [
        "host/src/control/admin.rs",
        "host/src/control/dashboard/mod.rs",
    ] {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        for line in text.lines().filter(|l| l.starts_with("//! | `")) {
            let first_cell = line.split('|').nth(1).unwrap_or("");
            for item in first_cell.split('`').skip(1).step_by(2) {
                let mut parts = item.split_whitespace();
                let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let path = path.split('?').next().unwrap().to_string();
                out.push((method.to_string(), path));
            }
        }
    }
    out
}

#[test]
fn the_route_table_covers_every_documented_route() {
    let documented = documented_routes();
    assert!(documented.len() >= 20, "{documented:?}");
    for (m, p) in &documented {
        assert!(
            ROUTES.iter().any(|(rm, rp, _, _)| rm == m && rp == p),
            "{m} {p} is documented but has no row in ROUTES"
        );
    }
    for (m, p, _, _) in ROUTES {
        assert!(
            documented.iter().any(|(dm, dp)| dm == m && dp == p),
            "{m} {p} is in ROUTES but not documented"
        );
    }
}

#[test]
fn a_read_only_token_gets_403_on_every_changing_call() {
    let echo = Echo::start();
    let node = Node::start(&echo.addr);
    let mut changing = 0;
    for (method, doc_path, path, body) in ROUTES {
        let r = node.call(AUDITOR, method, path, body);
        if NOT_CHANGES.contains(doc_path) {
            assert_ne!(r.status, 403, "{method} {path}: {}", r.body);
        } else if *method == "GET" {
            assert!(r.status == 200, "{method} {path}: {} {}", r.status, r.body);
        } else {
            changing += 1;
            assert_eq!(
                r.status, 403,
                "{method} {path} with the read-only token: {}",
                r.body
            );
        }
        // Any other method on the same path is a change too.
        for other in ["POST", "PUT", "DELETE", "PATCH"] {
            if other == *method || NOT_CHANGES.contains(doc_path) {
                continue;
            }
            let r = node.call(AUDITOR, other, path, body);
            assert_eq!(
                r.status, 403,
                "{other} {path} with the read-only token: {}",
                r.body
            );
        }
    }
    assert_eq!(changing, 6, "the changing routes of the table");
    // Nothing changed.
    let tenants = node.call(TOKEN, "GET", "/api/tenants", "").json();
    assert_eq!(tenants["tenants"].as_array().unwrap().len(), 2, "{tenants}");
    let list = node.call(TOKEN, "GET", "/api/lists/blocklist", "").json();
    assert_eq!(list["entries"].as_array().unwrap().len(), 0, "{list}");
    // The same calls with the admin token do change things (the table can fail).
    let r = node.call(
        TOKEN,
        "POST",
        "/api/lists/blocklist/entries",
        r#"{"cidr":"198.51.100.7"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn a_tenant_token_sees_and_changes_only_its_tenant() {
    let echo = Echo::start();
    let node = Node::start(&echo.addr);
    assert_eq!(node.get_from("127.0.0.41", "other.test", "/").status, 200);
    assert_eq!(node.get_from("127.0.0.41", "shop.test", "/").status, 200);
    let tenants = node.call(SHOP_TEAM, "GET", "/api/tenants", "").json();
    let names: Vec<&str> = tenants["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop"]);
    assert_eq!(
        node.call(SHOP_TEAM, "GET", "/api/tenants/other", "").status,
        403
    );
    assert_eq!(
        node.call(SHOP_TEAM, "DELETE", "/api/tenants/other", "")
            .status,
        403
    );
    assert_eq!(node.call(SHOP_TEAM, "GET", "/metrics", "").status, 403);
    assert_eq!(
        node.call(SHOP_TEAM, "GET", "/api/events?tenant=other", "")
            .status,
        403
    );
    assert_eq!(
        node.call(SHOP_TEAM, "GET", "/api/analytics/overview?tenant=other", "")
            .status,
        403
    );
    assert_eq!(
        node.call(SHOP_TEAM, "GET", "/api/reports/compliance?tenant=other", "")
            .status,
        403
    );
    assert_eq!(
        node.call(
            SHOP_TEAM,
            "POST",
            "/api/lists/blocklist/entries",
            r#"{"cidr":"10.1.1.1"}"#
        )
        .status,
        403,
        "lists are shared by tenants"
    );
    let events = node.wait_events("ip=127.0.0.41", 2);
    assert_eq!(events.len(), 2);
    let own = node
        .call(SHOP_TEAM, "GET", "/api/analytics/events?ip=127.0.0.41", "")
        .json();
    let tenants: Vec<&str> = own["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["shop"], "narrowed to its tenant");
    let own = node
        .call(SHOP_TEAM, "GET", "/api/events?limit=50", "")
        .json();
    assert!(
        own["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant"] == "shop"),
        "{own}"
    );
}
