//! `@rx`: regular expression match. Patterns are compiled once as byte
//! regexes; Unicode mode is off when the pattern allows it, so `.` and classes
//! match single bytes as PCRE does without UTF mode. With `capture`, groups 0-9
//! go to TX.0-TX.9. A pattern holding `%{...}` is expanded and compiled per use.
use super::{OpContext, Operator};
use crate::macros::Macro;
use crate::transform::ByteSet;
use regex::bytes::{Regex, RegexBuilder};

#[derive(Debug)]
pub(super) enum Rx {
    /// A fixed pattern, its required literals (for the prefilter) and its
    /// required bytes.
    Static(Regex, Option<Vec<Vec<u8>>>, Option<ByteSet>),
    Dynamic(Macro),
}

/// Rewrites `\x{hh}` escapes into `\xhh`, which in a byte regex without
/// Unicode mode means the byte itself (as PCRE without UTF mode reads it).
fn byte_escapes(pattern: &str) -> String {
    let b = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'x'
                && b.get(i + 2) == Some(&b'{')
                && let Some(end) = pattern[i + 3..].find('}')
            {
                let hex = &pattern[i + 3..i + 3 + end];
                if !hex.is_empty() && hex.len() <= 2 && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    out.push_str(&format!("\\x{:0>2}", hex));
                    i += 3 + end + 1;
                    continue;
                }
            }
            // The escaped character whole: it may be several bytes long.
            let next = pattern[i + 1..].chars().next().unwrap_or('\\');
            out.push('\\');
            out.push(next);
            i += 1 + next.len_utf8();
            continue;
        }
        let ch = pattern[i..].chars().next().unwrap_or('\0');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Compiles a SecLang regular expression.
pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    compile_with_literals(pattern, false).map(|(re, _, _)| re)
}

/// A compiled expression and, when asked for, its required literals and bytes.
type Compiled = (Regex, Option<Vec<Vec<u8>>>, Option<ByteSet>);

