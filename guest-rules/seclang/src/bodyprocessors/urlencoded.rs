//! `application/x-www-form-urlencoded` (and query strings): split on the
//! separator, then name=value at the first `=`; `+` is a space, `%XX` decoded,
//! invalid escapes kept as written.

use super::Pair;

/// Decodes `%XX` and `+`; invalid escapes stay as they are.
pub fn decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(a), Some(b)) => {
                    out.push(a << 4 | b);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Parses `a=1&b=2`.
pub fn parse(body: &[u8], separator: u8) -> Vec<Pair> {
    body.split(|&b| b == separator)
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(eq) => (decode(&p[..eq]), decode(&p[eq + 1..])),
            None => (decode(p), Vec::new()),
        })
        .collect()
}
