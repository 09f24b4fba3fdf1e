//! SQL injection (libinjection's tokenizer and fingerprints) and cross-site
//! scripting (an HTML tag tokenizer, with libinjection's XSS check for what
//! is not markup).
//!
//! Rich text is markup on purpose, so a tag alone is not XSS here: a tag is
//! when it runs script (`<script>`, `<iframe>`, `<object>`, ...), carries an
//! event handler (`onerror=`), or points a URL attribute at a script scheme
//! (`href="javascript:..."`). libinjection flags any `style` attribute, so its
//! verdict is only taken for values with no well-formed tag in them.

use super::{CRITICAL, Hit};
use seclang::injection::{detect_sqli, detect_xss};

/// SQL injection: libinjection's fingerprint of the value, or a `UNION
/// [ALL|DISTINCT] SELECT` keyword sequence (words split on anything but
/// letters, so `/**/` and `%0a` between them do not matter).
pub fn sqli(s: &str) -> Option<Hit> {
    if let Some(fp) = detect_sqli(s.as_bytes()) {
        return Some(Hit::new(
            "sqli",
            CRITICAL,
            &format!("fingerprint {fp}: {s}"),
        ));
    }
    let words: Vec<String> = s
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let next_is_select = |i: usize| {
        let w = |j: usize| words.get(j).map_or("", String::as_str);
        w(i + 1) == "select" || (matches!(w(i + 1), "all" | "distinct") && w(i + 2) == "select")
    };
    let union_select = (0..words.len()).any(|i| words[i] == "union" && next_is_select(i));
    union_select.then(|| Hit::new("sqli", CRITICAL, &format!("union select: {s}")))
}

/// Tags that run script or load a document whatever their attributes.
const ACTIVE_TAGS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "import",
    "xss", "vmlframe", "isindex",
];
/// Attributes whose value is a URL the browser may load or run.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "xlink:href",
    "background",
    "poster",
    "lowsrc",
    "dynsrc",
    "codebase",
    "srcdoc",
    "to",
    "from",
    "values",
    "by",
];

/// Whether a URL (entity-decoded already) uses a scheme that runs script.
fn script_url(v: &str) -> bool {
    let compact: String = v
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    let compact = compact.trim_start_matches(['"', '\'', '`']);
    [
        "javascript:",
        "vbscript:",
        "livescript:",
        "data:text/html",
        "data:image/svg",
        "data:application/",
    ]
    .iter()
    .any(|p| compact.starts_with(p))
}

/// One tag's verdict: `Some(reason)` when it is active.
fn tag_verdict(name: &str, attrs: &[(String, String)]) -> Option<String> {
    if ACTIVE_TAGS.contains(&name) {
        return Some(format!("<{name}>"));
    }
    for (k, v) in attrs {
        if k.len() > 2 && k.starts_with("on") && k[2..].bytes().all(|c| c.is_ascii_alphabetic()) {
            return Some(format!("<{name} {k}=>"));
        }
        if (URL_ATTRS.contains(&k.as_str()) && script_url(v)) || k == "srcdoc" {
            return Some(format!("<{name} {k}={v}>"));
        }
        let lv = v.to_ascii_lowercase();
        if k == "style"
            && ["expression(", "javascript:", "behavior:", "-moz-binding"]
                .iter()
                .any(|p| lv.contains(p))
        {
            return Some(format!("<{name} style={v}>"));
        }
    }
    None
}

/// A tag's attributes from the text after its name, up to `>` or the end.
/// Returns the attributes and the bytes read.
fn attributes(rest: &str) -> (Vec<(String, String)>, usize) {
    let b = rest.as_bytes();
    let mut attrs = Vec::new();
    let mut i = 0;
    while i < b.len() && b[i] != b'>' {
        if b[i].is_ascii_whitespace() || b[i] == b'/' || b[i] == b'"' || b[i] == b'\'' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !b"=>/ \t\r\n\x0c".contains(&b[i]) {
            i += 1;
        }
        let name = rest[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let (v, used) = attr_value(&rest[i..]);
            value = v;
            i += used;
        }
        attrs.push((name, value));
    }
    (attrs, i)
}

