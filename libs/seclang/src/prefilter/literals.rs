//! Required literals of a regular expression: a set of strings such that every
//! match of the expression contains at least one of them (compared
//! ASCII-case-insensitively). An empty answer (`None`) means no such set is
//! known and the expression must always run.
//!
//! The analysis walks the parsed expression (`regex-syntax`'s HIR) once at
//! load time. Each node has an *exact* set when the strings it can match are
//! few and short (a literal, a small class, a concatenation or alternation of
//! such), and a *required* set. In a concatenation, consecutive exact parts
//! multiply into longer strings; the best required set of the parts (longest
//! shortest string, then fewest strings) stands for the whole. Letters are
//! folded to lower case, so `(?i)union` and `UNION` both give `union`.

use regex_syntax::hir::{Class, Hir, HirKind, Repetition};

/// Most strings an exact or required set may hold.
const MAX_SET: usize = 64;
/// Longest string kept in an exact set.
const MAX_LEN: usize = 48;
/// Largest class still enumerated as single characters.
const MAX_CLASS: usize = 12;

type Set = Vec<Vec<u8>>;

/// What one node of the expression says.
#[derive(Debug, Clone, Default)]
struct Info {
    /// Every string the node can match (lower-cased), when few and short.
    exact: Option<Set>,
    /// Every match contains one of these (none empty), when known.
    required: Option<Set>,
}

/// The required literals of `pattern` as [`crate::operators`]' `@rx`
/// compiles it (`unicode` as the successful compile used it).
pub(crate) fn required_literals(pattern: &str, unicode: bool) -> Option<Set> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(unicode)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    let set = analyze(&hir).required?;
    if set.is_empty() || set.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some(minimal(set))
}

/// Drops every string that contains another one of the set: for "contains
/// one of" the shorter string already says it.
fn minimal(set: Set) -> Set {
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let keep: Vec<bool> = set
        .iter()
        .enumerate()
        .map(|(i, s)| {
            !set.iter().enumerate().any(|(j, t)| {
                j != i && t.len() <= s.len() && contains(s, t) && (t.len() < s.len() || j < i)
            })
        })
        .collect();
    set.into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect()
}

fn fold(mut s: Vec<u8>) -> Vec<u8> {
    s.make_ascii_lowercase();
    s
}

fn dedup(mut s: Set) -> Set {
    s.sort();
    s.dedup();
    s
}

/// The set a node requires: its own required set, else its exact set when
/// that holds no empty string.
fn required_of(i: &Info) -> Option<Set> {
    if let Some(r) = &i.required {
        return Some(r.clone());
    }
    match &i.exact {
        Some(e) if !e.is_empty() && e.iter().all(|s| !s.is_empty()) => Some(e.clone()),
        _ => None,
    }
}

/// Higher is a better prefilter: longer shortest string, then (for single
/// bytes) rarer bytes in ordinary traffic, then fewer strings.
fn score(s: &Set) -> (usize, u8, std::cmp::Reverse<usize>) {
    let shortest = s.iter().map(Vec::len).min().unwrap_or(0);
    let rarity = s.iter().map(|x| rarity(x)).min().unwrap_or(0);
    (shortest.min(8), rarity, std::cmp::Reverse(s.len()))
}

/// How rare a string is in ordinary requests: 0 for a single letter, digit
/// or common punctuation, 1 for other single bytes, 2 for longer strings.
pub(crate) fn rarity(s: &[u8]) -> u8 {
    match s {
        [b] if b.is_ascii_alphanumeric() || b" /.-_=&;,:+%\t".contains(b) => 0,
        [_] => 1,
        _ => 2,
    }
}

fn best(cands: Vec<Set>) -> Option<Set> {
    cands
        .into_iter()
        .filter(|s| !s.is_empty() && s.iter().all(|x| !x.is_empty()))
        .max_by_key(score)
}

fn product(a: &Set, b: &Set) -> Option<Set> {
    if a.len() * b.len() > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_LEN {
                return None;
            }
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(dedup(out))
}

fn class_set(c: &Class) -> Option<Set> {
    // The class's characters (Unicode) or bytes, as inclusive ranges.
    let ranges: Vec<(u32, u32)> = match c {
        Class::Unicode(u) => u
            .ranges()
            .iter()
            .map(|r| (r.start().into(), r.end().into()))
            .collect(),
        Class::Bytes(b) => b
            .ranges()
            .iter()
            .map(|r| (r.start().into(), r.end().into()))
            .collect(),
    };
    let n: u32 = ranges.iter().map(|(a, b)| b - a + 1).sum();
    if n as usize > MAX_CLASS * 2 {
        return None;
    }
    let mut out = Vec::new();
    for (a, b) in ranges {
        for v in a..=b {
            out.push(match c {
                Class::Unicode(_) => {
                    let ch = char::from_u32(v)?;
                    let mut buf = [0u8; 4];
                    fold(ch.encode_utf8(&mut buf).as_bytes().to_vec())
                }
                Class::Bytes(_) => vec![(v as u8).to_ascii_lowercase()],
            });
        }
    }
    let out = dedup(out);
    if out.is_empty() || out.len() > MAX_CLASS {
        return None;
    }
    Some(out)
}

fn analyze(h: &Hir) -> Info {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Info {
            exact: Some(vec![Vec::new()]),
            required: None,
        },
        HirKind::Literal(l) => literal(&l.0),
        HirKind::Class(c) => {
            let e = class_set(c);
            Info {
                required: e.clone(),
                exact: e,
            }
        }
        HirKind::Capture(c) => analyze(&c.sub),
        HirKind::Repetition(r) => repetition(r),
        HirKind::Concat(children) => concat(children),
        HirKind::Alternation(children) => alternation(children),
    }
}

