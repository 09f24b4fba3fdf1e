//! The four request body processors of seclang, each run directly
//! (`bodyprocessors::process`) and then through a transaction whose rules
//! read what it produced (ARGS, FILES, XML, the error and multipart flags).

use super::{bucket, error_class, feature};
use crate::corpus::Corpus;
use seclang::bodyprocessors::{self, BodyResult, xml};
use seclang::{RuleSet, Transaction};
use std::sync::OnceLock;

/// Rules that select the processor by Content-Type and read its output.
const RULES: &str = r#"SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "@rx (?i)json" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:Content-Type "@rx (?i)xml" "id:2,phase:1,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule ARGS|ARGS_NAMES|FILES|FILES_NAMES|MULTIPART_PART_HEADERS "@rx (?i)(select|<script|\.\./)" "id:10,phase:2,pass,log,t:none,t:urlDecodeUni,t:htmlEntityDecode,t:lowercase"
SecRule XML:/*|XML://@* "@contains evil" "id:11,phase:2,pass,log"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:12,phase:2,pass,log"
SecRule REQBODY_ERROR "!@eq 0" "id:13,phase:2,pass,log,msg:'%{REQBODY_ERROR_MSG}'"
SecRule &ARGS "@gt 100" "id:14,phase:2,pass,log"
SecRule FILES_SIZES "@gt 10" "id:15,phase:2,pass,log"
"#;

fn rules() -> &'static RuleSet {
    static RS: OnceLock<RuleSet> = OnceLock::new();
    RS.get_or_init(|| RuleSet::from_text("fuzz-body.conf", RULES).expect("body rules parse"))
}

/// Runs a POST with this Content-Type and body through [`RULES`].
fn through_engine(content_type: &[u8], body: &[u8]) -> u64 {
    let mut tx = Transaction::new(rules(), "fuzz");
    tx.process_connection("192.0.2.1", 40000, "127.0.0.1", 8080);
    tx.process_uri("POST", "/upload?x=1", "HTTP/1.1");
    tx.add_request_header("Host", b"localhost");
    tx.add_request_header("Content-Type", content_type);
    tx.add_request_header("Content-Length", body.len().to_string().as_bytes());
    tx.process_request_headers();
    tx.append_request_body(body);
    tx.process_request_body();
    tx.process_logging();
    feature(tx.matched_count())
}

fn shape(r: &BodyResult) -> u64 {
    let flags: Vec<bool> = r.flags.iter().map(|(_, on)| *on).collect();
    feature((
        bucket(r.args.len()),
        bucket(r.files.len()),
        bucket(r.xml_elements.len()),
        flags,
        r.error.as_deref().map(error_class),
    ))
}

fn run_processor(name: &str, content_type: &[u8], body: &[u8]) -> u64 {
    let r = bodyprocessors::process(name, body, content_type, b'&');
    feature((shape(&r), through_engine(content_type, body)))
}

/// URLENCODED: the input is the body.
pub fn run_urlencoded(input: &[u8]) -> u64 {
    let sep = if input.first() == Some(&b';') {
        b';'
    } else {
        b'&'
    };
    let pairs = bodyprocessors::urlencoded::parse(input, sep);
    feature((
        bucket(pairs.len()),
        run_processor("URLENCODED", b"application/x-www-form-urlencoded", input),
    ))
}

/// MULTIPART: the first line is the Content-Type value, the rest the body.
pub fn run_multipart(input: &[u8]) -> u64 {
    let (ct, body) = match input.iter().position(|&b| b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (&b"multipart/form-data; boundary=b"[..], input),
    };
    run_processor("MULTIPART", ct, body)
}

/// JSON: the input is the body.
pub fn run_json(input: &[u8]) -> u64 {
    run_processor("JSON", b"application/json", input)
}

/// XPath selectors of the subset `xml::select` supports, and some outside it.
const XPATHS: &[&str] = &[
    "/*",
    "//@*",
    "/root/a",
    "//a//b//c//d//e",
    "//*//*//*//*//*//*",
    "/*/text()",
    "//@id",
    "a",
    "//",
    "/a[1]",
];

/// XML: the input is the body; the parsed elements also go through
/// `xml::select` with a few XPath selectors.
pub fn run_xml(input: &[u8]) -> u64 {
    let r = xml::parse(input);
    let mut selected = 0;
    for xp in XPATHS {
        selected += xml::select(&r.xml_elements, xp).map_or(0, |v| v.len());
    }
    feature((bucket(selected), run_processor("XML", b"text/xml", input)))
}

