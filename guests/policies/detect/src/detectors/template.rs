//! Server-side template injection and server-side includes.
//!
//! SSTI: an expression in a template delimiter (`{{ }}`, `${ }`, `#{ }`,
//! `*{ }`, `<%= %>`, `{% %}`) that computes something: an operator between
//! operands (`7*7`), a call (`x.y(`), a dunder attribute (`__class__`), a
//! type reference (`T(java.lang.Runtime)`), or a statement (`{% for %}`). A
//! plain placeholder (`{{name}}`, `${user.id}`) is what templates are for
//! and is not flagged. SSI: an include directive `<!--#name`.

use super::{CRITICAL, Hit};

/// Delimiters: (open, close).
const DELIMITERS: &[(&str, &str)] = &[
    ("{{", "}}"),
    ("${", "}"),
    ("#{", "}"),
    ("*{", "}"),
    ("@{", "}"),
    ("<%", "%>"),
    ("{%", "%}"),
    ("[[", "]]"),
    ("%{", "}"),
    ("@(", ")"),
    ("#set(", ")"),
    ("#evaluate(", ")"),
    ("<?php", "?>"),
    ("<?=", "?>"),
];
/// Whether the operator at `at` has a number literal on both sides (`7*7`,
/// `7*'7'`): a probe. Arithmetic on variables (`subtotal + shipping`) is
/// what templates do.
fn literal_operands(e: &str, at: usize) -> bool {
    let number = |t: &str| {
        let t = t.trim().trim_matches(['\'', '"']);
        !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit() || c == b'.')
    };
    let stop = |c: char| !(c.is_ascii_alphanumeric() || matches!(c, '\'' | '"' | '.' | ' '));
    let left = e[..at].rsplit(stop).next().unwrap_or("");
    let right = e[at + 1..].split(stop).next().unwrap_or("");
    number(left) && number(right)
}

/// Whether an expression computes rather than names a value.
fn computes(expr: &str) -> Option<&'static str> {
    let e = expr.trim().trim_start_matches(['=', '-', '+', '#']).trim();
    if e.is_empty() {
        return None;
    }
    if e.contains("__") {
        return Some("dunder attribute");
    }
    let b = e.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| b[j]);
        match c {
            b'*' | b'/' | b'%' | b'+' | b'-' | b'^' if literal_operands(e, i) => {
                return Some("arithmetic on literals");
            }
            b'(' if prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == b'_') => {
                return Some("call");
            }
            b'\'' | b'"' if i == 0 => return Some("literal"),
            _ => {}
        }
    }
    None
}

/// Python code reaching for a module by a dunder call with a string
/// argument: `__import__('os')`, `__getattribute__("x")`.
fn dunder_call(s: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(p) = s[from..].find("__") {
        let start = from + p;
        let name_len = s[start + 2..]
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let end = start + 2 + name_len;
        if name_len > 0
            && s[end..].starts_with("__(")
            && s[end + 3..].trim_start().starts_with(['\'', '"'])
        {
            return Some(&s[start..end + 2]);
        }
        from = start + 2;
    }
    None
}

/// Server-side template (and code) injection.
pub fn ssti(s: &str) -> Option<Hit> {
    if let Some(call) = dunder_call(s) {
        return Some(Hit::new("ssti", CRITICAL, &format!("{call}(...) in {s}")));
    }
    for (open, close) in DELIMITERS {
        let mut from = 0;
        while let Some(p) = s[from..].find(open) {
            let start = from + p + open.len();
            let Some(len) = s[start..].find(close) else {
                break;
            };
            let expr = &s[start..start + len];
            if let Some(why) = computes(expr) {
                let ev = format!("{open}{expr}{close} ({why})");
                return Some(Hit::new("ssti", CRITICAL, &ev));
            }
            from = start;
        }
    }
    None
}

/// Server-side includes: `<!--#exec`, `<!--#include`, ... (any directive).
pub fn ssi(s: &str) -> Option<Hit> {
    let mut from = 0;
    while let Some(p) = s[from..].find("<!--#") {
        let at = from + p + 5;
        let name: String = s[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if name.len() >= 2 {
            return Some(Hit::new("ssi", CRITICAL, &s[at - 5..]));
        }
        from = at;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_expressions_are_found() {
        for s in [
            "{{7*7}}",
            "${7*7}",
            "{{config.__class__.__init__.__globals__['os'].popen('id').read()}}",
            "<%= 7*7 %>",
            "#{7*7}",
            "{{''.__class__.__mro__[1].__subclasses__()}}",
            "{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}",
            "${T(java.lang.Runtime).getRuntime().exec('id')}",
            "${''.getClass().forName('java.lang.Runtime')}",
            "*{7*7}",
            "{{ range.constructor(\"return process\")() }}",
            "%{(#a=@java.lang.Runtime@getRuntime().exec('id'))}",
            "#set($x=7*7)$x",
            "@(7*7)",
            "{{7*'7'}}",
            "<?php system('id'); ?>",
            "debug?code=__import__('os').system('id')",
        ] {
            assert!(ssti(s).is_some(), "{s}");
        }
    }

    #[test]
    fn placeholders_and_code_are_not() {
        for s in [
            "Hello {{name}}, your order {{ order.id }} shipped",
            "${first}",
            "query Payments($first: Int!) { payments(first: $first) { edges { node { id } } } }",
            "{\"a\": {\"b\": 1}}",
            "price: ${amount} USD",
            "size 10-12 {{ sku }}",
            "{% if customer.vip %}Thanks!{% endif %}",
            "Total: {{ subtotal + shipping }} ({{ items | size }} items)",
            "mail me@(home) please",
            "my __init__.py file has def __init__(self):",
        ] {
            assert_eq!(ssti(s), None, "{s}");
        }
    }

    #[test]
    fn ssi_directives() {
        assert!(ssi("<!--#exec cmd=\"id\" -->").is_some());
        assert!(ssi("x<!--#include virtual=\"/etc/passwd\" -->").is_some());
        assert!(ssi("<!--#printenv -->").is_some());
        assert_eq!(ssi("<!-- #1 comment -->"), None);
        assert_eq!(ssi("<!--# -->"), None);
    }
}
