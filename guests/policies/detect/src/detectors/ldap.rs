//! LDAP filter injection (RFC 4515 syntax): the value closes the filter it
//! was put in (`)`) and opens another one: `(` with optional `&`, `|`, `!`
//! operators, then an attribute description and a filter type (`=`, `~=`,
//! `>=`, `<=`). A filter component alone (`(uid=x)`) is only suspicious.

use super::{CRITICAL, Hit, SUSPICIOUS};

/// Whether a filter component starts at `at` (just after a `(`): operators
/// and nested `(`, then `attr=`, `attr~=`, `attr>=` or `attr<=`.
fn component(b: &[u8], at: usize) -> bool {
    let mut i = at;
    while i < b.len() && matches!(b[i], b'&' | b'|' | b'!' | b'(' | b' ') {
        i += 1;
    }
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'.' | b';' | b'_'))
    {
        i += 1;
    }
    if i == start || !b[start].is_ascii_alphabetic() {
        // `(&)` / `(|)`: the absolute true and false filters.
        return i > at && matches!(b.get(i), Some(b')')) && matches!(b[at], b'&' | b'|');
    }
    match b.get(i) {
        Some(b'=') => true,
        Some(b'~' | b'>' | b'<') => b.get(i + 1) == Some(&b'='),
        _ => false,
    }
}

/// LDAP filter injection.
pub fn detect(s: &str) -> Option<Hit> {
    let b = s.as_bytes();
    if !s.contains('(') || !s.contains(')') {
        return None;
    }
    let mut components = 0;
    for (i, &c) in b.iter().enumerate() {
        if c != b'(' || !component(b, i + 1) {
            continue;
        }
        components += 1;
        // More `)` than `(` before this component: the value closed the
        // filter it was put in.
        let closes = b[..i].iter().filter(|&&c| c == b')').count();
        let opens = b[..i].iter().filter(|&&c| c == b'(').count();
        if closes > opens {
            return Some(Hit::new("ldap", CRITICAL, s));
        }
    }
    (components >= 2).then(|| Hit::new("ldap", SUSPICIOUS, s))
}

#[cfg(test)]
mod suspicious {
    #[test]
    fn balanced_filters_are_suspicious() {
        let h = super::detect("(price>=10) and (price<=20)").unwrap();
        assert_eq!(h.score, super::SUSPICIOUS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(s: &str) -> u32 {
        detect(s).map_or(0, |h| h.score)
    }

    #[test]
    fn filter_injections_are_critical() {
        for s in [
            "*)(uid=*))(|(uid=*",
            "admin)(&(password=*))",
            "*)(|(objectClass=*)",
            "x)(cn=*))\0",
            "*))(|(mail=*",
            "admin*)((|userPassword=*)",
            ")(!(sn=x))",
            "*)(memberOf=cn=admins,dc=example,dc=com",
            "x)(|(&)",
        ] {
            assert_eq!(score(s), CRITICAL, "{s}");
        }
    }

    #[test]
    fn parentheses_in_text_are_not() {
        for s in [
            "Order #1234 (2 x 'Deluxe' plan) was charged twice",
            "f(x) = (a + b)",
            "see (a) and (b)",
            ":-) (smile)",
            "query Payments($first: Int!) { payments(first: $first) { id } }",
            "(555) 123-4567",
        ] {
            assert_eq!(score(s), 0, "{s}");
        }
    }
}
