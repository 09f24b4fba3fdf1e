//! `t:escapeSeqDecode`: decodes ANSI C escape sequences, as ModSecurity v3 does.
//!
//! `\a \b \f \n \r \t \v \\ \? \' \"`, `\xHH` (`x` or `X`, exactly two hex digits) and `\` with one
//! to three octal digits (the value keeps its low eight bits). Before any other byte, or before
//! a short `\x`, the `\` is dropped and the byte kept. A `\` at the very end stays.

use super::{finish, hex_pair, hex_value, octal_run};
use std::borrow::Cow;

pub(super) fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'\\' || i + 1 >= input.len() {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let next = input[i + 1];
        let simple = match next {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'?' | b'\'' | b'"' => Some(next),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
        } else if matches!(next, b'x' | b'X')
            && i + 3 < input.len()
            && hex_value(input[i + 2]).is_some()
            && hex_value(input[i + 3]).is_some()
        {
            out.push(hex_pair(input[i + 2], input[i + 3]));
            i += 4;
        } else if let (false, Some((value, digits))) =
            (matches!(next, b'x' | b'X'), octal_run(input, i + 1))
        {
            out.push(value as u8);
            i += 1 + digits;
        } else {
            out.push(next);
            i += 2;
        }
    }
    finish(input, out)
}
