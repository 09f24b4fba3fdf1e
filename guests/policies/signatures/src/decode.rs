//! Normalisation: undo the encodings attackers use to slip past signatures.
//!
//! One round applies, in order: percent-decoding (`%2e`, and IIS's `%u002e`),
//! overlong UTF-8 repair (`%c0%ae` is a `.` to a lax decoder), HTML-entity
//! decoding (`&lt;`, `&#x3c;`, `&#60`) and `\u003c` escapes (JSON, JavaScript). Rounds repeat until the text stops
//! changing, at most [`MAX_ROUNDS`] times, so `%252e%252e%252f` becomes `../`.
//! Finally NUL bytes are dropped, invalid UTF-8 is replaced and full-width
//! look-alikes of `. / \ < >` become ASCII.
//!
//! Each step is a pure function of its input, tested on its own below.

use std::borrow::Cow;

/// Upper bound on decoding rounds (each one may peel one layer of encoding).
pub const MAX_ROUNDS: usize = 4;

/// The value as the application behind the WAF might end up seeing it.
pub fn normalize(input: &[u8]) -> String {
    let mut cur: Cow<[u8]> = Cow::Borrowed(input);
    for _ in 0..MAX_ROUNDS {
        let next = decode_round(&cur);
        match next {
            Cow::Borrowed(_) => break,
            Cow::Owned(v) => {
                if v.as_slice() == cur.as_ref() {
                    break;
                }
                cur = Cow::Owned(v);
            }
        }
    }
    let without_nul: Cow<[u8]> = if cur.contains(&0) {
        Cow::Owned(cur.iter().copied().filter(|&b| b != 0).collect())
    } else {
        cur
    };
    let text = String::from_utf8_lossy(&without_nul);
    fold_lookalikes(&text)
}

/// One round of percent, overlong-UTF-8 and entity decoding. Borrowed when
/// there was nothing to decode.
fn decode_round(input: &[u8]) -> Cow<'_, [u8]> {
    let mut cur = Cow::Borrowed(input);
    if let Some(v) = percent_decode(&cur) {
        cur = Cow::Owned(v);
    }
    if let Some(v) = fix_overlong_utf8(&cur) {
        cur = Cow::Owned(v);
    }
    if let Some(v) = html_entity_decode(&cur) {
        cur = Cow::Owned(v);
    }
    if let Some(v) = js_unicode_decode(&cur) {
        cur = Cow::Owned(v);
    }
    cur
}

