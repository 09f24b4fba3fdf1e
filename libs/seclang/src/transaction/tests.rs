//! Transaction semantics: chains, skipAfter, ctl, setvar, capture, default
//! actions, exclusions, phases and interventions.

use crate::{RuleSet, Transaction};

fn run(
    rules: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Vec<(u32, bool)>, Option<u16>, RuleSet) {
    let rs = RuleSet::from_text("test", rules).unwrap();
    let (ids, status) = run_on(&rs, uri, headers, body);
    (ids, status, rs)
}

/// One request through `rs`: the matched (id, logged) pairs and the status of
/// the intervention, if any.
fn run_on(
    rs: &RuleSet,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Vec<(u32, bool)>, Option<u16>) {
    let mut tx = Transaction::new(rs, "t1");
    tx.process_connection("10.0.0.1", 1234, "10.0.0.2", 80);
    tx.process_uri(
        if body.is_empty() { "GET" } else { "POST" },
        uri,
        "HTTP/1.1",
    );
    for (n, v) in headers {
        tx.add_request_header(n, v.as_bytes());
    }
    tx.process_request_headers();
    tx.append_request_body(body);
    tx.process_request_body();
    tx.process_logging();
    let ids = tx
        .matched_rules()
        .iter()
        .map(|m| (m.id, m.logged))
        .collect();
    (ids, tx.intervention().map(|i| i.status))
}

const BASE: &str =
    "SecRuleEngine On\nSecRequestBodyAccess On\nSecDefaultAction \"phase:2,log,pass\"\n";

#[test]
fn only_full_chains_match_and_the_starter_is_logged() {
    let rules = format!(
        "{BASE}SecRule ARGS \"@contains a\" \"id:10,phase:2,msg:'starter',chain\"\n  SecRule ARGS \"@contains zzz\" \"t:none\"\n\
         SecRule ARGS \"@contains a\" \"id:11,phase:2,msg:'both',chain\"\n  SecRule MATCHED_VAR \"@contains b\" \"t:none\"\n"
    );
    let (ids, _, _) = run(&rules, "/?x=ab", &[], b"");
    assert_eq!(ids, vec![(11, true)]);
}

#[test]
fn skip_after_jumps_to_the_marker() {
    let rules = format!(
        "{BASE}SecAction \"id:1,phase:1,pass,nolog,skipAfter:END\"\nSecAction \"id:2,phase:1,pass\"\nSecMarker END\nSecAction \"id:3,phase:1,pass\"\n"
    );
    let (ids, _, _) = run(&rules, "/", &[], b"");
    assert_eq!(ids, vec![(1, false), (3, true)]);
}

#[test]
fn setvar_macros_and_anomaly_scoring() {
    let rules = format!(
        "{BASE}SecAction \"id:1,phase:1,pass,nolog,setvar:tx.crit=5,setvar:tx.score=0\"\n\
         SecRule ARGS \"@rx evil\" \"id:2,phase:2,block,capture,setvar:'tx.score=+%{{tx.crit}}',setvar:'tx.last=%{{tx.0}}'\"\n\
         SecRule TX:score \"@ge 5\" \"id:3,phase:2,deny,status:403,msg:'score %{{tx.score}} last %{{tx.last}}'\"\n"
    );
    let rs = RuleSet::from_text("t", &rules).unwrap();
    let mut tx = Transaction::new(&rs, "x");
    tx.process_uri("GET", "/?q=very+evil", "HTTP/1.1");
    tx.process_request_headers();
    tx.process_request_body();
    assert_eq!(tx.intervention().map(|i| i.status), Some(403));
    assert_eq!(tx.matched_rules().last().unwrap().msg, "score 5 last evil");
}

#[test]
fn detection_only_never_disrupts() {
    let rules =
        "SecRuleEngine DetectionOnly\nSecRule REQUEST_URI \"@contains x\" \"id:1,phase:1,deny\"\n";
    let (ids, status, _) = run(rules, "/x", &[], b"");
    assert_eq!((ids, status), (vec![(1, true)], None));
}

