//! The limits a rules file sets are enforced: SecArgumentsLimit,
//! SecRequestBodyJsonDepthLimit and SecRequestBodyNoFilesLimit (issue 16:
//! they used to be accepted and ignored).

use seclang::{RuleSet, Transaction};

const BASE: &str = "SecRuleEngine On\nSecRequestBodyAccess On\n\
SecRule REQUEST_HEADERS:Content-Type \"@beginsWith application/json\" \
\"id:100,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON\"\n\
SecRule REQBODY_ERROR \"@eq 1\" \"id:900,phase:2,pass,log,msg:'%{REQBODY_ERROR_MSG}'\"\n";

/// Runs one request; the ids of the matched rules, the intervention's status
/// and the message of rule 900 (the body error) if it matched.
fn run(rules: &str, uri: &str, ct: &str, body: &[u8]) -> (Vec<u32>, Option<u16>, String) {
    let rs = RuleSet::from_text("limits.conf", &format!("{BASE}{rules}")).unwrap();
    let mut tx = Transaction::new(&rs, "r");
    tx.process_uri(
        if body.is_empty() { "GET" } else { "POST" },
        uri,
        "HTTP/1.1",
    );
    tx.add_request_header("Host", b"x.test");
    if !ct.is_empty() {
        tx.add_request_header("Content-Type", ct.as_bytes());
    }
    tx.process_request_headers();
    tx.append_request_body(body);
    tx.process_request_body();
    let matched = tx.matched_rules();
    let msg = matched.iter().find(|m| m.id == 900).map(|m| m.msg.clone());
    let ids = matched
        .iter()
        .map(|m| m.id)
        .filter(|&id| id != 100)
        .collect();
    (
        ids,
        tx.intervention().map(|i| i.status),
        msg.unwrap_or_default(),
    )
}

const COUNT_ARGS: &str = "SecRule &ARGS \"@eq 3\" \"id:1,phase:2,pass,log\"\n\
SecRule ARGS:d \"@rx .\" \"id:2,phase:2,pass,log\"\n";

#[test]
fn arguments_beyond_the_limit_are_not_collected_from_the_query() {
    let rules = format!("SecArgumentsLimit 3\n{COUNT_ARGS}");
    let (ids, _, _) = run(&rules, "/?a=1&b=2&c=3&d=4", "", b"");
    assert_eq!(
        ids,
        vec![1],
        "three arguments, d not among them, no body error"
    );
    let (ids, _, _) = run(COUNT_ARGS, "/?a=1&b=2&c=3&d=4", "", b"");
    assert_eq!(ids, vec![2], "without the directive: all four");
}

#[test]
fn a_body_over_the_arguments_limit_is_a_body_error() {
    let rules = format!("SecArgumentsLimit 3\n{COUNT_ARGS}");
    let form = "application/x-www-form-urlencoded";
    let (ids, _, msg) = run(&rules, "/?a=1&b=2", form, b"c=3&d=4");
    assert_eq!(ids, vec![900, 1]);
    assert!(msg.starts_with("SecArgumentsLimit exceeded"), "{msg}");
    let (ids, _, _) = run(&rules, "/?a=1", form, b"c=3&d=4");
    assert_eq!(ids, vec![1, 2], "within the limit: no error");
    let json = br#"{"b":1,"c":2,"d":3}"#;
    let (ids, _, _) = run(&rules, "/?a=1", "application/json", json);
    assert_eq!(ids, vec![900, 1], "JSON arguments count too");
}

#[test]
fn json_nesting_beyond_the_depth_limit_is_a_body_error() {
    let rules = "SecRequestBodyJsonDepthLimit 2\n\
                 SecRule ARGS:json.a.b \"@eq 1\" \"id:1,phase:2,pass,log\"\n";
    let (ids, _, _) = run(rules, "/", "application/json", br#"{"a":{"b":1}}"#);
    assert_eq!(ids, vec![1]);
    let (ids, _, msg) = run(rules, "/", "application/json", br#"{"a":{"b":[1]}}"#);
    assert_eq!(ids, vec![900]);
    assert_eq!(msg, "JSON depth 3 exceeds SecRequestBodyJsonDepthLimit 2");
}

#[test]
fn a_body_over_the_no_files_limit_is_rejected_or_truncated() {
    let form = "application/x-www-form-urlencoded";
    let body = b"a=0123456789&b=0123456789";
    let (_, status, _) = run("SecRequestBodyNoFilesLimit 16\n", "/", form, body);
    assert_eq!(status, Some(413));
    let (_, status, _) = run("SecRequestBodyNoFilesLimit 64\n", "/", form, body);
    assert_eq!(status, None);
    let partial = "SecRequestBodyNoFilesLimit 16\nSecRequestBodyLimitAction ProcessPartial\n\
                   SecRule REQUEST_BODY \"@streq a=0123456789&b=0\" \"id:1,phase:2,pass,log\"\n";
    let (ids, status, _) = run(partial, "/", form, body);
    assert_eq!(
        (ids, status),
        (vec![1], None),
        "the first 16 bytes inspected"
    );
}

#[test]
fn uploaded_file_content_does_not_count_toward_the_no_files_limit() {
    let ct = "multipart/form-data; boundary=XX";
    let file = "F".repeat(4000);
    let body = format!(
        "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n\
         --XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n\r\n{file}\r\n--XX--\r\n"
    );
    let (_, status, _) = run(
        "SecRequestBodyNoFilesLimit 1000\n",
        "/",
        ct,
        body.as_bytes(),
    );
    assert_eq!(status, None, "4000 bytes of file, under 200 of the rest");
    let (_, status, _) = run("SecRequestBodyNoFilesLimit 100\n", "/", ct, body.as_bytes());
    assert_eq!(status, Some(413), "the rest is over 100 bytes");
}

#[test]
fn an_unenforced_directive_fails_the_load_with_file_and_line() {
    let e = RuleSet::from_text(
        "app.conf",
        "SecRuleEngine On\nSecAuditEngine RelevantOnly\n",
    )
    .unwrap_err();
    assert_eq!(e.to_string().split(": ").next(), Some("app.conf:2"));
    assert!(e.message.contains("decision log"), "{e}");
}
