//! Decoding layers, applied to a fixed point with a depth limit.
//!
//! A value is decoded one layer at a time: percent-encoding (`%3C`, `%u003C`),
//! backslash escapes (JS `\u003c`, `\u{3c}`, `\x3c`, JSON `\n`, `\"`, `\/`),
//! HTML/XML character references (`&#x3c;`, `&#60;`, `&lt;`), and, when the
//! whole value looks like base64 and decodes to text, base64. Every layer that
//! changes the value gives one more variant; the detectors see all of them, so
//! neither the encoded nor the decoded form hides a payload.

use base64::Engine as _;
use std::borrow::Cow;

/// The value and every distinct decoded form of it, outermost first.
pub fn variants(value: &str, max_depth: usize) -> Vec<String> {
    let mut out = vec![value.to_string()];
    for _ in 0..max_depth {
        let cur = out.last().expect("holds the value");
        let p = percent(cur);
        let b = backslash(&p);
        let e = entities(&b);
        let next = if e == cur.as_str() {
            match base64_text(cur) {
                Some(text) => text,
                None => break,
            }
        } else {
            e.into_owned()
        };
        if out.contains(&next) {
            break;
        }
        out.push(next);
    }
    out
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

fn hex_run(bytes: &[u8], at: usize, n: usize) -> Option<u32> {
    let digits = bytes.get(at..at + n)?;
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some(acc * 16 + hex(d)?))
}

