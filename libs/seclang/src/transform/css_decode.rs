//! `t:cssDecode`: decodes CSS 2 escapes, as ModSecurity v3 does.
//!
//! - `\` and one to six hex digits becomes one byte: one digit is its value; otherwise the last
//!   two digits, with 0x20 added for full-width ASCII (`\FF01`..`\FF5E`, also as `\0FF01` or
//!   `\00FF01`). One whitespace byte after the digits is consumed;
//! - `\` and a newline are both removed; `\` before any other byte is dropped, keeping the byte;
//! - a `\` at the very end is removed.

use super::{finish, hex_pair, hex_value, is_c_space};
use std::borrow::Cow;

pub(super) fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        i += 1;
        if i >= input.len() {
            break;
        }
        let digits = input[i..]
            .iter()
            .take(6)
            .take_while(|&&b| hex_value(b).is_some())
            .count();
        if digits == 0 {
            if input[i] != b'\n' {
                out.push(input[i]);
            }
            i += 1;
            continue;
        }
        let hex = &input[i..i + digits];
        let byte = if digits == 1 {
            hex_value(hex[0]).unwrap_or(0)
        } else {
            hex_pair(hex[digits - 2], hex[digits - 1])
        };
        let full_width_check = match digits {
            4 => true,
            5 => hex[0] == b'0',
            6 => hex[0] == b'0' && hex[1] == b'0',
            _ => false,
        };
        let full_width = full_width_check
            && byte > 0x00
            && byte < 0x5f
            && matches!(hex[digits - 3], b'f' | b'F')
            && matches!(hex[digits - 4], b'f' | b'F');
        out.push(if full_width { byte + 0x20 } else { byte });
        i += digits;
        if i < input.len() && is_c_space(input[i]) {
            i += 1;
        }
    }
    finish(input, out)
}
