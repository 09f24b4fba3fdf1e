//! Name patterns: globs where `*` stays inside one label or component, or
//! regular expressions written `re:...`. Both always match the whole name.

use regex::{Regex, RegexBuilder};

/// What kind of name a pattern is for; it decides what `*` may not cross and
/// whether letter case matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// DNS SAN: `*` stays within one label (no `.`); case-insensitive.
    Dns,
    /// URI SAN: `*` stays within one path segment (no `/`); case-sensitive.
    Uri,
    /// RFC 4514 subject or issuer: `*` stays within one attribute (no `,`);
    /// case-sensitive.
    Subject,
}

impl NameKind {
    fn separator(self) -> char {
        match self {
            NameKind::Dns => '.',
            NameKind::Uri => '/',
            NameKind::Subject => ',',
        }
    }
}

/// A compiled pattern.
#[derive(Debug)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `source` for names of `kind`; `field` names it in errors.
    pub fn compile(source: &str, kind: NameKind, field: &str) -> Result<Pattern, String> {
        if source.is_empty() {
            return Err(format!("{field}: empty pattern"));
        }
        let (expr, case_insensitive) = match source.strip_prefix("re:") {
            Some(re) => (format!("^(?:{re})$"), false),
            None => (
                glob_to_regex(source, kind.separator()),
                kind == NameKind::Dns,
            ),
        };
        let regex = RegexBuilder::new(&expr)
            .case_insensitive(case_insensitive)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("{field}: \"{source}\" is not a valid pattern: {e}"))?;
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    /// True when the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        self.regex.is_match(name)
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

fn glob_to_regex(glob: &str, separator: char) -> String {
    let mut out = String::from("^");
    let mut literal = String::new();
    for c in glob.chars() {
        if c == '*' {
            out.push_str(&regex::escape(&literal));
            literal.clear();
            out.push_str(&format!("[^{}]*", regex::escape(&separator.to_string())));
        } else {
            literal.push(c);
        }
    }
    out.push_str(&regex::escape(&literal));
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, kind: NameKind) -> Pattern {
        Pattern::compile(s, kind, "test").unwrap()
    }

    #[test]
    fn dns_globs_stay_in_one_label() {
        let g = p("*.pos.acme.com", NameKind::Dns);
        assert!(g.matches("t17.pos.acme.com"));
        assert!(g.matches("T17.POS.Acme.com"));
        assert!(!g.matches("a.b.pos.acme.com"));
        assert!(!g.matches("pos.acme.com"));
        assert!(!g.matches("t17.pos.acme.com.evil.net"));
        assert!(!g.matches("t17xpos.acme.com"));
        assert!(p("pos-*.acme.com", NameKind::Dns).matches("pos-17.acme.com"));
    }

    #[test]
    fn subject_globs_cannot_cross_attributes() {
        let g = p("CN=pos-*,O=Acme", NameKind::Subject);
        assert!(g.matches("CN=pos-17,O=Acme"));
        assert!(!g.matches("CN=pos-17,O=Evil,O=Acme"));
        assert!(!g.matches("cn=pos-17,O=Acme"));
    }

    #[test]
    fn uri_globs_and_regexes() {
        let g = p("spiffe://acme.com/pos/*", NameKind::Uri);
        assert!(g.matches("spiffe://acme.com/pos/t17"));
        assert!(!g.matches("spiffe://acme.com/pos/t17/admin"));
        let r = p(r"re:CN=pos-[0-9]+,O=Acme", NameKind::Subject);
        assert!(r.matches("CN=pos-17,O=Acme"));
        assert!(!r.matches("CN=pos-17,O=Acme,O=X"), "regexes are anchored");
        assert!(!r.matches("xCN=pos-17,O=Acme"));
        // Regex metacharacters in globs are literal.
        assert!(!p("a+b.com", NameKind::Dns).matches("aab.com"));
        assert!(p("a+b.com", NameKind::Dns).matches("a+b.com"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(
            Pattern::compile("re:(", NameKind::Dns, "rules[0].allow_san[1]")
                .unwrap_err()
                .contains("rules[0].allow_san[1]")
        );
        assert!(Pattern::compile("", NameKind::Dns, "f").is_err());
    }
}
