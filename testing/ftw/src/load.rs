//! Loading go-ftw YAML test files.

use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// One request to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FtwRequest {
    /// Method as written (may be odd on purpose).
    pub method: String,
    /// Request-target as written.
    pub uri: String,
    /// Protocol, e.g. `HTTP/1.1`.
    pub version: String,
    /// Headers in file order, name and value as written.
    pub headers: Vec<(String, String)>,
    /// Body bytes (`data`).
    pub body: Vec<u8>,
    /// The raw request bytes when the test gives `encoded_request` (base64-decoded).
    pub encoded_request: Option<Vec<u8>>,
    /// go-ftw's `autocomplete_headers` (default true): add Content-Length,
    /// a urlencoded Content-Type (when there is a body) and `Connection: close`
    /// when missing. Already applied to `headers`.
    pub autocomplete_headers: bool,
}

impl FtwRequest {
    /// The first header value with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a stage expects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expect {
    /// Acceptable statuses (any of); empty means not checked.
    pub status: Vec<u16>,
    /// Rule ids that must be logged.
    pub expect_ids: Vec<u32>,
    /// Rule ids that must not be logged.
    pub no_expect_ids: Vec<u32>,
    /// A regex that must match some log line.
    pub match_regex: Option<String>,
    /// A regex that must match no log line.
    pub no_match_regex: Option<String>,
    /// The request is expected to fail at the HTTP layer.
    pub expect_error: bool,
}

/// One stage: a request and its expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The request.
    pub request: FtwRequest,
    /// The expectations.
    pub expect: Expect,
}

/// One test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtwTest {
    /// The rule the file tests.
    pub rule_id: u32,
    /// Test number within the file.
    pub test_id: u32,
    /// Description.
    pub desc: String,
    /// Stages in order.
    pub stages: Vec<Stage>,
}

/// One test file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtwFile {
    /// Path.
    pub path: PathBuf,
    /// Tests.
    pub tests: Vec<FtwTest>,
}