#[test]
fn ctl_removes_rules_and_targets() {
    let rules = format!(
        "{BASE}SecAction \"id:1,phase:1,pass,nolog,ctl:ruleRemoveById=2,ctl:ruleRemoveTargetById=3;ARGS:safe\"\n\
         SecRule ARGS \"@contains bad\" \"id:2,phase:2\"\nSecRule ARGS \"@contains bad\" \"id:3,phase:2\"\n\
         SecRule ARGS|!ARGS:/^sa/ \"@contains bad\" \"id:4,phase:2\"\n"
    );
    let (ids, _, _) = run(&rules, "/?safe=bad", &[], b"");
    assert_eq!(ids, vec![(1, false)]);
    let (ids, _, _) = run(&rules, "/?other=bad", &[], b"");
    assert_eq!(ids, vec![(1, false), (3, true), (4, true)]);
}

#[test]
fn counting_and_cookies_and_headers() {
    let rules = format!(
        "{BASE}SecRule &REQUEST_COOKIES \"@eq 2\" \"id:1,phase:1\"\nSecRule REQUEST_COOKIES:b \"@streq 2\" \"id:2,phase:1\"\n\
         SecRule &REQUEST_HEADERS:X-Missing \"@eq 0\" \"id:3,phase:1\"\nSecRule REQUEST_HEADERS:x-test \"@streq v\" \"id:4,phase:1\"\n"
    );
    let (ids, _, _) = run(&rules, "/", &[("Cookie", "a=1; b=2"), ("X-Test", "v")], b"");
    assert_eq!(
        ids.iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn t_none_clears_default_transformations() {
    let rules = "SecDefaultAction \"phase:2,log,pass,t:lowercase\"\n\
         SecRule ARGS \"@streq abc\" \"id:1,phase:2\"\nSecRule ARGS \"@streq abc\" \"id:2,phase:2,t:none\"\n";
    let (ids, _, _) = run(rules, "/?a=ABC", &[], b"");
    assert_eq!(ids, vec![(1, true)]);
}

#[test]
fn json_body_is_flattened() {
    let rules = format!(
        "{BASE}SecRule REQUEST_HEADERS:Content-Type \"@rx ^application/json\" \"id:1,phase:1,nolog,ctl:requestBodyProcessor=JSON\"\n\
         SecRule ARGS:json.a.b.1 \"@streq x\" \"id:2,phase:2\"\nSecRule REQBODY_PROCESSOR \"@streq JSON\" \"id:3,phase:2\"\n"
    );
    let (ids, _, _) = run(
        &rules,
        "/",
        &[("Content-Type", "application/json")],
        br#"{"a":{"b":["w","x"]}}"#,
    );
    assert_eq!(ids, vec![(1, false), (2, true), (3, true)]);
}

#[test]
fn parse_errors_name_file_and_line() {
    let e = RuleSet::from_text(
        "tenant.conf",
        "SecRuleEngine On\n\nSecRule ARGS \"@nope x\" \"id:1\"\n",
    )
    .unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("tenant.conf", 3));
    assert!(e.message.contains("unknown operator"), "{e}");
    for bad in [
        "SecFoo On",
        "SecRule ARGZ \"@rx a\" \"id:1\"",
        "SecRule ARGS \"@rx a\" \"id:1,t:nope\"",
        "SecRule ARGS \"@rx a\" \"id:1,frob\"",
        "SecRule ARGS \"@rx a\" \"id:1,chain\"",
        "SecAction \"id:1\"\nSecAction \"id:1\"",
    ] {
        assert!(RuleSet::from_text("x", bad).is_err(), "{bad} should fail");
    }
}

#[test]
fn request_body_limit_rejects_or_truncates() {
    let rules = "SecRuleEngine On\nSecRequestBodyAccess On\nSecRequestBodyLimit 4\n";
    let (_, status, _) = run(rules, "/", &[], b"123456");
    assert_eq!(status, Some(413));
    let rules = "SecRuleEngine On\nSecRequestBodyAccess On\nSecRequestBodyLimit 4\nSecRequestBodyLimitAction ProcessPartial\n\
                 SecRule REQUEST_BODY \"@streq 1234\" \"id:1,phase:2,deny\"\n";
    let (ids, status, _) = run(rules, "/", &[], b"123456");
    assert_eq!((ids, status), (vec![(1, true)], Some(403)));
}

#[test]
fn allow_stops_inspection_and_redirect_intervenes() {
    let rules = format!(
        "{BASE}SecRule REMOTE_ADDR \"@ipMatch 10.0.0.0/8\" \"id:1,phase:1,allow,nolog\"\n\
         SecRule ARGS \"@contains bad\" \"id:2,phase:2,deny\"\n"
    );
    let (ids, status, _) = run(&rules, "/?a=bad", &[], b"");
    assert_eq!((ids, status), (vec![(1, false)], None));
    let rules = format!(
        "{BASE}SecRule ARGS \"@contains bad\" \"id:2,phase:1,redirect:'https://x.test/%{{tx.none}}blocked'\"\n"
    );
    let rs = RuleSet::from_text("t", &rules).unwrap();
    let mut tx = Transaction::new(&rs, "r");
    tx.process_uri("GET", "/?a=bad", "HTTP/1.1");
    tx.process_request_headers();
    let i = tx.intervention().unwrap();
    assert_eq!(
        (i.status, i.url.as_deref()),
        (302, Some("https://x.test/blocked"))
    );
}

#[test]
fn multi_match_sees_every_transformation_step() {
    let rules = format!(
        "{BASE}SecRule ARGS \"@streq %41\" \"id:1,phase:2,t:urlDecode\"\n\
         SecRule ARGS \"@streq %41\" \"id:2,phase:2,t:urlDecode,multiMatch\"\n"
    );
    let (ids, _, _) = run(&rules, "/?a=%252541", &[], b"");
    assert_eq!(ids, vec![(1, true), (2, true)]);
    let (ids, _, _) = run(&rules, "/?a=%2541", &[], b"");
    assert_eq!(
        ids,
        vec![(2, true)],
        "only multiMatch sees the untransformed value"
    );
}

#[test]
fn xml_xpath_targets() {
    let rules = format!(
        "{BASE}SecRule REQUEST_HEADERS:Content-Type \"@contains xml\" \"id:1,phase:1,nolog,ctl:requestBodyProcessor=XML\"\n\
         SecRule XML://item/@id \"@streq 7\" \"id:2,phase:2\"\nSecRule XML:/* \"@streq hello\" \"id:3,phase:2\"\n\
         SecRule XML:/r/item \"@streq hello\" \"id:4,phase:2\"\nSecRule REQUEST_BODY \"@contains hello\" \"id:5,phase:2\"\n"
    );
    let (ids, _, _) = run(
        &rules,
        "/",
        &[("Content-Type", "text/xml")],
        b"<r><item id=\"7\">hello</item></r>",
    );
    assert_eq!(ids, vec![(1, false), (2, true), (3, true), (4, true)]);
}

#[test]
fn include_globs_and_update_target() {
    let dir = std::env::temp_dir().join(format!("seclang-include-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(
        dir.join("rules/b.conf"),
        "SecRule ARGS \"@contains x\" \"id:2,phase:1\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("rules/a.conf"),
        "SecRule ARGS \"@contains x\" \"id:1,phase:1\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("rules/skip.txt"), "not rules").unwrap();
    std::fs::write(
        dir.join("main.conf"),
        "SecRuleEngine On\nInclude rules/*.conf\nSecRuleUpdateTargetById 2 \"!ARGS:safe\"\n",
    )
    .unwrap();
    let rs = RuleSet::from_files(&[dir.join("main.conf")]).unwrap();
    assert_eq!(
        rs.rules().iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let mut tx = Transaction::new(&rs, "i");
    tx.process_uri("GET", "/?safe=x", "HTTP/1.1");
    tx.process_request_headers();
    assert_eq!(
        tx.matched_rules().iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![1]
    );
    std::fs::write(
        dir.join("bad.conf"),
        "SecRuleEngine On\nInclude rules/*.nothing\n",
    )
    .unwrap();
    let e = RuleSet::from_files(&[dir.join("bad.conf")]).unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The prefilter skips only rules that cannot match: each case below is a
/// rule the prefilter handles (literals, transformations, multiMatch, TX
/// comparisons), run once where it must match and once where it must not,
/// and compared with the same rule behind a `@rx` the prefilter cannot use.
mod prefilter {
    use super::*;

    /// Matched ids, checked against the same rules with the prefilter off.
    fn ids(rules: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u32> {
        let text = format!("{BASE}{rules}");
        let (ids, _, rs) = run(&text, uri, headers, body);
        assert!(
            rs.prefiltered_rules() > 0,
            "no rule was prefiltered: {rules}"
        );
        let mut plain = RuleSet::from_text("test", &text).unwrap();
        plain.disable_prefilter();
        assert_eq!(plain.prefiltered_rules(), 0);
        let (unfiltered, _) = run_on(&plain, uri, headers, body);
        assert_eq!(
            ids, unfiltered,
            "prefilter changed the outcome of {rules} on {uri}"
        );
        ids.into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn literal_found_only_after_transformation() {
        let r =
            "SecRule ARGS \"@rx <script\" \"id:100,phase:2,t:none,t:urlDecodeUni,t:lowercase\"\n";
        assert_eq!(ids(r, "/?q=%3CSCRIPT%3E", &[], b""), vec![100]);
        assert_eq!(ids(r, "/?q=script", &[], b""), Vec::<u32>::new());
    }

    #[test]
    fn case_and_collections() {
        let r = "SecRule REQUEST_HEADERS|ARGS_NAMES \"@rx (?i)union\\s+select\" \"id:100,phase:2,t:none\"\n";
        assert_eq!(ids(r, "/", &[("x-a", "1 UNION  SELECT 2")], b""), vec![100]);
        assert_eq!(ids(r, "/?UnIoN%20SeLeCt=1", &[], b""), vec![100]); // names are decoded
        assert_eq!(ids(r, "/?UnIoN+SeLeCt=1", &[], b""), vec![100]);
        assert_eq!(ids(r, "/?union=select", &[], b""), Vec::<u32>::new());
        assert_eq!(ids(r, "/", &[("x-a", "union")], b""), Vec::<u32>::new());
    }

    #[test]
    fn multi_match_scans_intermediate_values() {
        // "%2561" decodes once to "%61" (holding the literal) and twice to "a".
        let r = "SecRule ARGS \"@contains %61\" \"id:100,phase:2,t:none,t:urlDecode,t:urlDecode,multiMatch\"\n";
        assert_eq!(ids(r, "/?q=%252561", &[], b""), vec![100]);
        assert_eq!(ids(r, "/?q=abc", &[], b""), Vec::<u32>::new());
    }

    #[test]
    fn body_arguments_after_the_headers_phase() {
        // The same slot (ARGS) is filled in phase 1 and again once the body
        // added its arguments.
        let r = "SecRule ARGS \"@pm evil\" \"id:100,phase:1,t:none\"\nSecRule ARGS \"@pm evil\" \"id:101,phase:2,t:none\"\n";
        let ct = [("content-type", "application/x-www-form-urlencoded")];
        assert_eq!(ids(r, "/?a=1", &ct, b"b=EVIL"), vec![101]);
        assert_eq!(ids(r, "/?a=evil", &ct, b"b=1"), vec![100, 101]);
    }

    #[test]
    fn tx_comparisons() {
        let r = "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.level=2\"\n\
                 SecRule TX:level \"@lt 3\" \"id:100,phase:1,t:none\"\n\
                 SecRule TX:level \"@ge 3\" \"id:101,phase:1,t:none\"\n\
                 SecRule &TX:missing \"@eq 0\" \"id:102,phase:1,t:none\"\n\
                 SecRule TX:missing \"@lt 1\" \"id:103,phase:1,t:none\"\n";
        assert_eq!(ids(r, "/", &[], b""), vec![1, 100, 102]);
    }

    #[test]
    fn byte_gates() {
        // Letters only: no literal to filter on, but every match holds `=`;
        // `%` and `+` can make urlDecodeUni change a value.
        let r = "SecRule ARGS \"@rx on[a-z]+=\" \"id:100,phase:2,t:none,t:urlDecodeUni\"\n\
                 SecRule REQUEST_HEADERS:User-Agent \"@rx on[a-z]+=\" \"id:101,phase:1,t:none\"\n\
                 SecRule ARGS \"@rx (?i)on[a-z]+=\" \"id:102,phase:2,t:none,t:lowercase,multiMatch\"\n";
        assert_eq!(ids(r, "/?q=onload=x", &[], b""), vec![100, 102]);
        // ARGS are decoded once by the parser, once more by urlDecodeUni.
        assert_eq!(ids(r, "/?q=onload%253Dx", &[], b""), vec![100]);
        assert_eq!(ids(r, "/?q=ONLOAD=x", &[], b""), vec![102]);
        assert_eq!(ids(r, "/?q=onload", &[], b""), Vec::<u32>::new());
        // Two variables: the one without the bytes is not tested, the other is.
        let r2 = "SecRule REQUEST_HEADERS|ARGS \"@rx on[a-z]+=\" \"id:103,phase:2,t:none,t:urlDecodeUni\"\n";
        assert_eq!(ids(r2, "/?q=onload=x", &[("x-a", "a=b")], b""), vec![103]);
        assert_eq!(ids(r2, "/?q=a=b", &[("x-a", "onload=b")], b""), vec![103]);
        assert_eq!(
            ids(r2, "/?q=onload", &[("x-a", "a=b")], b""),
            Vec::<u32>::new()
        );
        // `=` in another header does not open the gate of 101's key.
        let ua = ("user-agent", "x onload=y");
        assert_eq!(ids(r, "/", &[ua], b""), vec![101]);
        assert_eq!(
            ids(
                r,
                "/",
                &[("user-agent", "onload"), ("x-a", "onload=y")],
                b""
            ),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn skipped_rules_reset_matched_vars_as_a_miss_does() {
        // 101 is skipped by the prefilter; the chain of 102 must not see the
        // MATCHED_VARS of 100.
        let r = "SecRule ARGS \"@contains abc\" \"id:100,phase:2,t:none\"\n\
                 SecRule ARGS \"@contains zzz\" \"id:101,phase:2,t:none\"\n\
                 SecAction \"id:102,phase:2,chain\"\n  SecRule &MATCHED_VARS \"@eq 0\" \"t:none\"\n";
        assert_eq!(ids(r, "/?q=abc", &[], b""), vec![100, 102]);
    }
}

/// Everything a caller can see of a transaction after a request: matched
/// rules, intervention, engine mode, some TX variables and the work counts.
fn observe(tx: &mut Transaction<'_>, uri: &str, body: &[u8]) -> String {
    tx.process_connection("10.0.0.1", 1234, "10.0.0.2", 80);
    let method = if body.is_empty() { "GET" } else { "POST" };
    tx.process_uri(method, uri, "HTTP/1.1");
    tx.add_request_header("Host", b"example.test");
    if !body.is_empty() {
        tx.add_request_header("Content-Type", b"application/x-www-form-urlencoded");
    }
    tx.process_request_headers();
    tx.append_request_body(body);
    tx.process_request_body();
    tx.add_response_header("Content-Type", b"text/html");
    tx.process_response_headers(200, "HTTP/1.1");
    tx.append_response_body(b"<html>ok</html>");
    tx.process_response_body();
    tx.process_logging();
    let tx_vars: Vec<Option<String>> = ["score", "0", "1", "seen"]
        .iter()
        .map(|k| tx.tx_var(k))
        .collect();
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        tx.matched_rules(),
        tx.intervention(),
        tx.engine_mode(),
        tx_vars,
        tx.stats()
    )
}

#[test]
fn a_reset_transaction_behaves_as_a_new_one() {
    let rules = format!(
        "{BASE}SecResponseBodyAccess On\nSecResponseBodyMimeType text/html\n\
         SecAction \"id:1,phase:1,pass,nolog,setvar:tx.score=0\"\n\
         SecRule ARGS:off \"@streq 1\" \"id:2,phase:1,pass,ctl:ruleEngine=DetectionOnly\"\n\
         SecRule ARGS:rm \"@streq 1\" \"id:3,phase:1,pass,ctl:ruleRemoveById=10\"\n\
         SecRule ARGS \"@rx (a)(t+)ack\" \"id:4,phase:2,capture,setvar:tx.score=+5,setvar:tx.seen=%{{tx.1}}\"\n\
         SecRule ARGS \"@contains evil\" \"id:10,phase:2,deny,status:403\"\n\
         SecRule TX:score \"@ge 5\" \"id:11,phase:2,deny,status:406\"\n\
         SecRule RESPONSE_BODY \"@contains ok\" \"id:20,phase:4,pass,setvar:tx.score=+1\"\n"
    );
    let rs = RuleSet::from_text("test", &rules).unwrap();
    let requests: [(&str, &[u8]); 5] = [
        ("/?q=attack&off=1", b""),
        ("/?q=evil&rm=1", b""),
        ("/", b"x=evil"),
        ("/?q=hello", b""),
        ("/?q=attttack", b"y=1"),
    ];
    let mut reused = Transaction::new(&rs, "u0");
    for (i, before) in requests.iter().enumerate() {
        // The reused transaction has served `before`; both now serve every
        // request as the first thing they do after it.
        for (uri, body) in &requests {
            reused.reset("u0");
            observe(&mut reused, before.0, before.1);
            reused.reset("u1");
            let fresh = observe(&mut Transaction::new(&rs, "u1"), uri, body);
            assert_eq!(
                observe(&mut reused, uri, body),
                fresh,
                "{uri} after request {i}"
            );
        }
    }
}

/// Hoisting changes nothing a caller can see: each case runs with hoisting
/// and without, and must hoist exactly the rules it names.
mod hoisting {
    use super::*;

    fn both(rules: &str, hoisted: &[u32], requests: &[(&str, &[u8])]) {
        let text =
            format!("{BASE}SecResponseBodyAccess On\nSecResponseBodyMimeType text/html\n{rules}");
        let rs = RuleSet::from_text("test", &text).unwrap();
        let ids: Vec<u32> = rs
            .hoisted
            .replay
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_some())
            .map(|(i, _)| rs.rules[i].id)
            .collect();
        assert_eq!(ids, hoisted, "hoisted rules of {rules}");
        let mut plain = RuleSet::from_text("test", &text).unwrap();
        plain.disable_hoisting();
        assert_eq!(plain.hoisted_rules(), 0);
        for (uri, body) in requests {
            assert_eq!(
                observe(&mut Transaction::new(&rs, "h"), uri, body),
                observe(&mut Transaction::new(&plain, "h"), uri, body),
                "{uri} through {rules}"
            );
        }
    }

    const REQUESTS: [(&str, &[u8]); 4] = [
        ("/?q=attack", b""),
        ("/?q=hello&score=7", b""),
        ("/", b"x=evil"),
        ("/?level=3", b""),
    ];

    #[test]
    fn initialisation_and_defaults() {
        let r = "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.score=0,setvar:tx.limit=5\"\n\
                 SecRule &TX:limit \"@eq 0\" \"id:2,phase:1,pass,nolog,setvar:tx.limit=9\"\n\
                 SecRule &TX:other \"@eq 0\" \"id:3,phase:1,pass,msg:'default %{tx.limit}',severity:2,setvar:tx.other=1\"\n\
                 SecRule TX:limit \"@lt 4\" \"id:4,phase:1,deny,status:500\"\n\
                 SecRule ARGS \"@contains attack\" \"id:10,phase:1,pass,setvar:tx.score=+%{tx.limit}\"\n\
                 SecRule TX:score \"@ge 5\" \"id:11,phase:1,deny,status:403,msg:'score %{tx.score} %{HIGHEST_SEVERITY}'\"\n";
        both(r, &[1, 2, 3, 4], &REQUESTS);
    }

    #[test]
    fn a_key_a_rule_before_reads_is_not_written_early() {
        // 2 reads tx.flag before 3 sets it: 3 stays in place.
        let r = "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
                 SecRule ARGS:q \"@contains hello\" \"id:2,phase:1,pass,msg:'flag %{tx.flag}'\"\n\
                 SecAction \"id:3,phase:1,pass,nolog,setvar:tx.flag=1\"\n\
                 SecRule ARGS:score \"@rx ^\\d+$\" \"id:4,phase:1,pass,setvar:tx.b=%{ARGS.score}\"\n\
                 SecRule TX:b \"@ge 5\" \"id:5,phase:1,pass,setvar:tx.c=1\"\n\
                 SecAction \"id:6,phase:1,pass,nolog,setvar:tx.b=0\"\n\
                 SecAction \"id:7,phase:1,pass,nolog,setvar:tx.d=1\"\n";
        both(r, &[1, 7], &REQUESTS);
    }

    #[test]
    fn matched_var_and_chains() {
        // 2's first link matches and its chain fails: MATCHED_VAR is still
        // set for 3, which is not hoisted (it reads MATCHED_VAR).
        let r = "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.x=abc\"\n\
                 SecRule TX:x \"@streq abc\" \"id:2,phase:1,pass,chain\"\n  SecRule TX:x \"@streq zzz\" \"setvar:tx.y=1\"\n\
                 SecAction \"id:3,phase:1,pass,msg:'last %{MATCHED_VAR} %{MATCHED_VAR_NAME}'\"\n\
                 SecRule TX:x \"@rx ^a\" \"id:4,phase:1,pass,chain\"\n  SecRule &MATCHED_VARS \"@eq 1\" \"setvar:tx.z=1\"\n";
        both(r, &[1, 2], &REQUESTS);
    }

    #[test]
    fn a_rule_that_may_change_the_flow_ends_hoisting() {
        let r = "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
                 SecRule ARGS:level \"@eq 3\" \"id:2,phase:1,pass,ctl:ruleRemoveById=3\"\n\
                 SecAction \"id:3,phase:1,pass,setvar:tx.b=1\"\n\
                 SecRule TX:b \"@eq 1\" \"id:4,phase:2,deny,status:403\"\n";
        both(r, &[1], &REQUESTS);
        // A body ctl before does not.
        let r = "SecRule ARGS:level \"@eq 3\" \"id:1,phase:1,pass,ctl:requestBodyAccess=Off\"\n\
                 SecAction \"id:2,phase:1,pass,setvar:tx.b=1\"\n\
                 SecRule TX:a \"@eq 1\" \"id:3,phase:1,pass,skipAfter:END\"\n\
                 SecAction \"id:4,phase:1,pass,setvar:tx.c=1\"\n\
                 SecMarker END\n\
                 SecRule TX:b \"@eq 1\" \"id:5,phase:1,pass,skipAfter:END2\"\n\
                 SecAction \"id:6,phase:1,pass,setvar:tx.d=1\"\n\
                 SecMarker END2\n";
        both(r, &[2, 3, 4], &REQUESTS);
    }

    /// The ids of the constant rules of `rs`.
    fn constant_ids(rs: &RuleSet) -> Vec<u32> {
        (rs.hoisted.constant.iter().enumerate())
            .filter(|(_, r)| r.is_some())
            .map(|(i, _)| rs.rules[i].id)
            .collect()
    }

    #[test]
    fn constant_gates_are_replayed_with_their_flow() {
        // 2 changes the flow (it ends hoisting). 3, 5 and 7 read only
        // tx.level, which only the hoisted 1 writes: constant. 3 matches and
        // skips 4 (phase 1), 5 does not match and 6 runs (phase 2), 7 matches,
        // is logged with its message and skips 8. 9 removes 3's target for
        // `?drop=1`: 3 is then evaluated (it matches nothing) and 4 runs.
        let r = "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.level=1,setvar:tx.score=0\"\n\
                 SecRule ARGS:level \"@eq 3\" \"id:2,phase:1,pass,ctl:ruleRemoveById=6\"\n\
                 SecRule ARGS:drop \"@eq 1\" \"id:9,phase:1,pass,ctl:ruleRemoveTargetById=3;TX:level\"\n\
                 SecRule TX:level \"@lt 2\" \"id:3,phase:1,pass,nolog,skipAfter:END1\"\n\
                 SecRule ARGS \"@rx .\" \"id:4,phase:1,pass,setvar:tx.score=+1\"\n\
                 SecMarker END1\n\
                 SecRule TX:level \"@lt 1\" \"id:5,phase:2,pass,nolog,skipAfter:END2\"\n\
                 SecRule ARGS \"@rx .\" \"id:6,phase:2,pass,msg:'ran',setvar:tx.score=+10\"\n\
                 SecMarker END2\n\
                 SecRule &TX:level \"@eq 1\" \"id:7,phase:2,pass,msg:'level %{tx.level}',skip:1\"\n\
                 SecAction \"id:8,phase:2,pass,setvar:tx.score=+100\"\n";
        let requests: [(&str, &[u8]); 4] = [
            ("/?q=1", b""),
            ("/?level=3", b""),
            ("/?drop=1", b""),
            ("/", b"x=1&drop=1"),
        ];
        both(r, &[1], &requests);
        let rs = RuleSet::from_text("test", &format!("{BASE}{r}")).unwrap();
        assert_eq!(constant_ids(&rs), [3, 5, 7]);
        // The gates' outcome shows: 4 and 8 skipped, 6 and 7 ran.
        let mut tx = Transaction::new(&rs, "c");
        let seen = observe(&mut tx, "/?q=1", b"");
        assert_eq!(tx.tx_var("score").as_deref(), Some("10"), "{seen}");
        let ids: Vec<u32> = tx.matched_rules().iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 3, 6, 7], "{seen}");
        // With 3's target removed, 4 runs.
        let mut tx = Transaction::new(&rs, "d");
        observe(&mut tx, "/?drop=1", b"");
        assert_eq!(tx.tx_var("score").as_deref(), Some("11"));
    }

    #[test]
    fn a_rule_reading_a_key_a_request_may_write_is_not_constant() {
        // 2 writes tx.level from the request; 5 writes keys that start with
        // `seen_`. So 3 and 6 are evaluated; 7 (`seenx` lacks the prefix) and
        // 8 are constant.
        let r = "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.level=1\"\n\
                 SecRule ARGS:level \"@rx ^[0-9]$\" \"id:2,phase:1,pass,setvar:tx.level=%{ARGS.level}\"\n\
                 SecRule TX:level \"@lt 2\" \"id:3,phase:1,pass,nolog,skipAfter:END\"\n\
                 SecAction \"id:4,phase:1,pass,setvar:tx.score=+1\"\n\
                 SecMarker END\n\
                 SecRule ARGS:name \"@rx .\" \"id:5,phase:1,pass,setvar:tx.SEEN_%{ARGS.name}=1\"\n\
                 SecRule TX:seen_a \"@eq 1\" \"id:6,phase:2,pass,skip:1\"\n\
                 SecAction \"id:9,phase:2,pass,setvar:tx.score=+10\"\n\
                 SecRule TX:seenx \"@eq 1\" \"id:7,phase:2,pass,skip:1\"\n\
                 SecRule &TX:seenx \"@eq 0\" \"id:8,phase:2,pass,nolog,skip:1\"\n\
                 SecAction \"id:10,phase:2,pass,setvar:tx.score=+100\"\n";
        let requests: [(&str, &[u8]); 4] = [
            ("/?level=3", b""),
            ("/?name=a", b""),
            ("/?level=1&name=b", b""),
            ("/", b"level=5&name=A"),
        ];
        both(r, &[1], &requests);
        let rs = RuleSet::from_text("test", &format!("{BASE}{r}")).unwrap();
        assert_eq!(constant_ids(&rs), [7, 8]);
    }

    #[test]
    fn nothing_is_hoisted_when_the_engine_is_off() {
        let r = "SecRuleEngine Off\nSecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n";
        both(r, &[], &REQUESTS);
    }
}

#[test]
fn reset_does_not_keep_a_large_requests_memory() {
    let rs = RuleSet::from_text("test", BASE).unwrap();
    let mut tx = Transaction::new(&rs, "big");
    let body: String = (0..5000).map(|i| format!("a{i}=v&")).collect();
    observe(&mut tx, "/", body.as_bytes());
    let args = tx.colls.get(&crate::variables::VarKind::ArgsPost).unwrap();
    assert!(args.capacity() >= 5000, "{}", args.capacity());
    tx.reset("next");
    assert!(tx.colls.0.iter().all(|c| c.capacity() <= 1024));
    assert!(tx.request_body.capacity() <= 64 * 1024);
}
