//! SecLang operators, one file per operator named after its keyword. An
//! operator compiles its argument once ([`build`]) and is then evaluated many
//! times against transformed variable values.

use crate::macros::Macro;
use std::path::Path;

mod begins_with;
mod contains;
mod contains_word;
mod detect_sqli;
mod detect_xss;
mod ends_with;
mod eq;
mod ge;
mod gt;
mod ip_match;
mod ip_match_from_file;
mod le;
mod lt;
mod no_match;
mod pm;
pub(crate) use pm::automaton_kind;
mod pm_from_file;
mod rx;
mod streq;
mod strmatch;
mod unconditional_match;
mod validate_byte_range;
mod validate_url_encoding;
mod validate_utf8_encoding;
mod within;

/// What an operator sees besides its input.
pub(crate) struct OpContext<'a> {
    /// The rule has `capture`: fill [`OpContext::captures`] on a match.
    pub capture: bool,
    /// Captured groups (TX.0 .. TX.9) of the last match.
    pub captures: Vec<Vec<u8>>,
    /// Expands macros in operator arguments (`@within %{tx.allowed_methods}`);
    /// a lone reference comes back as the variable's own shared value.
    pub expand: &'a mut dyn FnMut(&Macro) -> std::rc::Rc<[u8]>,
}

/// A compiled operator.
pub(crate) trait Operator: Send + Sync + std::fmt::Debug {
    /// True when `input` matches.
    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool;

    /// Strings one of which every matching input contains (compared
    /// ASCII-case-insensitively, given lower-case), when the operator knows
    /// them; the prefilter skips rules whose values contain none.
    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        None
    }

    /// Bytes one of which every matching input holds, when the operator
    /// knows them: the engine does not call the operator on a value without
    /// any of them (its answer would be "no match").
    fn required_bytes(&self) -> Option<crate::transform::ByteSet> {
        None
    }

    /// For the numeric comparisons with a fixed argument (`@lt 2`): the
    /// comparison and its right-hand side, so the engine can test a single
    /// value without the general machinery.
    fn numeric_compare(&self) -> Option<(Compare, i64)> {
        None
    }

    /// What the operator's answer depends on besides its input, as far as
    /// the operator knows; [`Depends::Unknown`] unless it says.
    fn depends(&self) -> Depends<'_> {
        Depends::Unknown
    }
}

/// What an operator's answer depends on besides its input.
#[derive(Debug)]
pub(crate) enum Depends<'m> {
    /// Only the input.
    Nothing,
    /// Only the input and this argument's expansion.
    Arg(&'m Macro),
    /// Not known: the engine assumes anything.
    Unknown,
}

/// A numeric comparison of the input (left) with the argument (right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    /// `@lt`
    Lt,
    /// `@le`
    Le,
    /// `@gt`
    Gt,
    /// `@ge`
    Ge,
    /// `@eq`
    Eq,
}

impl Compare {
    /// Applies the comparison.
    pub(crate) fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Compare::Lt => left < right,
            Compare::Le => left <= right,
            Compare::Gt => left > right,
            Compare::Ge => left >= right,
            Compare::Eq => left == right,
        }
    }
}

/// The fixed right-hand side of a numeric comparison, if its argument is literal.
pub(crate) fn fixed_number(arg: &Macro) -> Option<i64> {
    arg.as_literal().map(atoi)
}

/// An operator's argument: the literal text, or the expanded value.
pub(crate) enum Arg<'m> {
    /// The argument as written.
    Lit(&'m [u8]),
    /// The expansion.
    Expanded(std::rc::Rc<[u8]>),
}

impl std::ops::Deref for Arg<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Arg::Lit(l) => l,
            Arg::Expanded(e) => e,
        }
    }
}

impl OpContext<'_> {
    /// An operator's argument: borrowed when it is literal, else expanded.
    pub(crate) fn arg<'m>(&mut self, m: &'m Macro) -> Arg<'m> {
        match m.as_literal() {
            Some(l) => Arg::Lit(l),
            None => Arg::Expanded((self.expand)(m)),
        }
    }
}

/// The required literal of an operator whose match implies that the input
/// contains its fixed, non-empty argument.
pub(crate) fn fixed_literal(arg: &Macro) -> Option<Vec<Vec<u8>>> {
    let mut t = arg.literal_text()?;
    if t.is_empty() {
        return None;
    }
    t.make_ascii_lowercase();
    Some(vec![t])
}

/// Compiles an operator from its argument; data files are resolved against
/// the base directory.
type BuildFn = fn(&str, Option<&Path>) -> Result<Box<dyn Operator>, String>;