/// The go-ftw request bodies whose Content-Type contains one of `kinds`.
fn crs_bodies(c: &Corpus, kinds: &[&str], with_ct: bool) -> Vec<Vec<u8>> {
    c.requests
        .iter()
        .filter(|r| !r.body.is_empty())
        .filter_map(|r| {
            let ct = r.header("content-type")?;
            let lower = ct.to_ascii_lowercase();
            kinds.iter().any(|k| lower.contains(k)).then(|| {
                let mut out = Vec::new();
                if with_ct {
                    out.extend_from_slice(ct.as_bytes());
                    out.push(b'\n');
                }
                out.extend_from_slice(&r.body);
                out
            })
        })
        .collect()
}

fn owned(seeds: &[&[u8]]) -> Vec<Vec<u8>> {
    seeds.iter().map(|s| s.to_vec()).collect()
}

/// Tokens for urlencoded bodies.
pub const URLENCODED_DICT: &[&[u8]] = &[b"=", b"&", b";", b"%3d", b"%26", b"+", b"[]", b"a[b]="];

/// Seeds for URLENCODED.
pub fn seeds_urlencoded(c: &Corpus) -> Vec<Vec<u8>> {
    let mut s = owned(&[
        b"a=1&b=2",
        b"q=%27%20or%201%3D1--&x=+y+",
        b"=&&=&a&%zz=%4",
        b"name=caf%C3%A9&arr[]=1&arr[]=2",
    ]);
    s.extend(crs_bodies(c, &["urlencoded"], false));
    s
}

/// Tokens for multipart bodies.
pub const MULTIPART_DICT: &[&[u8]] = &[
    b"--b",
    b"--b--",
    b"\r\n--b\r\n",
    b"Content-Disposition: form-data; name=\"",
    b"; filename=\"",
    b"filename*=UTF-8''",
    b"Content-Type: text/plain\r\n",
    b"\r\n\r\n",
    b"\r\n ",
    b"boundary=",
    b"boundary=\"",
    b"multipart/form-data; ",
];

/// Seeds for MULTIPART.
pub fn seeds_multipart(c: &Corpus) -> Vec<Vec<u8>> {
    let mut s = owned(&[
        b"multipart/form-data; boundary=b\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.php\"\r\nContent-Type: text/plain\r\n\r\n<?php ?>\r\n--b--\r\n",
        b"multipart/form-data; boundary=\"q q\"\n--q q\nContent-Disposition: form-data; name=a\n\nv\n--q q--",
        b"multipart/form-data; boundary = b ; charset=x\npreamble\r\n--b\r\nContent-Disposition: form-data;\r\n name=\"folded\"\r\n\r\nx\r\n--b--\r\nepilogue",
    ]);
    s.extend(crs_bodies(c, &["multipart"], true));
    s
}

/// Tokens for JSON bodies.
pub const JSON_DICT: &[&[u8]] = &[
    b"{", b"}", b"[", b"]", b":", b",", b"\"", b"\\u0000", b"\\ud800", b"\\\"", b"null", b"true",
    b"false", b"1e400", b"-0", b"{\"\":", b"[[[[",
];

/// Seeds for JSON.
pub fn seeds_json(c: &Corpus) -> Vec<Vec<u8>> {
    let mut s = owned(&[
        b"{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":\"' or 1=1--\"}}",
        b"[1,2,[3,[4,{\"k\":\"\\u003cscript\\u003e\"}]]]",
        b"\"just a string\"",
        b"{\"n\":1e999,\"m\":-0.0,\"s\":\"\\ud83d\\ude00\"}",
    ]);
    s.extend(crs_bodies(c, &["json"], false));
    s
}

/// Tokens for XML bodies.
pub const XML_DICT: &[&[u8]] = &[
    b"<a>",
    b"</a>",
    b"<a b=\"c\"/>",
    b"<?xml version=\"1.0\"?>",
    b"<!DOCTYPE r [",
    b"<!ENTITY e \"",
    b"&e;",
    b"]>",
    b"<![CDATA[",
    b"]]>",
    b"xmlns:x=\"u\"",
    b"<x:a>",
    b"&#0;",
    b"&#x110000;",
    b"<!--",
    b"-->",
    b"<?pi?>",
];

/// Seeds for XML.
pub fn seeds_xml(c: &Corpus) -> Vec<Vec<u8>> {
    let mut s = owned(&[
        b"<?xml version=\"1.0\"?><root><a id=\"1\">text<b>evil</b></a><c x=\"evil\"/></root>",
        b"<!DOCTYPE r [<!ENTITY e \"evil\"><!ENTITY f \"&e;&e;&e;\">]><r>&f;</r>",
        b"<r xmlns:x=\"urn:x\"><x:a><![CDATA[<script>]]></x:a><!-- c --></r>",
    ]);
    s.extend(crs_bodies(c, &["xml"], false));
    s
}
