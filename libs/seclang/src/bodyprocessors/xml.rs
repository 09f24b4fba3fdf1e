//! `text/xml` / `application/xml`: every text node becomes a value of `XML:/*`
//! and every attribute value a value of `XML://@*` (the two forms CRS uses).
//! Other XPath selectors are evaluated by [`select`] over the element tree
//! kept in [`XmlElement`]s. Internal DTD entities are expanded by the parser;
//! external entities are never fetched.

use super::BodyResult;

/// Parses an XML body.
pub fn parse(body: &[u8]) -> BodyResult {
    let mut r = BodyResult::default();
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(_) => {
            r.error = Some("XML parsing error: body is not UTF-8".into());
            return r;
        }
    };
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = match roxmltree::Document::parse_with_options(text, opts) {
        Ok(d) => d,
        Err(e) => {
            r.error = Some(format!("XML parsing error: {e}"));
            return r;
        }
    };
    // Flat element list (parent links, document order): memory stays linear
    // in the body size whatever the nesting.
    let mut index = std::collections::HashMap::new();
    for node in doc.root_element().descendants().filter(|n| n.is_element()) {
        let parent = node
            .parent_element()
            .and_then(|p| index.get(&p.id()).copied());
        let depth = parent.map_or(1, |p: usize| r.xml_elements[p].depth + 1);
        if depth > MAX_DEPTH {
            r.error = Some(format!(
                "XML parsing error: nesting deeper than {MAX_DEPTH}"
            ));
            r.xml_elements.clear();
            return r;
        }
        index.insert(node.id(), r.xml_elements.len());
        let text: Vec<u8> = node
            .children()
            .filter(|c| c.is_text())
            .filter_map(|c| c.text())
            .flat_map(|t| t.bytes())
            .collect();
        let attrs = node
            .attributes()
            .map(|a| (a.name().to_string(), a.value().as_bytes().to_vec()))
            .collect();
        r.xml_elements.push(XmlElement {
            name: node.tag_name().name().to_string(),
            parent,
            depth,
            text,
            attrs,
        });
    }
    for node in doc.descendants() {
        if node.is_text() {
            if let Some(t) = node.text()
                && !t.trim().is_empty()
            {
                r.xml_text.push(t.as_bytes().to_vec());
            }
        } else if node.is_element() {
            for a in node.attributes() {
                r.xml_attrs.push(a.value().as_bytes().to_vec());
            }
        }
    }
    r
}

/// Deepest element nesting accepted (libxml2's default limit).
pub(crate) const MAX_DEPTH: usize = 256;

/// One element of a parsed XML body, for XPath selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlElement {
    /// Local name.
    pub name: String,
    /// Index of the parent element (`None` for the root).
    pub parent: Option<usize>,
    /// 1 for the root.
    pub depth: usize,
    /// Its direct text children, concatenated (`text()`).
    pub text: Vec<u8>,
    /// Attributes (local name, value).
    pub attrs: Vec<(String, Vec<u8>)>,
}

fn path_of(elements: &[XmlElement], mut i: usize) -> Vec<&str> {
    let mut p = vec![elements[i].name.as_str()];
    while let Some(up) = elements[i].parent {
        p.push(elements[up].name.as_str());
        i = up;
    }
    p.reverse();
    p
}

/// The XPath string-value: all descendant text in document order (elements
/// are stored in document order, so descendants follow their ancestor).
fn string_value(elements: &[XmlElement], i: usize) -> Vec<u8> {
    let mut out = elements[i].text.clone();
    let d = elements[i].depth;
    for e in elements[i + 1..].iter().take_while(|e| e.depth > d) {
        out.extend_from_slice(&e.text);
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    descendant: bool,
    name: String,
}

fn steps_match(steps: &[Step], path: &[&str]) -> bool {
    let Some((first, rest)) = steps.split_first() else {
        return path.is_empty();
    };
    let name_ok = |n: &str| first.name == "*" || first.name == n;
    if first.descendant {
        (0..path.len()).any(|skip| name_ok(path[skip]) && steps_match(rest, &path[skip + 1..]))
    } else {
        !path.is_empty() && name_ok(path[0]) && steps_match(rest, &path[1..])
    }
}

/// Evaluates the XPath subset SecLang rules use: absolute paths of element
/// names or `*` with `/` and `//` steps, ending in an element (its
/// string-value), `text()`, `@name` or `@*`. Returns `None` for expressions
/// outside that subset.
pub fn select(elements: &[XmlElement], xpath: &str) -> Option<Vec<Vec<u8>>> {
    if !xpath.starts_with('/') {
        return None;
    }
    let mut steps = Vec::new();
    let mut rest = xpath;
    while !rest.is_empty() {
        let descendant = rest.starts_with("//");
        rest = rest.strip_prefix(if descendant { "//" } else { "/" })?;
        let end = rest.find('/').unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty()
            || !(name == "*"
                || name == "text()"
                || name.starts_with('@')
                || name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_.:".contains(c)))
        {
            return None;
        }
        steps.push(Step {
            descendant,
            name: name.to_string(),
        });
        rest = &rest[end..];
    }
    let last = steps.pop()?;
    let mut out = Vec::new();
    if let Some(attr) = last.name.strip_prefix('@') {
        for (i, e) in elements.iter().enumerate() {
            let path = path_of(elements, i);
            let owner_ok = if last.descendant {
                // `.../@a` on the element or any descendant of a match.
                steps.is_empty() || (1..=path.len()).any(|k| steps_match(&steps, &path[..k]))
            } else {
                steps_match(&steps, &path)
            };
            if owner_ok {
                out.extend(
                    e.attrs
                        .iter()
                        .filter(|(n, _)| attr == "*" || n == attr)
                        .map(|(_, v)| v.clone()),
                );
            }
        }
    } else if last.name == "text()" {
        for (i, e) in elements.iter().enumerate() {
            if steps_match(&steps, &path_of(elements, i)) {
                out.push(e.text.clone());
            }
        }
    } else {
        steps.push(last);
        for i in 0..elements.len() {
            if steps_match(&steps, &path_of(elements, i)) {
                out.push(string_value(elements, i));
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xpath_subset() {
        let r = parse(b"<r a=\"1\"><item id=\"x\"><name>n1</name></item><item id=\"y\"><name>n2<b>!</b></name></item></r>");
        let e = &r.xml_elements;
        let s = |x: &str| {
            select(e, x)
                .unwrap()
                .into_iter()
                .map(|v| String::from_utf8(v).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(s("/r/item/name"), vec!["n1", "n2!"]);
        assert_eq!(s("//name/text()"), vec!["n1", "n2"]);
        assert_eq!(s("//item/@id"), vec!["x", "y"]);
        assert_eq!(s("//@*"), vec!["1", "x", "y"]);
        assert_eq!(s("/r/@a"), vec!["1"]);
        assert_eq!(s("/*"), vec!["n1n2!"]);
        assert_eq!(s("//b"), vec!["!"]);
        assert_eq!(s("/r//@id"), vec!["x", "y"]);
        assert!(select(e, "count(//a)").is_none());
        let deep = format!(
            "{}x{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        let r = parse(deep.as_bytes());
        assert!(r.error.is_some() && r.xml_elements.is_empty());
    }
}
