//! One row per action vector: an action list and what parsing it does. Every
//! action in [`ACTIONS`] needs a row that works, and every row's action list
//! must also load inside a minimal `SecRule`.

use super::{ACTIONS, Actions, AllowScope, Disruptive, Effect, split};
use crate::RuleSet;
use crate::phase::Phase;

/// Parses, and the result shows it.
type Check = fn(&Actions) -> bool;

enum Expect {
    Works(Check),
    /// Is refused with a message holding this text.
    Fails(&'static str),
}
use Expect::{Fails, Works};

/// The action changed nothing (the no-op actions of `accepted.rs`).
fn unchanged(a: &Actions) -> bool {
    format!("{a:?}") == format!("{:?}", Actions::default())
}

/// Action list (the first action is the one under test) and what it does.
const VECTORS: &[(&str, Expect)] = &[
    ("id:7", Works(|a| a.id == Some(7))),
    ("id:0", Fails("id 0 is not allowed")),
    ("id:abc", Fails("is not a number")),
    ("phase:1", Works(|a| a.phase == Some(Phase::RequestHeaders))),
    (
        "msg:'a, b'",
        Works(|a| a.msg.as_ref().and_then(|m| m.literal_text()) == Some(b"a, b".to_vec())),
    ),
    ("logdata:'%{MATCHED_VAR}'", Works(|a| a.logdata.is_some())),
    ("severity:CRITICAL", Works(|a| a.severity == Some(2))),
    ("severity:5", Works(|a| a.severity == Some(5))),
    ("severity:HIGH", Fails("unknown severity")),
    ("tag:'attack-sqli'", Works(|a| a.tags == ["attack-sqli"])),
    (
        "ver:'OWASP_CRS/4.0'",
        Works(|a| a.ver.as_deref() == Some("OWASP_CRS/4.0")),
    ),
    ("rev:'2'", Works(|a| a.rev.as_deref() == Some("2"))),
    ("maturity:9", Works(|a| a.maturity == Some(9))),
    ("accuracy:8", Works(|a| a.accuracy == Some(8))),
    (
        "t:lowercase",
        Works(|a| a.transforms == ["lowercase"] && !a.t_none),
    ),
    (
        "t:lowercase,t:none",
        Works(|a| a.transforms.is_empty() && a.t_none),
    ),
    ("t:nosuch", Fails("unknown transformation")),
    ("chain", Works(|a| a.chain)),
    ("chain:1", Fails("takes no value")),
    ("skip:2", Works(|a| a.skip == 2)),
    (
        "SKIPAFTER:END",
        Works(|a| a.skip_after.as_deref() == Some("END")),
    ),
    (
        "setvar:tx.score=+5",
        Works(|a| matches!(a.effects[..], [Effect::SetVar(_)])),
    ),
    (
        "ctl:ruleEngine=Off",
        Works(|a| matches!(a.effects[..], [Effect::Ctl(_)])),
    ),
    (
        "initcol:ip=%{REMOTE_ADDR}",
        Works(|a| matches!(a.effects[..], [Effect::InitCol])),
    ),
    ("initcol", Fails("needs a value")),
    ("capture", Works(|a| a.capture)),
    ("multiMatch", Works(|a| a.multi_match)),
    ("block", Works(|a| a.disruptive == Some(Disruptive::Block))),
    ("deny", Works(|a| a.disruptive == Some(Disruptive::Deny))),
    ("pass", Works(|a| a.disruptive == Some(Disruptive::Pass))),
    ("drop", Works(|a| a.disruptive == Some(Disruptive::Drop))),
    (
        "allow",
        Works(|a| a.disruptive == Some(Disruptive::Allow(AllowScope::All))),
    ),
    (
        "allow:phase",
        Works(|a| a.disruptive == Some(Disruptive::Allow(AllowScope::Phase))),
    ),
    (
        "allow:Request",
        Works(|a| a.disruptive == Some(Disruptive::Allow(AllowScope::Request))),
    ),
    ("allow:everything", Fails("expected phase or request")),
    (
        "redirect:http://example.com/",
        Works(|a| matches!(a.disruptive, Some(Disruptive::Redirect(_)))),
    ),
    ("status:403", Works(|a| a.status == Some(403))),
    ("status:700", Fails("is not an HTTP status")),
    ("log", Works(|a| a.log == Some(true))),
    ("nolog", Works(|a| a.log == Some(false))),
    ("auditlog", Works(|a| a.auditlog == Some(true))),
    ("noauditlog", Works(|a| a.auditlog == Some(false))),
    ("expirevar:ip.blocked=60", Works(unchanged)),
    ("setuid:%{tx.user}", Works(unchanged)),
    ("setsid:%{REQUEST_COOKIES.sid}", Works(unchanged)),
    ("setenv:x=1", Works(unchanged)),
    ("deprecatevar:ip.score=10/60", Works(unchanged)),
    ("sanitiseArg:password", Works(unchanged)),
    ("sanitiseMatched", Works(unchanged)),
    ("sanitiseMatchedBytes:1/4", Works(unchanged)),
    ("sanitiseRequestHeader:Authorization", Works(unchanged)),
    ("sanitiseResponseHeader:Set-Cookie", Works(unchanged)),
    (
        "xmlns:xsd=http://www.w3.org/2001/XMLSchema",
        Works(unchanged),
    ),
    ("auditLogParts:+E", Works(unchanged)),
];

/// The name of the action a vector is about (its first).
fn first_name(list: &str) -> String {
    split(list).unwrap()[0].0.clone()
}

#[test]
fn action_vectors() {
    for (list, expect) in VECTORS {
        match (Actions::parse(list), expect) {
            (Ok(a), Works(check)) => assert!(check(&a), "{list}: wrong effect {a:?}"),
            (Err(e), Fails(want)) => assert!(e.contains(want), "{list}: error {e:?}"),
            (Ok(a), Fails(_)) => panic!("{list}: should be refused, parsed to {a:?}"),
            (Err(e), Works(_)) => panic!("{list}: {e}"),
        }
    }
}

/// Adding a name to [`ACTIONS`] without a working vector fails here, and so
/// does a vector about an action the table does not have.
#[test]
fn every_action_has_vectors() {
    for (name, _) in ACTIONS {
        assert!(
            VECTORS
                .iter()
                .any(|(l, e)| matches!(e, Works(_)) && first_name(l).eq_ignore_ascii_case(name)),
            "action {name} has no working vector in actions/vectors.rs"
        );
    }
    for (list, _) in VECTORS {
        let n = first_name(list);
        assert!(
            ACTIONS.iter().any(|(a, _)| a.eq_ignore_ascii_case(&n)),
            "vector {list:?} names no action in ACTIONS"
        );
    }
}

/// Every working vector loads inside a minimal rule (a chain gets its
/// continuation), so the parser accepts every action of the table.
#[test]
fn every_action_loads_in_a_rule() {
    for (list, expect) in VECTORS {
        if !matches!(expect, Works(_)) {
            continue;
        }
        let mut text = format!("SecRule ARGS \"@rx x\" \"id:1,phase:2,{list}\"\n");
        if Actions::parse(list).unwrap().chain {
            text.push_str("SecRule ARGS \"@rx y\" \"t:none\"\n");
        }
        if let Err(e) = RuleSet::from_text("vector.conf", &text) {
            panic!("{list}: {e}");
        }
    }
}