/// A literal: itself (case-folded), or its first `MAX_LEN` bytes, still
/// required, when it is too long to multiply.
fn literal(l: &[u8]) -> Info {
    let s = fold(l.to_vec());
    if s.len() > MAX_LEN {
        return Info {
            exact: None,
            required: Some(vec![s[..MAX_LEN].to_vec()]),
        };
    }
    Info {
        exact: Some(vec![s.clone()]),
        required: Some(vec![s]),
    }
}

/// `x?`, `x*`, `x+`, `x{n,m}`: optional ones require nothing; fixed small
/// counts are exact products; `x{2,}` requires two copies in a row.
fn repetition(r: &Repetition) -> Info {
    let sub = analyze(&r.sub);
    if r.min == 0 {
        let exact = match (&sub.exact, r.max) {
            (Some(e), Some(1)) => {
                let mut e = e.clone();
                e.push(Vec::new());
                Some(dedup(e))
            }
            _ => None,
        };
        return Info {
            exact,
            required: None,
        };
    }
    let exact = match (&sub.exact, r.max) {
        (Some(e), Some(max)) if max == r.min && max <= 3 => power(e, max),
        _ => None,
    };
    // `x{2,}`: two copies in a row are required, which is longer.
    let required = match (&sub.exact, r.min >= 2) {
        (Some(e), true) => product(e, e)
            .filter(|p| p.iter().all(|s| !s.is_empty()))
            .or_else(|| required_of(&sub)),
        _ => required_of(&sub),
    };
    Info { required, exact }
}

/// Every string of `n` members of `e` in a row (`None`: too many or too long).
fn power(e: &Set, n: u32) -> Option<Set> {
    let mut acc = vec![Vec::new()];
    for _ in 0..n {
        acc = product(&acc, e)?;
    }
    Some(acc)
}

/// A sequence: the exact product while it stays small; the best of the runs
/// of exact parts and the parts' own required sets is required.
fn concat(children: &[Hir]) -> Info {
    let mut cands: Vec<Set> = Vec::new();
    let mut run: Set = vec![Vec::new()];
    let mut all_exact = true;
    for c in children {
        let info = analyze(c);
        match &info.exact {
            Some(e) => match product(&run, e) {
                Some(p) => run = p,
                None => {
                    all_exact = false;
                    cands.push(std::mem::replace(&mut run, e.clone()));
                }
            },
            None => {
                all_exact = false;
                cands.push(std::mem::replace(&mut run, vec![Vec::new()]));
                if let Some(r) = required_of(&info) {
                    cands.push(r);
                }
            }
        }
    }
    let exact = all_exact.then(|| run.clone());
    cands.push(run);
    Info {
        exact,
        required: best(cands),
    }
}

/// `a|b`: the union of the branches' sets, when every branch has one.
fn alternation(children: &[Hir]) -> Info {
    let infos: Vec<Info> = children.iter().map(analyze).collect();
    let exact = infos
        .iter()
        .try_fold(Vec::new(), |mut acc: Set, i| {
            acc.extend(i.exact.clone()?);
            Some(acc)
        })
        .map(dedup)
        .filter(|s| s.len() <= MAX_SET);
    let required = infos
        .iter()
        .try_fold(Vec::new(), |mut acc: Set, i| {
            acc.extend(required_of(i)?);
            Some(acc)
        })
        .map(dedup)
        .filter(|s| s.len() <= MAX_SET * 2);
    Info { exact, required }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(p: &str) -> Option<Vec<String>> {
        required_literals(p, false).map(|s| {
            s.into_iter()
                .map(|x| String::from_utf8_lossy(&x).into_owned())
                .collect()
        })
    }

    #[test]
    fn literals_and_case() {
        assert_eq!(req("abc"), Some(vec!["abc".into()]));
        assert_eq!(req("(?i)UnIoN"), Some(vec!["union".into()]));
        let either = req(r"foo\s+bar").unwrap();
        assert!(either == ["foo"] || either == ["bar"], "{either:?}");
        assert_eq!(req(r"\bselect\b.*\bfrom\b"), Some(vec!["select".into()]));
    }

    #[test]
    fn alternations_and_classes() {
        assert_eq!(req("(?:cat|dog)s?"), Some(vec!["cat".into(), "dog".into()]));
        assert_eq!(
            req("[<>]script"),
            Some(vec!["<script".into(), ">script".into()])
        );
        assert_eq!(req("a|.*"), None);
        assert_eq!(req(".*"), None);
        assert_eq!(req("x?"), None);
        assert_eq!(req("(?:ab)*"), None);
        assert_eq!(req("[a-z]+"), None);
    }

    /// Soundness: whatever the analysis returns, every match contains one of
    /// the strings (checked on inputs that match).
    #[test]
    fn matches_contain_a_required_literal() {
        let cases = [
            (r"(?i)<script[^>]*>", "xx<SCRIPT src=1>"),
            (r"(?:\$|&dollar;?)(?:\{|&l(?:brace|cub);?)", "${jndi"),
            (r"(?i)\b(?:s(?:elect|leep)|union)\b", "1 UNION 2"),
            (r"(?i)on(?:load|error)\s*=", "x onError = 1"),
            (r"\.\./", "/a/../b"),
            (r"(?i)(?:ab|cd){2}", "ABcd"),
        ];
        for (p, input) in cases {
            let re = regex::bytes::Regex::new(p).unwrap();
            assert!(re.is_match(input.as_bytes()), "{p} must match {input}");
            let lits = required_literals(p, false).expect(p);
            let hay = input.to_ascii_lowercase();
            assert!(
                lits.iter()
                    .any(|l| hay.as_bytes().windows(l.len()).any(|w| w == l.as_slice())),
                "{p}: none of {lits:?} in {input}"
            );
        }
    }
}
