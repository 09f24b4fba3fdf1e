//! `%{...}` macro expansion in msg, logdata, setvar and operator arguments.

/// One piece of a macro string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Text copied as is.
    Lit(Vec<u8>),
    /// `%{name}` or `%{name.key}`; `name` lower-case.
    Var {
        /// Variable (or `rule`) name, lower-case.
        name: String,
        /// Key, lower-case, if any.
        key: Option<String>,
    },
}

/// Appends the value of a `%{name.key}` reference to the buffer it is given.
pub(crate) type AppendFn<'a> = dyn FnMut(&str, Option<&str>, &mut Vec<u8>) + 'a;

/// A string that may contain `%{...}` references, parsed once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Macro {
    parts: Vec<Part>,
}

impl Macro {
    /// Parses `s`; a reference to an unknown variable is an error.
    pub(crate) fn parse(s: &str) -> Result<Macro, String> {
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let mut rest = s;
        while let Some(pos) = rest.find("%{") {
            let after = &rest[pos + 2..];
            let Some(end) = after.find('}') else { break };
            lit.extend_from_slice(&rest.as_bytes()[..pos]);
            let inner = after[..end].trim();
            let (name, key) = match inner.find(['.', ':']) {
                Some(d) => (&inner[..d], Some(inner[d + 1..].to_ascii_lowercase())),
                None => (inner, None),
            };
            let lname = name.to_ascii_lowercase();
            if lname != "rule" && crate::variables::VarKind::from_name(name).is_none() {
                return Err(format!("unknown variable %{{{inner}}} in macro"));
            }
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var { name: lname, key });
            rest = &after[end + 1..];
        }
        lit.extend_from_slice(rest.as_bytes());
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Macro { parts })
    }

    /// True when there is nothing to expand.
    pub(crate) fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// The text, borrowed, when the macro is literal.
    pub(crate) fn as_literal(&self) -> Option<&[u8]> {
        match self.parts.as_slice() {
            [] => Some(&[]),
            [Part::Lit(l)] => Some(l),
            _ => None,
        }
    }

    /// The text when the macro is literal.
    pub(crate) fn literal_text(&self) -> Option<Vec<u8>> {
        if !self.is_literal() {
            return None;
        }
        Some(
            self.parts
                .iter()
                .flat_map(|p| {
                    if let Part::Lit(l) = p {
                        l.clone()
                    } else {
                        vec![]
                    }
                })
                .collect(),
        )
    }

    /// The parts.
    pub(crate) fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Expands with `resolve(name, key)`.
    #[cfg(test)]
    pub(crate) fn expand(&self, resolve: &mut dyn FnMut(&str, Option<&str>) -> Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        self.expand_into(&mut out, &mut |n, k, out| out.extend(resolve(n, k)));
        out
    }

    /// Expands onto the end of `out`; `resolve(name, key, out)` appends a reference's value
    /// (no buffer per reference).
    pub(crate) fn expand_into(&self, out: &mut Vec<u8>, resolve: &mut AppendFn<'_>) {
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.extend_from_slice(l),
                Part::Var { name, key } => resolve(name, key.as_deref(), out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_expands() {
        let m = Macro::parse("a %{TX.score} b %{MATCHED_VAR}").unwrap();
        let out = m.expand(&mut |n, k| format!("[{n}|{}]", k.unwrap_or("-")).into_bytes());
        assert_eq!(out, b"a [tx|score] b [matched_var|-]");
        assert!(Macro::parse("%{NOPE.x}").is_err());
        assert!(Macro::parse("plain").unwrap().is_literal());
    }
}
