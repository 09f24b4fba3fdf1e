//! Body readers: JSON, XML, multipart, GraphQL and raw text in chunks.

use crate::detectors::Kind;
use crate::targets::Item;
use serde_json::Value;

/// Bytes shared by two consecutive raw chunks, so that a payload across a
/// chunk boundary is seen whole in one of them.
const OVERLAP: usize = 512;
/// JSON nesting followed (deeper values are still read, as raw text).
const MAX_DEPTH: usize = 64;

/// The largest char boundary of `s` at or below `i`.
fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `text` in chunks of `chunk` bytes overlapping by [`OVERLAP`].
pub fn raw(text: &str, location: &str, kind: Kind, chunk: usize, out: &mut Vec<Item>) {
    if text.len() <= chunk {
        out.push(Item::new(location, text, kind));
        return;
    }
    let mut start = 0;
    let mut n = 0;
    while start < text.len() {
        let end = floor(text, start + chunk);
        let end = if end <= start { text.len() } else { end };
        out.push(Item::new(
            format!("{location}[chunk {n}]"),
            &text[start..end],
            kind,
        ));
        if end == text.len() {
            break;
        }
        start = floor(text, end.saturating_sub(OVERLAP)).max(start + 1);
        n += 1;
    }
}

/// A JSON body: string leaves as values, keys as names; a member `query`
/// holding a GraphQL document gives its literals. `false` when the text is
/// not JSON.
pub fn json(text: &str, out: &mut Vec<Item>) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    walk(&v, "json:", 0, out);
    true
}

fn walk(v: &Value, at: &str, depth: usize, out: &mut Vec<Item>) {
    match v {
        Value::String(s) => {
            let key = at.rsplit(['.', ':']).next().unwrap_or("");
            if key == "query" && looks_like_graphql(s) {
                graphql_literals(s, at, out);
            } else {
                out.push(Item::new(at, s.as_str(), Kind::Value));
            }
        }
        Value::Object(m) if depth < MAX_DEPTH => {
            for (k, v) in m {
                out.push(Item::new(
                    format!("{}:key", at.trim_end_matches(':')),
                    k.as_str(),
                    Kind::Name,
                ));
                let child = if at.ends_with(':') {
                    format!("{at}{k}")
                } else {
                    format!("{at}.{k}")
                };
                walk(v, &child, depth + 1, out);
            }
        }
        Value::Array(a) if depth < MAX_DEPTH => {
            for v in a {
                walk(v, at, depth + 1, out);
            }
        }
        Value::Object(_) | Value::Array(_) => {
            out.push(Item::new(at, v.to_string(), Kind::Value));
        }
        _ => {}
    }
}

/// A GraphQL document (not a value that merely says "query").
fn looks_like_graphql(s: &str) -> bool {
    let t = s.trim_start();
    let op = ["query", "mutation", "subscription", "fragment"]
        .iter()
        .any(|k| t.starts_with(k) && t[k.len()..].starts_with([' ', '(', '{', '\n', '\t']));
    (op || t.starts_with('{')) && t.contains('{') && t.contains('}')
}

/// A GraphQL request body (`application/graphql`).
pub fn graphql(text: &str, location: &str, out: &mut Vec<Item>) {
    if looks_like_graphql(text) {
        graphql_literals(text, location, out);
    } else {
        out.push(Item::new(location, text, Kind::Value));
    }
}

/// The string literals of a GraphQL document (`"..."`, `"""..."""`): the
/// data in it. Its syntax (`$variables`, braces, names) is code.
fn graphql_literals(doc: &str, at: &str, out: &mut Vec<Item>) {
    let b = doc.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'#' {
            // A comment, to the end of the line.
            i = doc[i..].find('\n').map_or(b.len(), |p| i + p);
            continue;
        }
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let block = doc[i..].starts_with("\"\"\"");
        let open = if block { 3 } else { 1 };
        let start = i + open;
        let mut j = start;
        while j < b.len() {
            if b[j] == b'\\' {
                j += 2;
                continue;
            }
            if (block && doc[j..].starts_with("\"\"\"")) || (!block && b[j] == b'"') {
                break;
            }
            j += 1;
        }
        let end = j.min(b.len());
        out.push(Item::new(
            format!("{at}:literal"),
            &doc[start..end],
            Kind::Value,
        ));
        i = end + open;
    }
}

/// XML text nodes, CDATA sections and attribute values.
pub fn xml(text: &str, at: &str, out: &mut Vec<Item>) {
    let mut rest = text;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(rest, at, out);
            break;
        };
        push_text(&rest[..lt], at, out);
        rest = &rest[lt..];
        let (close, inner) = if rest.starts_with("<![CDATA[") {
            ("]]>", true)
        } else if rest.starts_with("<!--") {
            ("-->", false)
        } else {
            (">", false)
        };
        let end = rest.find(close).map_or(rest.len(), |p| p + close.len());
        if inner {
            let body = &rest[9..end.saturating_sub(3).max(9)];
            out.push(Item::new(format!("{at}:cdata"), body, Kind::Value));
        } else if !rest.starts_with("<!") && !rest.starts_with("<?") {
            attribute_values(&rest[..end], at, out);
        }
        rest = &rest[end..];
    }
}