/// Every operator the engine accepts, by canonical name; [`build`] finds a
/// name here ASCII-case-insensitively, and the vector tests require a
/// `testdata/operators/<name>.json` for each.
static OPERATORS: &[(&str, BuildFn)] = &[
    ("beginsWith", |a, _| {
        Ok(Box::new(begins_with::BeginsWith(Macro::parse(a)?)))
    }),
    ("contains", |a, _| {
        Ok(Box::new(contains::Contains(Macro::parse(a)?)))
    }),
    ("containsWord", |a, _| {
        Ok(Box::new(contains_word::ContainsWord(Macro::parse(a)?)))
    }),
    ("detectSQLi", |_, _| {
        crate::injection::prepare_sqli();
        Ok(Box::new(detect_sqli::DetectSqli))
    }),
    ("detectXSS", |_, _| Ok(Box::new(detect_xss::DetectXss))),
    ("endsWith", |a, _| {
        Ok(Box::new(ends_with::EndsWith(Macro::parse(a)?)))
    }),
    ("eq", |a, _| Ok(Box::new(eq::Eq(Macro::parse(a)?)))),
    ("ge", |a, _| Ok(Box::new(ge::Ge(Macro::parse(a)?)))),
    ("gt", |a, _| Ok(Box::new(gt::Gt(Macro::parse(a)?)))),
    ("ipMatch", |a, _| Ok(Box::new(ip_match::IpMatch::new(a)?))),
    ("ipMatchFromFile", |a, dir| {
        Ok(Box::new(ip_match_from_file::build(a, dir)?))
    }),
    ("le", |a, _| Ok(Box::new(le::Le(Macro::parse(a)?)))),
    ("lt", |a, _| Ok(Box::new(lt::Lt(Macro::parse(a)?)))),
    ("noMatch", |_, _| Ok(Box::new(no_match::NoMatch))),
    ("pm", |a, _| {
        Ok(Box::new(pm::Pm::new(
            a.split_whitespace().map(str::to_string).collect(),
        )?))
    }),
    ("pmFromFile", |a, dir| {
        Ok(Box::new(pm_from_file::build(a, dir)?))
    }),
    ("rx", |a, _| Ok(Box::new(rx::Rx::new(a)?))),
    ("streq", |a, _| Ok(Box::new(streq::Streq(Macro::parse(a)?)))),
    ("strmatch", |a, _| Ok(Box::new(strmatch::Strmatch::new(a)))),
    ("unconditionalMatch", |_, _| {
        Ok(Box::new(unconditional_match::UnconditionalMatch))
    }),
    ("validateByteRange", |a, _| {
        Ok(Box::new(validate_byte_range::ValidateByteRange::new(a)?))
    }),
    ("validateUrlEncoding", |_, _| {
        Ok(Box::new(validate_url_encoding::ValidateUrlEncoding))
    }),
    ("validateUtf8Encoding", |_, _| {
        Ok(Box::new(validate_utf8_encoding::ValidateUtf8Encoding))
    }),
    ("within", |a, _| {
        Ok(Box::new(within::Within(Macro::parse(a)?)))
    }),
];

/// Other spellings SecLang accepts: `(alias, canonical name)`.
const ALIASES: &[(&str, &str)] = &[("ipMatchF", "ipMatchFromFile"), ("pmf", "pmFromFile")];

/// Compiles operator `name` with argument `arg`; files named by `pmFromFile`
/// and `ipMatchFromFile` are resolved against `base_dir`.
pub(crate) fn build(
    name: &str,
    arg: &str,
    base_dir: Option<&Path>,
) -> Result<Box<dyn Operator>, String> {
    let canonical = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or(name, |&(_, target)| target);
    let (_, f) = OPERATORS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(canonical))
        .ok_or_else(|| format!("unknown operator @{name}"))?;
    f(arg, base_dir)
}

/// Parses a number the way ModSecurity does (leading integer, else 0):
/// surrounding whitespace is ignored, a sign may lead, the digits end at the
/// first other character; no digits, an overflow or invalid UTF-8 give 0.
pub(crate) fn atoi(s: &[u8]) -> i64 {
    if !s.is_ascii() {
        return atoi_unicode(s);
    }
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || (0x09..=0x0d).contains(&s[i])) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut n: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        let d = i64::from(s[i] - b'0');
        // Accumulate negatively so that i64::MIN parses too.
        n = match n.checked_mul(10).and_then(|n| n.checked_sub(d)) {
            Some(n) => n,
            None => return 0,
        };
        i += 1;
    }
    if i == start {
        return 0;
    }
    if neg { n } else { n.checked_neg().unwrap_or(0) }
}

/// [`atoi`] for input that is not plain ASCII (Unicode whitespace trims).
fn atoi_unicode(s: &[u8]) -> i64 {
    let s = std::str::from_utf8(s).unwrap_or("").trim();
    let mut end = 0;
    let b = s.as_bytes();
    if end < b.len() && (b[end] == b'-' || b[end] == b'+') {
        end += 1;
    }
    while end < b.len() && b[end].is_ascii_digit() {
        end += 1;
    }
    s[..end].parse().unwrap_or(0)
}

#[cfg(test)]
mod atoi_tests {
    use super::{atoi, atoi_unicode};

    #[test]
    fn ascii_fast_path_agrees_with_the_general_one() {
        for s in [
            "",
            "0",
            "7",
            " 42 ",
            "\t-3x",
            "+5",
            "-",
            "+",
            "12abc",
            "abc",
            "00012",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "\x0b1",
            "1 2",
        ] {
            assert_eq!(atoi(s.as_bytes()), atoi_unicode(s.as_bytes()), "{s:?}");
        }
        assert_eq!(atoi("\u{a0}5".as_bytes()), 5);
    }
}

/// Reads a data file: one entry a line, `#` comments and blank lines skipped.
pub(crate) fn read_data_file(name: &str, base_dir: Option<&Path>) -> Result<Vec<String>, String> {
    let path = match base_dir {
        Some(d) if !Path::new(name).is_absolute() => d.join(name),
        _ => Path::new(name).to_path_buf(),
    };
    let text = std::fs::read(&path)
        .map_err(|e| format!("cannot read data file {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod vectors;
