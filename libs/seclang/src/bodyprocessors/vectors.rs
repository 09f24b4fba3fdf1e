//! Runs the body processor vectors in `testdata/bodyprocessors/<name>.json`
//! (one file per processor) and checks every processor has vectors.
//!
//! Each vector: `body` (or `body_repeat`: [open, n, close, n]), optional
//! `content_type`, then any of `args` ([name, value] pairs, compared in order
//! unless `sorted`), `files`, `file_sizes`, `part_headers`, `xml_text`,
//! `xml_attrs`, `flags` (name -> bool) and `error` (bool, default false).

use super::process;
use serde_json::Value;
use std::path::PathBuf;

const PROCESSORS: &[&str] = &["urlencoded", "multipart", "json", "xml"];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/bodyprocessors")
}

fn pairs(v: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |x: &Value| match x {
                Value::String(s) => s.as_bytes().to_vec(),
                other => other.to_string().into_bytes(),
            };
            (s(&p[0]), s(&p[1]))
        })
        .collect()
}

fn strings(v: &Value) -> Vec<Vec<u8>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().as_bytes().to_vec())
        .collect()
}

#[test]
fn every_processor_has_vectors() {
    for p in PROCESSORS {
        assert!(
            dir().join(format!("{p}.json")).exists(),
            "no vectors for {p}"
        );
    }
}

#[test]
fn body_processor_vectors() {
    for name in PROCESSORS {
        let text = std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap();
        let vectors: Vec<Value> = serde_json::from_str(&text).unwrap();
        for (i, v) in vectors.iter().enumerate() {
            let at = format!("{name}.json #{i}");
            let body: Vec<u8> = match v.get("body_repeat") {
                Some(r) => {
                    let (open, n1, close, n2) = (
                        r[0].as_str().unwrap(),
                        r[1].as_u64().unwrap(),
                        r[2].as_str().unwrap(),
                        r[3].as_u64().unwrap(),
                    );
                    format!("{}{}", open.repeat(n1 as usize), close.repeat(n2 as usize))
                        .into_bytes()
                }
                None => v["body"].as_str().unwrap().as_bytes().to_vec(),
            };
            let ct = v["content_type"].as_str().unwrap_or("");
            let r = process(&name.to_ascii_uppercase(), &body, ct.as_bytes(), b'&');
            let want_error = v["error"].as_bool().unwrap_or(false);
            assert_eq!(r.error.is_some(), want_error, "{at}: error {:?}", r.error);
            if let Some(a) = v.get("args") {
                let mut got = r.args.clone();
                let mut want = pairs(a);
                if v["sorted"].as_bool() == Some(true) {
                    got.sort();
                    want.sort();
                }
                assert_eq!(got, want, "{at}: args");
            }
            if let Some(a) = v.get("args_hex") {
                let h = |s: &str| {
                    (0..s.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                        .collect::<Vec<u8>>()
                };
                let want: Vec<_> = a
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (h(p[0].as_str().unwrap()), h(p[1].as_str().unwrap())))
                    .collect();
                assert_eq!(r.args, want, "{at}: args");
            }
            if let Some(f) = v.get("files") {
                assert_eq!(r.files, pairs(f), "{at}: files");
            }
            if let Some(f) = v.get("file_sizes") {
                let want: Vec<(Vec<u8>, usize)> = pairs(f)
                    .into_iter()
                    .map(|(k, n)| (k, String::from_utf8(n).unwrap().parse().unwrap()))
                    .collect();
                assert_eq!(r.file_sizes, want, "{at}: file sizes");
            }
            if let Some(h) = v.get("part_headers") {
                assert_eq!(r.part_headers, pairs(h), "{at}: part headers");
            }
            if let Some(t) = v.get("xml_text") {
                assert_eq!(r.xml_text, strings(t), "{at}: xml text");
            }
            if let Some(t) = v.get("xml_attrs") {
                assert_eq!(r.xml_attrs, strings(t), "{at}: xml attrs");
            }
            if let Some(Value::Object(flags)) = v.get("flags") {
                for (flag, want) in flags {
                    let got = r.flags.iter().find(|(n, _)| n == flag).map(|(_, b)| *b);
                    assert_eq!(got, Some(want.as_bool().unwrap()), "{at}: {flag}");
                }
            }
        }
    }
}
