//! `application/json`: flattened into arguments named the way
//! ModSecurity/Coraza name them: `json.a.b` for objects, `json.a.0` for array
//! items; leaves are strings as written, numbers, `true`/`false`, and `""` for null.

use super::BodyResult;
use serde_json::Value;

/// Deepest nesting accepted before the body is reported as an error
/// (serde_json's own limit is 128).
pub const MAX_DEPTH: usize = 128;

/// Parses and flattens a JSON body.
pub fn parse(body: &[u8]) -> BodyResult {
    let mut r = BodyResult::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let v: Value = match serde::Deserialize::deserialize(&mut de).and_then(|v| de.end().map(|_| v))
    {
        Ok(v) => v,
        Err(e) => {
            r.error = Some(format!("JSON parsing error: {e}"));
            return r;
        }
    };
    if depth(&v) > MAX_DEPTH {
        r.error = Some(format!("JSON nesting deeper than {MAX_DEPTH}"));
        return r;
    }
    flatten(b"json".to_vec(), &v, &mut r.args);
    r
}

fn depth(v: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

fn flatten(prefix: Vec<u8>, v: &Value, out: &mut Vec<(Vec<u8>, Vec<u8>)>) {
    // Iterative so that hostile nesting cannot overflow the stack.
    let mut stack = vec![(prefix, v)];
    while let Some((name, v)) = stack.pop() {
        match v {
            Value::Object(o) => {
                for (k, child) in o.iter().rev() {
                    let mut n = name.clone();
                    n.push(b'.');
                    n.extend_from_slice(k.as_bytes());
                    stack.push((n, child));
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate().rev() {
                    let mut n = name.clone();
                    n.push(b'.');
                    n.extend_from_slice(i.to_string().as_bytes());
                    stack.push((n, child));
                }
            }
            Value::String(s) => out.push((name, s.as_bytes().to_vec())),
            Value::Number(num) => out.push((name, num.to_string().into_bytes())),
            Value::Bool(b) => out.push((
                name,
                if *b {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                },
            )),
            Value::Null => out.push((name, Vec::new())),
        }
    }
}
