//! `t:utf8toUnicode`: writes each multi-byte UTF-8 character as `%uXXXX`, as ModSecurity v3 does.
//!
//! - ASCII stays, except that a NUL byte is dropped unless it is the last byte;
//! - a valid 2-, 3- or 4-byte sequence becomes `%u` and its code point in lowercase hex, padded
//!   to four digits (five or six when larger). For an overlong form or a UTF-16 surrogate the
//!   lead byte is appended after it (twice for an overlong surrogate), flagging the evasion;
//! - a lead byte 0xF5..0xF7 is copied before anything else is done with its sequence;
//! - a lead byte whose sequence is cut short or has a bad continuation byte is dropped (the
//!   following bytes are then read on their own); stray continuation bytes and 0xF8..0xFF stay.

use super::finish;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Sequence length a lead byte announces (2..=4), or `None` for ASCII and invalid leads.
fn sequence_len(lead: u8) -> Option<usize> {
    match lead {
        _ if lead & 0xe0 == 0xc0 => Some(2),
        _ if lead & 0xf0 == 0xe0 => Some(3),
        _ if lead & 0xf8 == 0xf0 => Some(4),
        _ => None,
    }
}

pub(super) fn utf8_to_unicode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().all(|&b| b != 0 && b < 0x80) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 2);
    let mut hex = String::new();
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c < 0x80 {
            if c != 0 || i + 1 == input.len() {
                out.push(c);
            }
            i += 1;
            continue;
        }
        let Some(n) = sequence_len(c) else {
            out.push(c);
            i += 1;
            continue;
        };
        if n == 4 && c >= 0xf5 {
            out.push(c);
        }
        let tail = input.get(i + 1..i + n);
        let valid = tail.is_some_and(|t| t.iter().all(|&b| b & 0xc0 == 0x80));
        let Some(tail) = tail.filter(|_| valid) else {
            i += 1;
            continue;
        };
        let lead_bits = u32::from(c) & (0x7f >> n);
        let code = tail
            .iter()
            .fold(lead_bits, |acc, &b| (acc << 6) | u32::from(b & 0x3f));
        hex.clear();
        let _ = write!(hex, "%u{code:04x}");
        out.extend_from_slice(hex.as_bytes());
        if (0xd800..=0xdfff).contains(&code) {
            out.push(c);
        }
        let shortest = match n {
            2 => 0x80,
            3 => 0x800,
            _ => 0x1_0000,
        };
        if code < shortest {
            out.push(c);
        }
        i += n;
    }
    finish(input, out)
}