fn push_text(t: &str, at: &str, out: &mut Vec<Item>) {
    if !t.trim().is_empty() {
        out.push(Item::new(format!("{at}:text"), t.trim(), Kind::Value));
    }
}

fn attribute_values(tag: &str, at: &str, out: &mut Vec<Item>) {
    let mut parts = tag.split(['"', '\'']);
    parts.next();
    for (i, v) in parts.enumerate() {
        if i % 2 == 0 && !v.is_empty() {
            out.push(Item::new(format!("{at}:attribute"), v, Kind::Value));
        }
    }
}

/// A multipart/form-data body: fields as values, files as documents (and
/// their text as values when they are text).
pub fn multipart(body: &[u8], content_type: &str, chunk: usize, out: &mut Vec<Item>) {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string());
    let text = String::from_utf8_lossy(body);
    let Some(boundary) = boundary.filter(|b| !b.is_empty()) else {
        raw(&text, "REQUEST_BODY", Kind::Value, chunk, out);
        return;
    };
    let delimiter = format!("--{boundary}");
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part
            .strip_prefix("\r\n")
            .or_else(|| part.strip_prefix('\n'))
            .unwrap_or(part);
        let (head, content) = match part.find("\r\n\r\n") {
            Some(p) => (&part[..p], &part[p + 4..]),
            None => match part.find("\n\n") {
                Some(p) => (&part[..p], &part[p + 2..]),
                None => (part, ""),
            },
        };
        let content = content
            .strip_suffix("\r\n")
            .or_else(|| content.strip_suffix('\n'))
            .unwrap_or(content);
        one_part(head, content, chunk, out);
    }
}

fn one_part(head: &str, content: &str, chunk: usize, out: &mut Vec<Item>) {
    let param = |key: &str| {
        head.split([';', '\n'])
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
    };
    let name = param("name").unwrap_or_default();
    out.push(Item::new(
        format!("MULTIPART_NAME:{name}"),
        name.clone(),
        Kind::Name,
    ));
    let Some(filename) = param("filename") else {
        out.push(Item::new(format!("ARGS:{name}"), content, Kind::Value));
        return;
    };
    out.push(Item::new("FILES_NAMES", filename.clone(), Kind::Value));
    let at = format!("FILES:{name}");
    raw(content, &at, Kind::Document, chunk, out);
    let lower = head.to_ascii_lowercase();
    if lower.contains("xml") || filename.to_ascii_lowercase().ends_with(".xml") {
        xml(content, &at, out);
    } else if lower.contains("content-type: text/") {
        raw(content, &at, Kind::Value, chunk, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(out: &[Item]) -> Vec<&str> {
        out.iter().map(|i| i.text.as_str()).collect()
    }

    #[test]
    fn chunks_overlap_and_cover_everything() {
        let text: String = (0..10_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let mut out = Vec::new();
        raw(&text, "b", Kind::Value, 2048, &mut out);
        assert!(out.len() >= 5);
        assert!(out.iter().all(|i| i.text.len() <= 2048));
        assert!(out.last().unwrap().text.ends_with(&text[text.len() - 10..]));
        let payload = "<script>alert(1)</script>";
        let text = format!("{}{payload}", "x".repeat(2040));
        let mut out = Vec::new();
        raw(&text, "b", Kind::Value, 2048, &mut out);
        assert!(out.iter().any(|i| i.text.contains(payload)));
    }

    #[test]
    fn graphql_documents_give_their_literals() {
        let mut out = Vec::new();
        let doc = r#"query Q($id: ID!) { a(id: $id, term: "x' OR 1=1") { b } } # "not this""#;
        assert!(json(
            &format!("{{\"query\": {}}}", serde_json::to_string(doc).unwrap()),
            &mut out
        ));
        assert_eq!(texts(&out), vec!["query", "x' OR 1=1"]);
    }

    #[test]
    fn xml_text_attributes_and_cdata() {
        let mut out = Vec::new();
        xml(
            r#"<?xml version="1.0"?><a k="v1"><b>t &lt;x&gt;</b><![CDATA[<c>]]><!-- no --></a>"#,
            "XML",
            &mut out,
        );
        assert_eq!(texts(&out), vec!["v1", "t &lt;x&gt;", "<c>"]);
    }

    #[test]
    fn multipart_fields_and_files() {
        let body = "--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n\
                    --B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.xml\"\r\n\
                    Content-Type: application/xml\r\n\r\n<r>x</r>\r\n--B--\r\n";
        let mut out = Vec::new();
        multipart(
            body.as_bytes(),
            "multipart/form-data; boundary=B",
            4096,
            &mut out,
        );
        let t = texts(&out);
        assert!(
            t.contains(&"hello")
                && t.contains(&"<r>x</r>")
                && t.contains(&"x")
                && t.contains(&"a.xml"),
            "{t:?}"
        );
    }
}