fn attr_value(rest: &str) -> (String, usize) {
    let b = rest.as_bytes();
    match b.first() {
        Some(&q @ (b'"' | b'\'' | b'`')) => match b[1..].iter().position(|&c| c == q) {
            Some(end) => (rest[1..1 + end].to_string(), end + 2),
            None => (rest[1..].to_string(), rest.len()),
        },
        _ => {
            let end = b
                .iter()
                .position(|c| c.is_ascii_whitespace() || *c == b'>')
                .unwrap_or(b.len());
            (rest[..end].to_string(), end)
        }
    }
}

/// Tokenises `s` as HTML: the first active tag, and whether any tag was seen.
fn scan_tags(s: &str) -> (Option<String>, bool) {
    let mut seen = false;
    let mut i = 0;
    while let Some(p) = s[i..].find('<') {
        let at = i + p + 1;
        let rest = &s[at..];
        let name_len = rest
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b':' || *c == b'-')
            .count();
        if name_len == 0 || !rest.as_bytes()[0].is_ascii_alphabetic() {
            i = at;
            continue;
        }
        let name = rest[..name_len].to_ascii_lowercase();
        let name = name.rsplit(':').next().unwrap_or("").to_string();
        let (attrs, used) = attributes(&rest[name_len..]);
        let closed = rest.as_bytes().get(name_len + used) == Some(&b'>');
        seen |= closed;
        if let Some(reason) = tag_verdict(&name, &attrs) {
            return (Some(reason), seen);
        }
        i = at + name_len + used;
    }
    (None, seen)
}

/// An attribute breakout without a tag: `" onmouseover=alert(1)`.
fn breakout(s: &str) -> Option<String> {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c != b'"' && c != b'\'' {
            continue;
        }
        let rest = &s[i + 1..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\n', '\r', '/']);
        if trimmed.len() == rest.len() {
            continue;
        }
        let (attrs, _) = attributes(trimmed);
        if let Some((k, _)) = attrs.first()
            && k.len() > 2
            && k.starts_with("on")
            && trimmed[k.len()..].trim_start().starts_with('=')
        {
            return Some(format!("{} {k}=", c as char));
        }
    }
    None
}

/// Cross-site scripting.
pub fn xss(s: &str) -> Option<Hit> {
    if script_url(s.trim()) {
        return Some(Hit::new("xss", CRITICAL, s));
    }
    let (active, seen_tag) = scan_tags(s);
    if let Some(reason) = active.or_else(|| breakout(s)) {
        return Some(Hit::new("xss", CRITICAL, &format!("{reason} in {s}")));
    }
    if !seen_tag && detect_xss(s.as_bytes()) {
        return Some(Hit::new("xss", CRITICAL, &format!("libinjection: {s}")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqli_positive_and_negative() {
        for s in [
            "1' OR '1'='1",
            "1 UNION SELECT username, password FROM users--",
            "admin'--",
            "1 AND SLEEP(5)",
            "-1/**/UNION/**/ALL/**/SELECT/**/1,2",
        ] {
            assert!(sqli(s).is_some(), "{s}");
        }
        for s in [
            "Zoë O'Brien",
            "Please select the account and update the billing address, we moved. Thanks!",
            "O'Reilly books",
            "union square hotel, select comfort mattress",
            "Order #1234 (2 x 'Deluxe' plan) was charged twice",
        ] {
            assert_eq!(sqli(s), None, "{s}");
        }
    }

    #[test]
    fn xss_positive() {
        for s in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(document.domain)>",
            "<svg/onload=confirm(1)>",
            "javascript:alert(1)",
            "\"><iframe src=javascript:alert(1)>",
            "<a href=\"jav\tascript:fetch(1)\">x</a>",
            "<details open ontoggle=alert(1)>",
            "x\" onmouseover=\"alert(1)",
            "<x:script>alert(1)</x:script>",
            "<div style=\"width: expression(alert(1))\">",
        ] {
            assert!(xss(s).is_some(), "{s}");
        }
    }

    #[test]
    fn rich_text_is_not_xss() {
        for s in [
            "<p>Thanks for the <strong>quick</strong> reply!</p><p>See <a href=\"https://example.com/docs\">the docs</a>.</p>",
            "<p>Logo:</p><img src=\"https://cdn.example.com/logo.png\" alt=\"logo\" width=\"120\">",
            "<blockquote>Works great</blockquote><p style=\"color:#333\">Regards, Team</p>",
            "a < b and c > d",
            "I'd like to know if the \"online\" option works",
            "query Payments($first: Int!) { payments(first: $first) { id } }",
        ] {
            assert_eq!(xss(s), None, "{s}");
        }
    }
}