/// `\uXXXX` escapes (JSON and JavaScript strings), as found in raw or
/// truncated JSON bodies and in payloads aimed at script contexts. `None`
/// when there is none.
pub fn js_unicode_decode(input: &[u8]) -> Option<Vec<u8>> {
    if !input.windows(2).any(|w| w == b"\\u") {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'\\'
            && input.get(i + 1) == Some(&b'u')
            && let Some(ch) = input
                .get(i + 2..i + 6)
                .and_then(hex4)
                .filter(|&c| c != '\0')
        {
            push_char(&mut out, ch);
            i += 6;
            changed = true;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    changed.then_some(out)
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// Four hex digits as a character (`None` for a bad digit or a surrogate).
fn hex4(digits: &[u8]) -> Option<char> {
    digits
        .iter()
        .try_fold(0u32, |acc, &b| hex(b).map(|d| acc * 16 + d))
        .and_then(char::from_u32)
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// `%XX` and `%uXXXX`; `+` is left alone (forms were decoded by the SDK).
/// `None` when there is no valid escape.
pub fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'%') {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                changed = true;
                continue;
            }
            if matches!(input.get(i + 1), Some(b'u' | b'U'))
                && let Some(cp) = input.get(i + 2..i + 6).and_then(hex4)
            {
                push_char(&mut out, cp);
                i += 6;
                changed = true;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    changed.then_some(out)
}

/// Overlong UTF-8 forms of ASCII (`C0 AE` for `.`, `E0 80 AF` for `/`) become
/// the ASCII byte; strict decoders reject them, lax ones (and old IIS) do not.
pub fn fix_overlong_utf8(input: &[u8]) -> Option<Vec<u8>> {
    if !input.iter().any(|&b| b == 0xC0 || b == 0xC1 || b == 0xE0) {
        return None;
    }
    let cont = |b: Option<&u8>| b.copied().filter(|b| (0x80..=0xBF).contains(b));
    let mut out = Vec::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if (b == 0xC0 || b == 0xC1)
            && let Some(c1) = cont(input.get(i + 1))
        {
            out.push(((b & 0x1F) << 6) | (c1 & 0x3F));
            i += 2;
            changed = true;
            continue;
        }
        if b == 0xE0
            && let (Some(c1), Some(c2)) = (cont(input.get(i + 1)), cont(input.get(i + 2)))
            && c1 < 0x82
        {
            // E0 80..81 xx encodes a code point below 0x80: ASCII.
            out.push(((c1 & 0x3F) << 6) | (c2 & 0x3F));
            i += 3;
            changed = true;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

/// Named entities worth decoding for detection (HTML5 spelling, matched
/// without regard to case).
const ENTITIES: &[(&str, char)] = &[
    ("lt", '<'),
    ("gt", '>'),
    ("amp", '&'),
    ("quot", '"'),
    ("apos", '\''),
    ("colon", ':'),
    ("semi", ';'),
    ("comma", ','),
    ("period", '.'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("lpar", '('),
    ("rpar", ')'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lbrack", '['),
    ("rbrack", ']'),
    ("lcub", '{'),
    ("rcub", '}'),
    ("lbrace", '{'),
    ("rbrace", '}'),
    ("equals", '='),
    ("excl", '!'),
    ("quest", '?'),
    ("num", '#'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("plus", '+'),
    ("ast", '*'),
    ("grave", '`'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("nbsp", ' '),
];

/// `&name;`, `&#NN;` and `&#xHH;`, the `;` optional (as lenient decoders
/// have it). `None` when there is no entity.
pub fn html_entity_decode(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'&') {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'&'
            && let Some((ch, used)) = entity_at(&input[i + 1..])
        {
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            i += 1 + used;
            changed = true;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    changed.then_some(out)
}

/// The entity starting right after a `&`, and how many bytes it uses.
fn entity_at(s: &[u8]) -> Option<(char, usize)> {
    if let Some(rest) = s.strip_prefix(b"#") {
        let (radix, digits_at) = match rest.first() {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        let digits = s[digits_at..]
            .iter()
            .take_while(|b| (**b as char).is_digit(radix))
            .count();
        let all = &s[digits_at..digits_at + digits];
        // Leading zeros are allowed without limit (browsers do); bound the rest.
        let significant = &all[all.iter().take_while(|&&b| b == b'0').count()..];
        if digits == 0 || significant.is_empty() || significant.len() > 8 {
            return None;
        }
        let cp = u32::from_str_radix(std::str::from_utf8(significant).ok()?, radix).ok()?;
        let ch = char::from_u32(cp)?;
        let mut used = digits_at + digits;
        if s.get(used) == Some(&b';') {
            used += 1;
        }
        return Some((ch, used));
    }
    let name_len = s
        .iter()
        .take(10)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let name = std::str::from_utf8(&s[..name_len])
        .ok()?
        .to_ascii_lowercase();
    if let Some((_, ch)) = ENTITIES.iter().find(|(n, _)| *n == name) {
        let used = if s.get(name_len) == Some(&b';') {
            name_len + 1
        } else {
            name_len
        };
        return Some((*ch, used));
    }
    // Lenient decoders also take a known name glued to the next word
    // (`&lbracejndi:`): the longest known prefix.
    ENTITIES
        .iter()
        .filter(|(n, _)| name.starts_with(n))
        .max_by_key(|(n, _)| n.len())
        .map(|(n, ch)| (*ch, n.len()))
}

/// Full-width and other look-alikes of `. / \ < > '` that best-fit mappings
/// turn into ASCII on some servers.
fn fold_lookalikes(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            '\u{FF0E}' | '\u{2024}' => '.',
            '\u{FF0F}' | '\u{2215}' | '\u{2044}' => '/',
            '\u{FF3C}' | '\u{2216}' => '\\',
            '\u{FF1C}' | '\u{2039}' => '<',
            '\u{FF1E}' | '\u{203A}' => '>',
            '\u{FF07}' => '\'',
            '\u{FF02}' => '"',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_forms() {
        assert_eq!(percent_decode(b"%2e%2E%2f").unwrap(), b"../");
        assert_eq!(percent_decode(b"%u002e%U002F").unwrap(), b"./");
        assert_eq!(percent_decode(b"%u00e9").unwrap(), "é".as_bytes());
        assert_eq!(percent_decode(b"a+b"), None);
        assert_eq!(percent_decode(b"100%"), None);
        assert_eq!(percent_decode(b"%zz%4"), None);
        assert_eq!(
            percent_decode(b"%uD800x").as_deref(),
            None,
            "lone surrogate is not decoded"
        );
        assert_eq!(percent_decode(b"50%25").unwrap(), b"50%");
    }

    #[test]
    fn overlong_utf8() {
        assert_eq!(
            fix_overlong_utf8(&[0xC0, 0xAE, 0xC0, 0xAE, 0xC0, 0xAF]).unwrap(),
            b"../"
        );
        assert_eq!(fix_overlong_utf8(&[0xE0, 0x80, 0xAF]).unwrap(), b"/");
        assert_eq!(fix_overlong_utf8(&[0xC1, 0x9C]).unwrap(), b"\\");
        // Proper UTF-8 is untouched.
        assert_eq!(fix_overlong_utf8("àé€".as_bytes()), None);
        assert_eq!(fix_overlong_utf8(&[0xC0]), None);
    }

    #[test]
    fn entities() {
        assert_eq!(html_entity_decode(b"&lt;script&gt;").unwrap(), b"<script>");
        assert_eq!(
            html_entity_decode(b"&#60;&#x3C;&#X3c;&#0000060").unwrap(),
            b"<<<<"
        );
        assert_eq!(
            html_entity_decode(b"javascript&colon;alert&lpar;1&rpar;").unwrap(),
            b"javascript:alert(1)"
        );
        assert_eq!(html_entity_decode(b"&LT;b&GT").unwrap(), b"<b>");
        assert_eq!(
            html_entity_decode(b"Tom &amp; Jerry").unwrap(),
            b"Tom & Jerry"
        );
        // Without `;`, as lenient decoders do, also glued to the next word.
        assert_eq!(
            html_entity_decode(b"&colon &lbracejndi").unwrap(),
            b": {jndi"
        );
        assert_eq!(
            html_entity_decode(b"&#00000000000000000000000000000000000123;").unwrap(),
            b"{"
        );
        // Not entities: left as they are.
        assert_eq!(html_entity_decode(b"AT&T R&D Q&A &x &"), None);
        assert_eq!(
            html_entity_decode(b"&#;&#x;&#999999999;&#x110000;&#0;"),
            None
        );
    }

    #[test]
    fn js_unicode_escapes() {
        assert_eq!(
            js_unicode_decode(br"\u003cscript\u003E").unwrap(),
            b"<script>"
        );
        assert_eq!(js_unicode_decode(br"\u00e9").unwrap(), "é".as_bytes());
        assert_eq!(js_unicode_decode(br"C:\users\uXYZ1\u12"), None);
        assert_eq!(js_unicode_decode(br"\ud800 lone surrogate"), None);
        assert_eq!(js_unicode_decode(br"\u0000"), None);
        assert_eq!(
            normalize(br"%5Cu003csvg onload=x%5Cu003e"),
            "<svg onload=x>"
        );
    }

    #[test]
    fn normalize_repeats_until_stable() {
        assert_eq!(normalize(b"%252e%252e%252f"), "../");
        assert_eq!(normalize(b"%25252e%25252e%25252f"), "../");
        assert_eq!(normalize(b"..%c0%af..%c0%af"), "../../");
        assert_eq!(normalize(b"%26lt%3Bscript%26gt%3B"), "<script>");
        assert_eq!(normalize(b"&amp;lt;svg&amp;gt;"), "<svg>");
        assert_eq!(normalize(b"<scr\0ipt>"), "<script>");
        assert_eq!(normalize("\u{FF0E}\u{FF0E}\u{FF0F}".as_bytes()), "../");
    }

    #[test]
    fn normalize_is_bounded() {
        // Five layers of %25: only MAX_ROUNDS are peeled.
        let s = normalize(b"%2525252527");
        assert_ne!(s, "'");
        assert!(s.starts_with('%'), "{s}");
    }

    #[test]
    fn benign_text_unchanged() {
        for s in [
            "O'Brien",
            "price: 12.50 EUR",
            "/v1.2/file.tar.gz",
            "a+b=c",
            "100% sure",
            "AT&T",
        ] {
            assert_eq!(normalize(s.as_bytes()), s);
        }
        assert_eq!(normalize(&[0xff, b'a']), "\u{FFFD}a");
    }
}