/// Pushes code point `c`; an invalid one (a lone surrogate) becomes U+FFFD.
fn push_code(out: &mut Vec<u8>, c: u32) {
    let ch = char::from_u32(c).unwrap_or('\u{fffd}');
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// One layer of percent-decoding (`%XX`, IIS `%uXXXX`); `+` is left alone.
pub fn percent(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = hex_run(b, i + 1, 2) {
                out.push(v as u8);
                i += 3;
                continue;
            }
            if matches!(b.get(i + 1), Some(b'u' | b'U'))
                && let Some(v) = hex_run(b, i + 2, 4)
            {
                push_code(&mut out, v);
                i += 6;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(text(overlong(out)))
}

/// Overlong UTF-8 forms of ASCII (`%c0%af` for `/`, `%c0%ae` for `.`), which
/// old decoders turned into the character, made that character.
fn overlong(bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.iter().any(|&c| c == 0xc0 || c == 0xc1) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (lead @ (0xc0 | 0xc1), Some(&cont)) if cont & 0xc0 == 0x80 => {
                out.push(((lead & 1) << 6) | (cont & 0x3f));
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// One layer of backslash escapes (JavaScript and JSON string escapes).
/// Unknown escapes (`\w` in `..\windows`) are kept as they are.
pub fn backslash(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let (code, used) = escape_at(b, i + 1);
        match code {
            Some(c) => {
                push_code(&mut out, c);
                i += 1 + used;
            }
            None => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    Cow::Owned(text(out))
}

/// The escape after a backslash at `at`: (code point, bytes used).
fn escape_at(b: &[u8], at: usize) -> (Option<u32>, usize) {
    match b[at] {
        b'u' if b.get(at + 1) == Some(&b'{') => {
            let end = b[at..].iter().position(|&c| c == b'}').map(|p| at + p);
            match end {
                Some(e) if e - at - 2 <= 6 && e > at + 2 => {
                    (hex_run(b, at + 2, e - at - 2), e - at + 1)
                }
                _ => (None, 0),
            }
        }
        b'u' => (hex_run(b, at + 1, 4), 5),
        b'x' => (hex_run(b, at + 1, 2), 3),
        b'n' => (Some(10), 1),
        b'r' => (Some(13), 1),
        b't' => (Some(9), 1),
        b'"' | b'\'' | b'/' | b'\\' => (Some(b[at] as u32), 1),
        _ => (None, 0),
    }
}

/// Named references worth decoding: the ones markup and payloads use.
const NAMED: &[(&str, char)] = &[
    ("lt", '<'),
    ("gt", '>'),
    ("amp", '&'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("colon", ':'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("lpar", '('),
    ("rpar", ')'),
    ("lbrace", '{'),
    ("rbrace", '}'),
    ("lcub", '{'),
    ("rcub", '}'),
    ("semi", ';'),
    ("equals", '='),
    ("dollar", '$'),
    ("num", '#'),
    ("excl", '!'),
    ("period", '.'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("grave", '`'),
    ("vert", '|'),
    ("ast", '*'),
    ("percnt", '%'),
];

/// One layer of HTML/XML character references; the `;` may be missing after
/// a numeric one, as browsers accept.
pub fn entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'&'
            && let Some((c, used)) = reference_at(b, i + 1)
        {
            push_code(&mut out, c);
            i += 1 + used;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(text(out))
}

/// The reference after `&` at `at`: (code point, bytes used including `;`).
fn reference_at(b: &[u8], at: usize) -> Option<(u32, usize)> {
    if b.get(at) == Some(&b'#') {
        let hexa = matches!(b.get(at + 1), Some(b'x' | b'X'));
        let start = at + 1 + hexa as usize;
        let radix = if hexa { 16 } else { 10 };
        let len = b[start..]
            .iter()
            .take(8)
            .take_while(|c| (**c as char).is_digit(radix))
            .count();
        if len == 0 {
            return None;
        }
        let digits = std::str::from_utf8(&b[start..start + len]).ok()?;
        let code = u32::from_str_radix(digits, radix).ok()?;
        let semi = (b.get(start + len) == Some(&b';')) as usize;
        return Some((code, start + len + semi - at));
    }
    let len = b[at..]
        .iter()
        .take(10)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if b.get(at + len) != Some(&b';') {
        return None;
    }
    let name = std::str::from_utf8(&b[at..at + len])
        .ok()?
        .to_ascii_lowercase();
    let (_, ch) = NAMED.iter().find(|(n, _)| *n == name)?;
    Some((*ch as u32, len + 1))
}

/// The text a value decodes to when the whole value looks like base64
/// (standard or URL-safe alphabet, at least 8 characters) and decodes to
/// readable UTF-8 text; `None` otherwise.
pub fn base64_text(s: &str) -> Option<String> {
    let t = s.trim();
    if t.len() < 8
        || !t
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=-_".contains(&c))
    {
        return None;
    }
    let body = t.trim_end_matches('=');
    if body.contains('=') || body.len() % 4 == 1 {
        return None;
    }
    let std = body.replace('-', "+").replace('_', "/");
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(std.as_bytes())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let readable = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\r' | '\n' | '\t'))
        .count();
    (readable * 10 >= text.chars().count() * 9 && readable > 0).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(s: &str) -> String {
        variants(s, 6).pop().unwrap()
    }

    #[test]
    fn layers_decode_to_a_fixed_point() {
        assert_eq!(last("%253Cscript%253E"), "<script>");
        assert_eq!(last("\\u003cimg src=x\\u003e"), "<img src=x>");
        assert_eq!(last("\\u{3c}b\\x3e"), "<b>");
        assert_eq!(last("&#x3c;svg&#62;&lt;"), "<svg><");
        assert_eq!(last("&amp;#x3c;p&amp;#x3e;"), "<p>");
        assert_eq!(last("JTNDc2NyaXB0JTNF"), "<script>"); // base64 of %3Cscript%3E
        assert_eq!(
            last("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
            "<script>alert(1)</script>"
        );
        assert_eq!(last("%u003Cx"), "<x");
        assert_eq!(last("..%c0%af..%c0%afetc"), "../../etc");
    }

    #[test]
    fn plain_text_is_left_alone() {
        assert_eq!(variants("Müller Jürgen", 5), vec!["Müller Jürgen"]);
        assert_eq!(variants("100% cotton", 5).len(), 1);
        assert_eq!(variants("Tom & Jerry", 5).len(), 1);
        assert_eq!(variants("..\\..\\windows\\win.ini", 5).len(), 1);
        // Words that happen to be valid base64 decode to binary, not text.
        assert_eq!(base64_text("articles"), None);
        assert_eq!(base64_text("SUCCEEDED"), None);
        assert_eq!(base64_text("short"), None);
    }

    #[test]
    fn depth_is_bounded() {
        let mut s = "<".to_string();
        for _ in 0..20 {
            s = s.replace('%', "%25").replace('<', "%3C");
        }
        let v = variants(&s, 5);
        assert_eq!(v.len(), 6);
        assert!(!v.last().unwrap().contains('<'));
    }

    #[test]
    fn broken_escapes_do_not_panic() {
        for s in [
            "%",
            "%u",
            "%u12",
            "\\",
            "\\u",
            "\\u{",
            "\\u{110000}",
            "&#",
            "&#x;",
            "&#99999999;",
            "\\ud800",
        ] {
            let _ = variants(s, 5);
        }
        assert_eq!(backslash("\\ud800"), "\u{fffd}");
    }
}
