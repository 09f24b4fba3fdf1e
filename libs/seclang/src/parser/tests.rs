//! One row per directive the parser knows: each either works (with a check of
//! its effect on the loaded rule set) or fails the load naming file and line.

use super::{directives::HANDLERS, refused::REFUSED};
use crate::config::{EngineMode, LimitAction};
use crate::{RuleSet, RuleSetBuilder};

/// Works, and the rule set shows it.
type Check = fn(&RuleSet) -> bool;

enum Expect {
    Works(Check),
    /// Fails at `table.conf:3` with a message holding this text.
    Fails(&'static str),
}
use Expect::{Fails, Works};

const AUDIT: &str = "decision log ([log] decisions";

/// Directive line (loaded as line 3 of `table.conf`) and what it does.
const TABLE: &[(&str, Expect)] = &[
    (
        "SecRule ARGS \"@rx a\" \"id:10,phase:1,pass\"",
        Works(|rs| rs.len() == 3),
    ),
    (
        "SecAction \"id:10,phase:1,pass\"",
        Works(|rs| rs.len() == 3),
    ),
    (
        "SecMarker END",
        Works(|rs| rs.rules()[2].marker() == Some("END")),
    ),
    (
        "SecDefaultAction \"phase:2,log,deny,status:403\"",
        Works(|_| true),
    ),
    ("SecDefaultAction \"log,deny\"", Fails("needs a phase")),
    (
        "Include /nonexistent/x.conf",
        Fails("in Include: /nonexistent/x.conf:0: cannot read"),
    ),
    (
        "SecRuleEngine DetectionOnly",
        Works(|rs| rs.config.rule_engine == EngineMode::DetectionOnly),
    ),
    (
        "SecRuleEngine Maybe",
        Fails("expected On, Off or DetectionOnly"),
    ),
    (
        "SecRequestBodyAccess On",
        Works(|rs| rs.config.request_body_access),
    ),
    (
        "SecResponseBodyAccess On",
        Works(|rs| rs.config.response_body_access),
    ),
    (
        "SecRequestBodyLimit 1000",
        Works(|rs| rs.config.request_body_limit == 1000),
    ),
    ("SecRequestBodyLimit 0", Fails("must be at least 1")),
    (
        "SecRequestBodyNoFilesLimit 64",
        Works(|rs| rs.config.request_body_no_files_limit == 64),
    ),
    ("SecRequestBodyNoFilesLimit lots", Fails("is not a number")),
    (
        "SecRequestBodyLimitAction ProcessPartial",
        Works(|rs| rs.config.request_body_limit_action == LimitAction::ProcessPartial),
    ),
    (
        "SecResponseBodyLimit 2048",
        Works(|rs| rs.config.response_body_limit == 2048),
    ),
    (
        "SecResponseBodyLimitAction Reject",
        Works(|rs| rs.config.response_body_limit_action == LimitAction::Reject),
    ),
    (
        "SecResponseBodyMimeType text/xml application/json",
        Works(|rs| {
            rs.config
                .response_body_mime_types
                .contains(&"application/json".to_string())
        }),
    ),
    (
        "SecResponseBodyMimeTypesClear",
        Works(|rs| rs.config.response_body_mime_types.is_empty()),
    ),
    (
        "SecArgumentSeparator ;",
        Works(|rs| rs.config.argument_separator == b';'),
    ),
    ("SecArgumentSeparator ;;", Fails("takes one character")),
    (
        "SecArgumentsLimit 255",
        Works(|rs| rs.config.arguments_limit == Some(255)),
    ),
    ("SecArgumentsLimit 0", Fails("must be at least 1")),
    (
        "SecRequestBodyJsonDepthLimit 16",
        Works(|rs| rs.config.json_depth_limit == 16),
    ),
    ("SecRequestBodyJsonDepthLimit 512", Fails("at most 127")),
    (
        "SecComponentSignature \"OWASP_CRS/4.28.0\"",
        Works(|rs| rs.config.component_signatures == ["OWASP_CRS/4.28.0"]),
    ),
    ("SecRuleRemoveById 1 5-9", Works(|rs| rs.len() == 1)),
    ("SecRuleRemoveByTag t1", Works(|rs| rs.len() == 1)),
    ("SecRuleRemoveByMsg m1", Works(|rs| rs.len() == 1)),
    (
        "SecRuleUpdateTargetById 1 ARGS:x",
        Works(|rs| targets(rs) == 2),
    ),
    (
        "SecRuleUpdateTargetByTag t1 ARGS:x",
        Works(|rs| targets(rs) == 2),
    ),
    (
        "SecRuleUpdateTargetByMsg m1 ARGS:x",
        Works(|rs| targets(rs) == 2),
    ),
    (
        "SecRuleUpdateActionById 1 \"deny,status:418\"",
        Works(|rs| rs.rules()[0].actions.status == Some(418)),
    ),
    ("SecXmlExternalEntity Off", Works(|_| true)),
    (
        "SecXmlExternalEntity On",
        Fails("never loads external entities"),
    ),
    ("SecUploadKeepFiles Off", Works(|_| true)),
    ("SecUploadKeepFiles On", Fails("never stored")),
    ("SecTmpSaveUploadedFiles Off", Works(|_| true)),
    ("SecTmpSaveUploadedFiles On", Fails("never stored")),
    ("SecStatusEngine Off", Works(|_| true)),
    ("SecStatusEngine On", Fails("reports no status")),
    ("SecCookieFormat 0", Works(|_| true)),
    ("SecCookieFormat 1", Fails("version 0")),
    ("SecAuditEngine RelevantOnly", Fails(AUDIT)),
    ("SecAuditLog /var/log/modsec_audit.log", Fails(AUDIT)),
    ("SecAuditLog2 /var/log/modsec_audit2.log", Fails(AUDIT)),
    ("SecAuditLogParts ABIJDEFHZ", Fails(AUDIT)),
    ("SecAuditLogType Serial", Fails(AUDIT)),
    ("SecAuditLogFormat JSON", Fails(AUDIT)),
    ("SecAuditLogStorageDir /tmp/audit", Fails(AUDIT)),
    ("SecAuditLogRelevantStatus \"^(?:5|4(?!04))\"", Fails(AUDIT)),
    ("SecAuditLogDirMode 0750", Fails(AUDIT)),
    ("SecAuditLogFileMode 0640", Fails(AUDIT)),
    ("SecDebugLog /tmp/debug.log", Fails("no debug log")),
    ("SecDebugLogLevel 3", Fails("no debug log")),
    ("SecTmpDir /tmp", Fails("writes nothing to disk")),
    ("SecDataDir /tmp", Fails("writes nothing to disk")),
    ("SecUploadDir /tmp", Fails("writes nothing to disk")),
    ("SecUploadFileMode 0600", Fails("writes nothing to disk")),
    ("SecCollectionTimeout 600", Fails("persistent collections")),
    ("SecWebAppId shop", Fails("persistent collections")),
    ("SecPcreMatchLimit 1000", Fails("never backtracks")),
    ("SecPcreMatchLimitRecursion 1000", Fails("never backtracks")),
    ("SecStreamInBodyInspection On", Fails("inspected whole")),
    ("SecStreamOutBodyInspection On", Fails("inspected whole")),
    (
        "SecRequestBodyInMemoryLimit 131072",
        Fails("set those instead"),
    ),
    ("SecUploadFileLimit 100", Fails("&FILES")),
    ("SecUnicodeMapFile unicode.mapping 20127", Fails("built in")),
    ("SecServerSignature Apache", Fails("response headers")),
    (
        "SecRemoteRules key https://example.com/r.conf",
        Fails("Include it"),
    ),
    ("SecGeoLookupDb /usr/share/GeoIP.dat", Fails("ip-filter")),
    ("SecRuleScript /x.lua", Fails("Lua rules")),
    (
        "SecNoSuchThing On",
        Fails("unknown directive SecNoSuchThing"),
    ),
];

/// Targets of rule 1 (it starts with one: ARGS).
fn targets(rs: &RuleSet) -> usize {
    match &rs.rules()[0].kind {
        crate::rule::RuleKind::Rule { targets, .. } => targets.len(),
        _ => 0,
    }
}

/// Two rules before the directive under test, so removals and updates have
/// something to act on.
const BEFORE: &str = "SecRule ARGS \"@rx a\" \"id:1,phase:1,pass,tag:t1,msg:m1\"\n\
SecAction \"id:2,phase:1,pass\"\n";

#[test]
fn every_directive_works_or_fails_with_file_and_line() {
    for (line, expect) in TABLE {
        let mut b = RuleSetBuilder::new();
        let r = b
            .add_text("table.conf", &format!("{BEFORE}{line}\n"))
            .map(|_| ());
        match (expect, r) {
            (Works(check), Ok(())) => {
                let rs = b.build().unwrap();
                assert!(check(&rs), "{line}: loaded, but its effect is missing");
            }
            (Fails(text), Err(e)) => {
                assert_eq!((e.file.as_str(), e.line), ("table.conf", 3), "{line}: {e}");
                assert!(e.message.contains(text), "{line}: {e}");
                let name = line.split_whitespace().next().unwrap();
                assert!(
                    e.message.contains(name),
                    "{line}: the message names it: {e}"
                );
            }
            (Works(_), Err(e)) => panic!("{line}: should load, got {e}"),
            (Fails(text), Ok(())) => panic!("{line}: should fail with {text:?}, loaded"),
        }
    }
}

#[test]
fn every_known_directive_has_a_row() {
    let names: Vec<String> = TABLE
        .iter()
        .map(|(l, _)| l.split_whitespace().next().unwrap().to_ascii_lowercase())
        .collect();
    let known = HANDLERS.iter().map(|(n, _)| *n);
    for n in known.chain(REFUSED.iter().map(|(n, _)| *n)) {
        assert!(names.iter().any(|x| x == n), "{n} has no row in TABLE");
    }
}

#[test]
fn no_directive_is_both_handled_and_refused() {
    for (n, _) in REFUSED {
        assert!(!HANDLERS.iter().any(|(h, _)| h == n), "{n}");
    }
}

#[test]
fn errors_inside_an_include_name_both_files() {
    let dir = std::env::temp_dir().join(format!("seclang-include-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("inner.conf"),
        "SecRuleEngine On\n\nSecAuditEngine On\n",
    )
    .unwrap();
    let mut b = RuleSetBuilder::new();
    let e = b
        .add_text_in("outer.conf", "\nInclude inner.conf\n", Some(&dir))
        .map(|_| ())
        .unwrap_err();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!((e.file.as_str(), e.line), ("outer.conf", 2));
    assert!(
        e.message
            .contains("inner.conf:3: SecAuditEngine is not supported"),
        "{e}"
    );
}
