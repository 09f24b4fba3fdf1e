//! The detectors. Each reads one decoded value and says whether it holds an
//! attack of its class, with a score and the evidence (the decoded text that
//! decided). Scores: [`CRITICAL`] is enough to deny alone at the default
//! threshold; [`SUSPICIOUS`] needs a second finding.

pub mod cmdi;
pub mod injection;
pub mod jndi;
pub mod ldap;
pub mod mail;
pub mod nosql;
pub mod template;
pub mod traversal;
pub mod xxe;

/// A finding's score when the evidence is unambiguous.
pub const CRITICAL: u32 = 5;
/// A finding's score when the evidence alone could be benign.
pub const SUSPICIOUS: u32 = 3;

/// One detector's verdict on one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The class (`sqli`, `xss`, ...; see [`crate::config::CLASSES`]).
    pub class: &'static str,
    /// How sure: [`CRITICAL`] or [`SUSPICIOUS`].
    pub score: u32,
    /// The decoded text that decided, shortened.
    pub evidence: String,
}

impl Hit {
    /// A hit of `class` with `score`, the evidence cut to 120 characters.
    pub fn new(class: &'static str, score: u32, evidence: &str) -> Hit {
        let evidence = if evidence.chars().count() > 120 {
            let cut: String = evidence.chars().take(117).collect();
            format!("{cut}...")
        } else {
            evidence.to_string()
        };
        Hit {
            class,
            score,
            evidence,
        }
    }
}

/// What a value is, which decides the detectors it goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value (argument, JSON leaf, header, path segment, XML text).
    Value,
    /// A name (JSON key, argument name): only NoSQL operators and lookups.
    Name,
    /// A whole query string or form body: calls by name only
    /// ([`cmdi::exec_call`]), the arguments are values of their own.
    Query,
    /// A whole document or raw body chunk: XXE, SSI and lookups only (the
    /// value detectors run on the parsed parts).
    Document,
}

/// A value made only of letters, digits, spaces and `_ . @` holds nothing
/// any detector looks for but a SQL keyword sequence.
fn inert(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '.' | '@'))
}

/// Runs every enabled detector of `kind` on `value`, pushing hits to `out`.
pub fn scan(value: &str, kind: Kind, enabled: &dyn Fn(&str) -> bool, out: &mut Vec<Hit>) {
    if inert(value) {
        if kind == Kind::Value
            && enabled("sqli")
            && let Some(hit) = injection::sqli(value)
        {
            out.push(hit);
        }
        return;
    }
    type Detector = fn(&str) -> Option<Hit>;
    let detectors: &[(&str, Detector)] = match kind {
        Kind::Value => &[
            ("sqli", injection::sqli),
            ("xss", injection::xss),
            ("cmdi", cmdi::detect),
            ("path_traversal", traversal::detect),
            ("ldap", ldap::detect),
            ("nosql", nosql::detect_value),
            ("ssti", template::ssti),
            ("ssi", template::ssi),
            ("mail", mail::detect),
            ("jndi", jndi::detect),
            ("xxe", xxe::detect),
        ],
        Kind::Name => &[("nosql", nosql::detect_name), ("jndi", jndi::detect)],
        Kind::Query => &[("cmdi", cmdi::exec_call)],
        Kind::Document => &[
            ("xxe", xxe::detect),
            ("ssi", template::ssi),
            ("jndi", jndi::detect),
        ],
    };
    for (class, detect) in detectors {
        if enabled(class)
            && let Some(hit) = detect(value)
        {
            out.push(hit);
        }
    }
}