/// Compiles a SecLang regular expression; with `literals`, also works out
/// the strings every match contains (see [`crate::prefilter::literals`]) and
/// the bytes ([`crate::prefilter::bytes`]).
fn compile_with_literals(pattern: &str, literals: bool) -> Result<Compiled, String> {
    check_repetitions(pattern)?;
    let bytes_pattern = byte_escapes(pattern);
    let build = |unicode: bool| {
        let p = if unicode { pattern } else { &bytes_pattern };
        RegexBuilder::new(p)
            .unicode(unicode)
            .size_limit(256 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .map(|re| {
                if !literals {
                    return (re, None, None);
                }
                let lits = crate::prefilter::literals::required_literals(p, unicode);
                let bytes = crate::prefilter::bytes::required_bytes(p, unicode);
                (re, lits, bytes)
            })
    };
    build(false)
        .or_else(|e| match e {
            // Unicode mode would only be bigger.
            regex::Error::CompiledTooBig(_) => Err(e),
            _ => build(true),
        })
        .map_err(|e| format!("bad regular expression: {e}"))
}

/// PCRE's largest repetition count in `{n}` / `{n,m}`.
const MAX_REPETITION: u32 = 65_535;

/// Refuses repetition counts over [`MAX_REPETITION`], as PCRE does ("number
/// too big in {} quantifier"), before compiling: the regex crate would build
/// up to its size limit first, seconds of CPU for `(?:\d+,?){2147483647}`
/// (a hang found by edgewaf-fuzz seclang). Syntax errors are left to the
/// compiler, which reports them.
fn check_repetitions(pattern: &str) -> Result<(), String> {
    use regex_syntax::ast::{self, Ast, RepetitionKind, RepetitionRange};
    struct Counts;
    impl ast::Visitor for Counts {
        type Output = ();
        type Err = u32;
        fn finish(self) -> Result<(), u32> {
            Ok(())
        }
        fn visit_pre(&mut self, ast: &Ast) -> Result<(), u32> {
            if let Ast::Repetition(r) = ast
                && let RepetitionKind::Range(range) = &r.op.kind
            {
                let n = match *range {
                    RepetitionRange::Exactly(n) | RepetitionRange::AtLeast(n) => n,
                    RepetitionRange::Bounded(a, b) => a.max(b),
                };
                if n > MAX_REPETITION {
                    return Err(n);
                }
            }
            Ok(())
        }
    }
    let Ok(parsed) = ast::parse::Parser::new().parse(pattern) else {
        return Ok(());
    };
    ast::visit(&parsed, Counts).map_err(|n| {
        format!(
            "bad regular expression: repetition count {n} is over {MAX_REPETITION} (PCRE's limit)"
        )
    })
}

impl Rx {
    pub(super) fn new(arg: &str) -> Result<Self, String> {
        if arg.contains("%{") {
            return Ok(Rx::Dynamic(Macro::parse(arg)?));
        }
        let (re, lits, bytes) = compile_with_literals(arg, true)?;
        Ok(Rx::Static(re, lits, bytes))
    }
}

fn run(re: &Regex, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
    if !ctx.capture {
        return re.is_match(input);
    }
    // Without groups, TX.0 is the match: one search by the DFAs, no capture
    // engine (920450's `^.*$` on every header name).
    if re.captures_len() == 1 {
        return match re.find(input) {
            Some(m) => {
                ctx.captures = vec![m.as_bytes().to_vec()];
                true
            }
            None => false,
        };
    }
    // The lazy DFA answers "no" fast; the capture engine only runs on a match.
    if !re.is_match(input) {
        return false;
    }
    match re.captures(input) {
        Some(caps) => {
            ctx.captures = (0..caps.len().min(10))
                .map(|i| {
                    caps.get(i)
                        .map(|m| m.as_bytes().to_vec())
                        .unwrap_or_default()
                })
                .collect();
            true
        }
        None => false,
    }
}

impl Operator for Rx {
    fn depends(&self) -> super::Depends<'_> {
        match self {
            Rx::Static(..) => super::Depends::Nothing,
            Rx::Dynamic(m) => super::Depends::Arg(m),
        }
    }

    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        match self {
            Rx::Static(_, lits, _) => lits.clone(),
            Rx::Dynamic(_) => None,
        }
    }

    fn required_bytes(&self) -> Option<ByteSet> {
        match self {
            Rx::Static(_, _, bytes) => *bytes,
            Rx::Dynamic(_) => None,
        }
    }

    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        match self {
            Rx::Static(re, _, _) => run(re, ctx, input),
            Rx::Dynamic(m) => {
                let pat = String::from_utf8_lossy(&(ctx.expand)(m)).into_owned();
                match compile(&pat) {
                    Ok(re) => run(&re, ctx, input),
                    Err(_) => false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_escapes_match_bytes() {
        assert_eq!(
            byte_escapes(r"a\x{bc}[^\x{be}]\\x{41}"),
            r"a\xbc[^\xbe]\\x{41}"
        );
        let re = compile(r"\x{bc}[^>\x{be}]*[>\x{be}]").unwrap();
        assert!(re.is_match(b"\xbcscript\xbe"));
    }

    /// Fuzz regression (edgewaf-fuzz seclang): a backslash before a
    /// multi-byte character (`\é`) sliced the pattern inside the character
    /// and panicked while loading the rules.
    #[test]
    fn escaped_multibyte_character_does_not_panic() {
        assert_eq!(
            byte_escapes("a\\\u{e9}b\\\u{1f600}"),
            "a\\\u{e9}b\\\u{1f600}"
        );
        // The regex crate refuses the escape: a load error, not a panic.
        let err = Rx::new("[^\\s\\x0b,:\\\u{fffd}]*").unwrap_err();
        assert!(err.starts_with("bad regular expression"), "{err}");
    }

    /// Fuzz regression (edgewaf-fuzz seclang, a hang): a huge repetition
    /// count compiled up to the size limit, twice, before failing.
    #[test]
    fn repetition_counts_over_pcre_limit_are_refused_before_compiling() {
        let err = Rx::new(r"^bytes=(?:(?:\d+)?-(?:\d+)?\s*,?\s*){2147483647}").unwrap_err();
        assert!(err.contains("repetition count 2147483647"), "{err}");
        assert!(Rx::new("a{2,70000}").unwrap_err().contains("70000"));
        assert!(compile("a{65535}").is_ok());
        assert!(compile("[{]{99999}x").is_err());
    }
}
