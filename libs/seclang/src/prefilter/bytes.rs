//! Required bytes of a regular expression: a set of bytes such that every
//! match of the expression contains at least one of them. Where the literal
//! analysis ([`super::literals`]) finds nothing worth scanning for — the
//! evasion-tolerant patterns whose letters may be split by quotes or
//! backslashes, or whose only fixed part is one separator byte like `;` or
//! `|` — one byte of a fixed place is still required. Testing a value's
//! [`ByteSet`] against it is far cheaper than running the expression, so the
//! engine skips the operator call for values without such a byte.
//!
//! The sets are exact-case: `(?i)` is already folded into the classes of the
//! parsed expression (`regex-syntax`'s HIR), which is what is analysed.

use crate::transform::ByteSet;
use regex_syntax::hir::{Class, Hir, HirKind};

/// Bytes as a plain table while the analysis combines them.
type Bytes256 = [bool; 256];

/// How likely ordinary request values are to hold byte `b`: a set whose
/// weights add up to less is a sharper filter.
fn weight(b: u8) -> u32 {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => 16,
        b'0'..=b'9' => 12,
        b' ' | b'/' | b'.' | b'-' | b'_' | b'=' | b'&' | b';' | b',' | b':' | b'+' | b'%' => 8,
        0x21..=0x7e => 2,
        b'\t' | b'\n' | b'\r' => 1,
        _ => 0,
    }
}

/// Cost of a set: its weight, then its size.
fn cost(s: &Bytes256) -> (u32, usize) {
    let mut w = 0;
    let mut n = 0;
    for (b, &on) in s.iter().enumerate() {
        if on {
            w += weight(b as u8);
            n += 1;
        }
    }
    (w, n)
}

/// The required bytes of `pattern` as [`crate::operators`]' `@rx` compiles
/// it (`unicode` as the successful compile used it). `None` when every match
/// may be empty or the expression requires nothing better than "any byte".
pub(crate) fn required_bytes(pattern: &str, unicode: bool) -> Option<ByteSet> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(unicode)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    let set = required(&hir)?;
    let bytes: Vec<u8> = (0..=255u8).filter(|&b| set[b as usize]).collect();
    if bytes.is_empty() || bytes.len() == 256 {
        return None;
    }
    Some(ByteSet::of(&bytes))
}

/// The first bytes of the UTF-8 encodings of the code points `lo..=hi`.
fn leading_bytes(set: &mut Bytes256, lo: u32, hi: u32) {
    // Code points below 0x80 are their own byte; above, the leading byte
    // depends only on the code point's top bits.
    for cp in lo..=hi.min(0x7f) {
        set[cp as usize] = true;
    }
    let bands: [(u32, u32, u32, u8); 3] = [
        (0x80, 0x7ff, 6, 0xc0),
        (0x800, 0xffff, 12, 0xe0),
        (0x1_0000, 0x10_ffff, 18, 0xf0),
    ];
    for (start, end, shift, tag) in bands {
        let (a, b) = (lo.max(start), hi.min(end));
        if a > b {
            continue;
        }
        for lead in (a >> shift)..=(b >> shift) {
            set[usize::from(tag) | lead as usize] = true;
        }
    }
}

fn class_bytes(c: &Class) -> Bytes256 {
    let mut set = [false; 256];
    match c {
        Class::Unicode(u) => {
            for r in u.ranges() {
                leading_bytes(&mut set, r.start().into(), r.end().into());
            }
        }
        Class::Bytes(b) => {
            for r in b.ranges() {
                for v in r.start()..=r.end() {
                    set[v as usize] = true;
                }
            }
        }
    }
    set
}

/// Bytes one of which every match of `h` contains; `None` when a match may
/// be empty (or nothing is known).
fn required(h: &Hir) -> Option<Bytes256> {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(l) => {
            // Every byte of the literal is in every match: the rarest one.
            let b = l.0.iter().copied().min_by_key(|&b| weight(b))?;
            let mut set = [false; 256];
            set[b as usize] = true;
            Some(set)
        }
        HirKind::Class(c) => Some(class_bytes(c)),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min == 0 => None,
        HirKind::Repetition(r) => required(&r.sub),
        HirKind::Concat(children) => children.iter().filter_map(required).min_by_key(cost),
        HirKind::Alternation(children) => {
            let mut acc = [false; 256];
            for c in children {
                let s = required(c)?;
                for (a, b) in acc.iter_mut().zip(s) {
                    *a |= b;
                }
            }
            Some(acc)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(p: &str) -> Option<Vec<u8>> {
        let set = required_bytes(p, false)?;
        Some(
            (0..=255u8)
                .filter(|&b| set.intersects(ByteSet::of(&[b])))
                .collect(),
        )
    }

    #[test]
    fn picks_the_rarest_fixed_place() {
        assert_eq!(req("abc;def"), Some(b";".to_vec()));
        assert_eq!(
            req(r"(?:[\n\r;`\{]|\|\|?|&&?)\s*[a-z]+"),
            Some(b"\n\r&;`{|".to_vec())
        );
        assert_eq!(req("(?i)x"), Some(b"Xx".to_vec()));
        assert_eq!(req("a|b"), Some(b"ab".to_vec()));
    }

    #[test]
    fn nothing_when_a_match_may_be_empty() {
        assert_eq!(req("x?"), None);
        assert_eq!(req("(?:ab)*"), None);
        assert_eq!(req("a|"), None);
        assert_eq!(req(r"\b"), None);
        assert_eq!(req(r"(?s:.)"), None);
    }

    #[test]
    fn unicode_classes_give_leading_bytes() {
        let set = required_bytes("é|ü", true).unwrap();
        assert!(set.intersects(ByteSet::of("é".as_bytes())));
        assert!(!set.intersects(ByteSet::of(b"plain ascii")));
    }

    /// Soundness: an input that matches holds one of the required bytes.
    #[test]
    fn matches_hold_a_required_byte() {
        let cases = [
            (
                r"(?i)(?:[\n\r;`\{]|\|\|?|&&?)[\s\x0b]*(?:c[\x5c^]*u[\x5c^]*r[\x5c^]*l)",
                "a;cu^rl",
            ),
            (r"(?i)<[^0-9<>A-Z_a-z]*script", "x< script"),
            (r"(?i)(?:v|&#x0*56;)(?:[\t\n\r])*b", "V\tb"),
            (r"(?:[/\x5c]|%2f)\.\.", "%2f.."),
            (r"(?i)\bunion\b.+select", "1 UNION ALL SELECT"),
        ];
        for (p, input) in cases {
            let re = regex::bytes::Regex::new(p).unwrap();
            assert!(re.is_match(input.as_bytes()), "{p} must match {input}");
            let set = required_bytes(p, false).expect(p);
            assert!(
                set.intersects(ByteSet::of(input.as_bytes())),
                "{p} / {input}"
            );
        }
    }
}