fn err(path: &Path, what: impl std::fmt::Display) -> String {
    format!("{}: {what}", path.display())
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn ids(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::Sequence(s)) => s
            .iter()
            .filter_map(|x| x.as_u64())
            .map(|x| x as u32)
            .collect(),
        Some(Value::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Parses an `output` mapping into expectations.
pub(crate) fn parse_expect(out: &Value) -> Expect {
    let mut e = Expect::default();
    match out.get("status") {
        Some(Value::Number(n)) => e.status = n.as_u64().map(|s| vec![s as u16]).unwrap_or_default(),
        Some(Value::Sequence(s)) => {
            e.status = s
                .iter()
                .filter_map(|x| x.as_u64())
                .map(|x| x as u16)
                .collect()
        }
        _ => {}
    }
    if let Some(log) = out.get("log") {
        e.expect_ids = ids(log.get("expect_ids"));
        e.no_expect_ids = ids(log.get("no_expect_ids"));
        e.match_regex = log.get("match_regex").and_then(as_string);
        e.no_match_regex = log.get("no_match_regex").and_then(as_string);
    }
    e.expect_ids.extend(ids(out.get("expect_ids")));
    e.no_expect_ids.extend(ids(out.get("no_expect_ids")));
    e.expect_error = out
        .get("expect_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    e
}

fn parse_request(path: &Path, input: &Value) -> Result<FtwRequest, String> {
    let s = |k: &str, d: &str| {
        input
            .get(k)
            .and_then(as_string)
            .unwrap_or_else(|| d.to_string())
    };
    let mut r = FtwRequest {
        method: s("method", "GET"),
        uri: s("uri", "/"),
        version: s("version", "HTTP/1.1"),
        autocomplete_headers: input
            .get("autocomplete_headers")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        ..Default::default()
    };
    if let Some(Value::Mapping(h)) = input.get("headers") {
        for (k, v) in h {
            let name = as_string(k).ok_or_else(|| err(path, "header name is not a string"))?;
            let value = as_string(v)
                .ok_or_else(|| err(path, format!("header {name}: value is not a string")))?;
            r.headers.push((name, value));
        }
    }
    if let Some(d) = input.get("data") {
        r.body = as_string(d)
            .ok_or_else(|| err(path, "data is not a string"))?
            .into_bytes();
    }
    if let Some(enc) = input.get("encoded_request").and_then(as_string) {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(enc.split_whitespace().collect::<String>())
            .map_err(|e| err(path, format!("encoded_request is not base64: {e}")))?;
        r.encoded_request = Some(raw);
    }
    if r.autocomplete_headers && r.encoded_request.is_none() {
        if r.header("content-length").is_none() && r.header("transfer-encoding").is_none() {
            r.headers
                .push(("Content-Length".into(), r.body.len().to_string()));
        }
        if !r.body.is_empty() && r.header("content-type").is_none() {
            r.headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        if r.header("connection").is_none() {
            r.headers.push(("Connection".into(), "close".into()));
        }
    }
    Ok(r)
}

/// Loads one test file.
pub fn load_file(path: &Path) -> Result<FtwFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| err(path, e))?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| err(path, e))?;
    if doc.is_null() {
        // A file of comments only (CRS keeps some to satisfy its linter).
        return Ok(FtwFile {
            path: path.to_path_buf(),
            tests: Vec::new(),
        });
    }
    let rule_id = doc.get("rule_id").and_then(Value::as_u64).unwrap_or(0) as u32;
    let mut tests = Vec::new();
    let Some(Value::Sequence(list)) = doc.get("tests") else {
        return Err(err(path, "no `tests` list"));
    };
    for (i, t) in list.iter().enumerate() {
        let test_id = t
            .get("test_id")
            .and_then(Value::as_u64)
            .map(|x| x as u32)
            .unwrap_or(i as u32 + 1);
        let desc = t.get("desc").and_then(as_string).unwrap_or_default();
        let mut stages = Vec::new();
        if let Some(Value::Sequence(st)) = t.get("stages") {
            for s in st {
                let s = s.get("stage").unwrap_or(s);
                let input = s
                    .get("input")
                    .ok_or_else(|| err(path, format!("test {test_id}: stage without input")))?;
                let output = s.get("output").cloned().unwrap_or(Value::Null);
                stages.push(Stage {
                    request: parse_request(path, input)?,
                    expect: parse_expect(&output),
                });
            }
        }
        tests.push(FtwTest {
            rule_id,
            test_id,
            desc,
            stages,
        });
    }
    Ok(FtwFile {
        path: path.to_path_buf(),
        tests,
    })
}

/// Loads every `*.yaml` file under `dir`, recursively, sorted by path.
pub fn load_dir(dir: &Path) -> Result<Vec<FtwFile>, String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| err(&d, e))? {
            let p = e.map_err(|e| err(&d, e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files.iter().map(|p| load_file(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_test_file() {
        let dir = std::env::temp_dir().join(format!("ftw-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("1.yaml");
        std::fs::write(
            &f,
            "rule_id: 1\ntests:\n  - test_id: 2\n    stages:\n      - input:\n          method: POST\n          headers:\n            Host: a\n            X-N: 5\n          data: \"a=b\"\n        output:\n          status: [200, 403]\n          log:\n            expect_ids: [1]\n            no_expect_ids: [3]\n",
        )
        .unwrap();
        let file = load_file(&f).unwrap();
        let st = &file.tests[0].stages[0];
        assert_eq!(file.tests[0].test_id, 2);
        assert_eq!(st.request.method, "POST");
        assert_eq!(st.request.headers[1], ("X-N".to_string(), "5".to_string()));
        assert_eq!(st.request.header("content-length"), Some("3"));
        assert_eq!(st.expect.status, vec![200, 403]);
        assert_eq!(st.expect.expect_ids, vec![1]);
        assert_eq!(st.expect.no_expect_ids, vec![3]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
