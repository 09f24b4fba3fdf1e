//! NoSQL (MongoDB) injection: query operators where data was expected, as a
//! JSON key (`{"password": {"$ne": null}}`), in an argument name
//! (`password[$ne]=x`), or inside a value that is itself a JSON object; and
//! server-side JavaScript injection (`'; return true; var x='`): a string
//! closed, a statement separator, then a JavaScript statement.

use super::{CRITICAL, Hit};

/// MongoDB query and update operators (`$` removed).
const OPERATORS: &[&str] = &[
    "ne",
    "eq",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "nin",
    "regex",
    "where",
    "exists",
    "or",
    "and",
    "not",
    "nor",
    "expr",
    "elemmatch",
    "all",
    "size",
    "mod",
    "text",
    "function",
    "accumulator",
    "lookup",
    "match",
    "jsonschema",
    "options",
    "set",
    "unset",
    "push",
    "inc",
    "rename",
    "comment",
];
/// What a JavaScript statement injected after a closed string starts with.
const JS_STATEMENTS: &[&str] = &[
    "return", "var", "let", "const", "function", "while", "for", "if", "this", "sleep", "db",
    "throw", "do", "try",
];

/// Whether a name is a Mongo operator: `$ne`, or bracketed `x[$ne]`.
fn operator_name(name: &str) -> Option<&str> {
    let op = match name.find("[$") {
        Some(i) => name[i + 2..].split(']').next()?,
        None => name.strip_prefix('$')?,
    };
    OPERATORS
        .contains(&op.to_ascii_lowercase().as_str())
        .then_some(op)
}

/// A JSON key or argument name.
pub fn detect_name(name: &str) -> Option<Hit> {
    let op = operator_name(name)?;
    Some(Hit::new(
        "nosql",
        CRITICAL,
        &format!("${op} in name {name}"),
    ))
}

fn operator_key(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Object(m) => m.iter().find_map(|(k, v)| {
            operator_name(k)
                .map(str::to_string)
                .or_else(|| operator_key(v))
        }),
        serde_json::Value::Array(a) => a.iter().find_map(operator_key),
        _ => None,
    }
}

/// `'; return true` / `" || this.x`: a quote, a separator, a JS statement.
fn js_injection(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c != b'\'' && c != b'"' {
            continue;
        }
        let rest = s[i + 1..].trim_start();
        let rest = match rest.strip_prefix(';').or_else(|| rest.strip_prefix("||")) {
            Some(r) => r.trim_start(),
            None => continue,
        };
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let next = rest[word.len()..].chars().next();
        let follows = matches!(next, Some(' ' | '(' | '.' | '{' | ';'));
        if JS_STATEMENTS.contains(&word.as_str()) && follows {
            return Some(i);
        }
    }
    None
}

/// An operator written as an object key outside JSON: `$where: '1 == 1'`,
/// `'$ne': 1` (JavaScript object literals, Mongo shell syntax).
fn operator_label(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('$') {
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'$') {
            continue;
        }
        let len = b[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        let op = &s[i + 1..i + 1 + len];
        let rest = s[i + 1 + len..]
            .trim_start_matches(['\'', '"'])
            .trim_start();
        if len > 0 && rest.starts_with(':') && OPERATORS.contains(&op.to_ascii_lowercase().as_str())
        {
            return Some(op);
        }
    }
    None
}

/// A value: a JSON object holding operators, or JavaScript injection.
pub fn detect_value(s: &str) -> Option<Hit> {
    let t = s.trim();
    if t.starts_with('{')
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(t)
        && let Some(op) = operator_key(&v)
    {
        return Some(Hit::new("nosql", CRITICAL, &format!("${op} in {t}")));
    }
    if let Some(op) = operator_label(s) {
        return Some(Hit::new("nosql", CRITICAL, &format!("${op}: in {s}")));
    }
    if let Some(i) = js_injection(s) {
        return Some(Hit::new(
            "nosql",
            CRITICAL,
            &format!("javascript: {}", &s[i..]),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_javascript() {
        for s in [
            r#"{"$ne": null}"#,
            r#"{"$gt": ""}"#,
            r#"{"$where": "this.password.length > 0"}"#,
            r#"{"user": {"$in": ["admin"]}}"#,
            "'; return true; var x='",
            "\" || this.role == 'admin'",
            "true, $where: '1 == 1'",
        ] {
            assert!(detect_value(s).is_some(), "{s}");
        }
        for n in ["$ne", "password[$ne]", "$regex", "user[$exists]"] {
            assert!(detect_name(n).is_some(), "{n}");
        }
    }

    #[test]
    fn ordinary_json_and_text_are_not() {
        for s in [
            r##"{"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "#/a"}"##,
            r#"{"first": 10, "after": null}"#,
            "query Payments($first: Int!, $after: String) { payments { id } }",
            "It's done; return it tomorrow if you can",
            "costs $5: cheap (USD)",
            "Our admin said: \"insert the key into the config, then restart\". Which config file?",
        ] {
            assert_eq!(detect_value(s), None, "{s}");
        }
        for n in ["$schema", "$ref", "price", "filter[currency]", "$first"] {
            assert_eq!(detect_name(n), None, "{n}");
        }
    }
}
