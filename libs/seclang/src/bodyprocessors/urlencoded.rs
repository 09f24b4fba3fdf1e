//! `application/x-www-form-urlencoded` (and query strings): split on the
//! separator, then name=value at the first `=`; `+` is a space, `%XX` decoded,
//! invalid escapes kept as written.

use super::Pair;

/// Decodes `%XX` and `+`; invalid escapes stay as they are (the `urlDecode`
/// transformation).
pub(crate) fn decode(s: &[u8]) -> Vec<u8> {
    crate::transform::url_decode(s).into_owned()
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
