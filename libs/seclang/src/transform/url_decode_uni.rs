//! `t:urlDecodeUni`: `urlDecode` plus IIS-style `%uXXXX` escapes.
//!
//! A `%uXXXX` escape becomes one byte: the code page 20127 best-fit ASCII byte when the table in
//! `unicode_best_fit.rs` has one (what ModSecurity does with its recommended `SecUnicodeMapFile
//! unicode.mapping 20127`, and what Coraza always does), otherwise the escape's low byte, plus
//! 0x20 for full-width ASCII (`%uFF01`..`%uFF5E`). A `%u` without four hex digits is kept as the
//! two bytes `%u`; a `%` without two hex digits is kept as is.

use super::unicode_best_fit::best_fit;
use super::{finish, hex_pair, hex_value};
use std::borrow::Cow;

pub(super) fn url_decode_uni(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(|&b| b == b'%' || b == b'+') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'+' {
            out.push(b' ');
            i += 1;
        } else if b != b'%' {
            out.push(b);
            i += 1;
        } else if i + 1 < input.len() && matches!(input[i + 1], b'u' | b'U') {
            match unicode_escape(input, i) {
                Some(decoded) => {
                    out.push(decoded);
                    i += 6;
                }
                None => {
                    out.extend_from_slice(&input[i..i + 2]);
                    i += 2;
                }
            }
        } else if i + 2 < input.len()
            && hex_value(input[i + 1]).is_some()
            && hex_value(input[i + 2]).is_some()
        {
            out.push(hex_pair(input[i + 1], input[i + 2]));
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    finish(input, out)
}

/// The byte `%uXXXX` at `input[at..]` decodes to, or `None` without four hex digits.
fn unicode_escape(input: &[u8], at: usize) -> Option<u8> {
    if at + 5 >= input.len() {
        return None;
    }
    let digits = &input[at + 2..at + 6];
    let mut code: u16 = 0;
    for &d in digits {
        code = (code << 4) | u16::from(hex_value(d)?);
    }
    if let Some(mapped) = best_fit(code) {
        return Some(mapped);
    }
    let low = hex_pair(digits[2], digits[3]);
    let full_width = matches!(digits[0], b'f' | b'F') && matches!(digits[1], b'f' | b'F');
    if full_width && low > 0x00 && low < 0x5f {
        Some(low + 0x20)
    } else {
        Some(low)
    }
}
