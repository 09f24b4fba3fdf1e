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
    match flatten(v, max_depth, &mut r.args) {
        Ok(()) => {}
        Err(d) => {
            r.args.clear();
            r.error = Some(format!(
                "JSON depth {d} exceeds SecRequestBodyJsonDepthLimit {max_depth}"
            ));
        }
    }
    r
}

/// Appends the leaves of `v` to `out`, named `json.a.b` / `json.a.0`, in the
/// order of the keys (objects as serde_json keeps them: sorted, the last of
/// duplicate keys). The value is consumed, so strings move without a copy.
/// Err(depth) when objects and arrays nest deeper than `max_depth` (0 for a
/// scalar, 1 for `{"a":1}`): the depth reached, the deepest in the document.
fn flatten(v: Value, max_depth: usize, out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), usize> {
    // Iterative so that hostile nesting cannot overflow the stack.
    let mut stack = vec![(b"json".to_vec(), v, 0usize)];
    let mut too_deep = 0;
    while let Some((name, v, d)) = stack.pop() {
        match v {
            Value::Object(o) => {
                if d + 1 > max_depth {
                    too_deep = too_deep.max(d + 1);
                }
                for (k, child) in o.into_iter().rev() {
                    let mut n = Vec::with_capacity(name.len() + 1 + k.len());
                    n.extend_from_slice(&name);
                    n.push(b'.');
                    n.extend_from_slice(k.as_bytes());
                    stack.push((n, child, d + 1));
                }
            }
            Value::Array(a) => {
                if d + 1 > max_depth {
                    too_deep = too_deep.max(d + 1);
                }
                for (i, child) in a.into_iter().enumerate().rev() {
                    let mut n = name.clone();
                    n.push(b'.');
                    n.extend_from_slice(i.to_string().as_bytes());
                    stack.push((n, child, d + 1));
                }
            }
            Value::String(s) => out.push((name, s.into_bytes())),
            Value::Number(num) => out.push((name, num.to_string().into_bytes())),
            Value::Bool(b) => out.push((
                name,
                if b {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                },
            )),
            Value::Null => out.push((name, Vec::new())),
        }
    }
    if too_deep > 0 { Err(too_deep) } else { Ok(()) }
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
