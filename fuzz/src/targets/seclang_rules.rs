//! SecLang text: lexer, directive parser, operator and action compilation,
//! the prefilter's literal analysis; when the text loads, one request goes
//! through the rules (macros, setvar, ctl, chains, skipAfter).

use super::{error_class, feature, text};
use crate::corpus::Corpus;
use seclang::{RuleSetBuilder, Transaction};
use std::path::PathBuf;
use std::sync::OnceLock;

static RULES_DIR: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Data files (`@pmFromFile`) resolve against the corpus's rules folder.
pub fn setup(c: &Corpus) {
    let _ = RULES_DIR.set(c.rules_dir.clone());
}

/// Runs one input.
pub fn run(input: &[u8]) -> u64 {
    let text = text(input);
    let dir = RULES_DIR.get().cloned().flatten();
    let mut b = RuleSetBuilder::new();
    if let Err(e) = b.add_text_in("fuzz.conf", &text, dir.as_deref()) {
        return error_class(&e.to_string());
    }
    let rs = match b.build() {
        Ok(rs) => rs,
        Err(e) => return error_class(&e.to_string()),
    };
    let mut tx = Transaction::new(&rs, "fuzz-1");
    tx.process_connection("192.0.2.1", 40000, "127.0.0.1", 8080);
    tx.process_uri(
        "POST",
        "/index.php?id=1%27%20or%201=1--&x=<script>",
        "HTTP/1.1",
    );
    tx.add_request_header("Host", b"localhost");
    tx.add_request_header("User-Agent", b"sqlmap/1.0");
    tx.add_request_header("Cookie", b"a=1; b=../../etc/passwd");
    tx.add_request_header("Content-Type", b"application/x-www-form-urlencoded");
    tx.process_request_headers();
    tx.append_request_body(b"q=select+*+from+users&r=%3Cimg%20src%3Dx%3E");
    tx.process_request_body();
    tx.add_response_header("Content-Type", b"text/html");
    tx.process_response_headers(200, "HTTP/1.1");
    if tx.response_body_wanted() {
        tx.append_response_body(b"<html>root:x:0:0</html>");
        tx.process_response_body();
    }
    tx.process_logging();
    let status = tx.intervention().map(|i| i.status);
    feature((rs.len().min(64), tx.matched_count().min(64), status))
}

/// SecLang keywords and fragments.
pub const DICT: &[&[u8]] = &[
    b"SecRule ",
    b"SecAction ",
    b"SecMarker ",
    b"SecRuleEngine On\n",
    b"SecDefaultAction ",
    b"SecRuleRemoveById ",
    b"SecRuleUpdateTargetById ",
    b"SecRequestBodyAccess On\n",
    b"SecComponentSignature ",
    b"SecArgumentSeparator ",
    b"ARGS",
    b"ARGS:",
    b"!ARGS:",
    b"&ARGS",
    b"|",
    b"REQUEST_HEADERS:",
    b"TX:",
    b"XML:/*",
    b"REQUEST_COOKIES:/^a/",
    b"@rx ",
    b"@pm ",
    b"@pmFromFile ",
    b"@eq ",
    b"@within ",
    b"@detectSQLi",
    b"@detectXSS",
    b"@ipMatch ",
    b"@validateByteRange ",
    b"!@",
    b"\"id:",
    b"phase:",
    b"chain",
    b"skipAfter:",
    b"setvar:tx.",
    b"=+",
    b"ctl:",
    b"ruleRemoveTargetById=",
    b"t:",
    b"msg:'",
    b"logdata:'",
    b"%{",
    b"%{TX.",
    b"%{MATCHED_VAR}",
    b"}",
    b"\\\n",
    b"'",
    b"\"",
    b",",
    b"deny",
    b"block",
    b"severity:",
    b"tag:'",
    b"ver:'",
    b"capture",
    b"multiMatch",
    b"expirevar:",
    b"(?i)",
    b"(?:",
    b"[^",
    b"\\x",
    b"{1000}",
    b"{2147483648}",
];

/// Seeds: the CRS directives, one to three at a time, and a few of our own.
pub fn seeds(c: &Corpus) -> Vec<Vec<u8>> {
    let mut s: Vec<Vec<u8>> = [
        &b"SecRuleEngine On\nSecRule ARGS \"@rx (?i)select\" \"id:1,phase:2,deny,status:403,t:none,t:urlDecodeUni,msg:'sqli %{MATCHED_VAR}'\"\n"[..],
        b"SecAction \"id:2,phase:1,pass,nolog,setvar:tx.score=0\"\nSecRule REQUEST_HEADERS:User-Agent \"@pm sqlmap nikto\" \"id:3,phase:1,pass,setvar:tx.score=+5,chain\"\n  SecRule TX:score \"@ge 5\" \"t:none\"\n",
        b"SecRule &ARGS \"@gt 0\" \"id:4,phase:2,pass,skipAfter:END\"\nSecMarker END\nSecRule REQUEST_COOKIES|!REQUEST_COOKIES:/^b$/ \"@contains ..\" \"id:5,phase:1,block,ctl:ruleRemoveById=4\"\n",
        b"SecRule ARGS \"@detectSQLi\" \"id:6,phase:2,log,capture,logdata:'%{TX.0}'\"\nSecRule ARGS \"@detectXSS\" \"id:7,phase:2,log,multiMatch,t:htmlEntityDecode\"\n",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    let d = &c.directives;
    for (i, first) in d.iter().enumerate() {
        s.push(first.as_bytes().to_vec());
        if i + 2 < d.len() && i % 3 == 0 {
            s.push(format!("{first}{}{}", d[i + 1], d[i + 2]).into_bytes());
        }
    }
    s
}
