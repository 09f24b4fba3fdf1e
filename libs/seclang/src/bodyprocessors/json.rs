//! `application/json`: flattened into arguments named the way
//! ModSecurity/Coraza name them: `json.a.b` for objects, `json.a.0` for array
//! items; leaves are strings as written, numbers, `true`/`false`, and `""` for null.

use super::BodyResult;
use serde_json::Value;

/// The deepest nesting of objects and arrays the parser accepts (serde_json
/// stops at 128): the default and the largest `SecRequestBodyJsonDepthLimit`.
pub(crate) const MAX_DEPTH: usize = 127;

/// Parses and flattens a JSON body, nesting up to [`MAX_DEPTH`].
#[cfg(test)]
pub(crate) fn parse(body: &[u8]) -> BodyResult {
    parse_with_depth(body, MAX_DEPTH)
}

/// Parses and flattens a JSON body; objects and arrays nested deeper than
/// `max_depth` (`SecRequestBodyJsonDepthLimit`) make it an error.
pub(crate) fn parse_with_depth(body: &[u8], max_depth: usize) -> BodyResult {
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
    let d = depth(&v);
    if d > max_depth {
        r.error = Some(format!(
            "JSON depth {d} exceeds SecRequestBodyJsonDepthLimit {max_depth}"
        ));
        return r;
    }
    flatten(b"json".to_vec(), &v, &mut r.args);
    r
}

/// How deep objects and arrays nest: 0 for a scalar, 1 for `{"a":1}`.
fn depth(v: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(a) => {
                max = max.max(d + 1);
                stack.extend(a.iter().map(|x| (x, d + 1)));
            }
            Value::Object(o) => {
                max = max.max(d + 1);
                stack.extend(o.values().map(|x| (x, d + 1)));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> Vec<u8> {
        format!("{}1{}", "[".repeat(n), "]".repeat(n)).into_bytes()
    }

    #[test]
    fn depth_counts_objects_and_arrays() {
        assert_eq!(parse_with_depth(b"1", 0).error, None);
        assert_eq!(parse_with_depth(br#"{"a":1}"#, 1).error, None);
        assert!(parse_with_depth(br#"{"a":[1]}"#, 1).error.is_some());
    }

    #[test]
    fn depth_limit_is_enforced_at_the_configured_value() {
        let ok = parse_with_depth(&nested(3), 3);
        assert_eq!((ok.error, ok.args.len()), (None, 1));
        let over = parse_with_depth(&nested(4), 3);
        assert_eq!(
            over.error.as_deref(),
            Some("JSON depth 4 exceeds SecRequestBodyJsonDepthLimit 3")
        );
        assert!(
            over.args.is_empty(),
            "no argument from a body over the limit"
        );
    }

    #[test]
    fn default_depth_is_the_parsers_bound() {
        assert_eq!(parse(&nested(MAX_DEPTH)).error, None);
        assert!(parse(&nested(MAX_DEPTH + 1)).error.is_some());
    }
}
