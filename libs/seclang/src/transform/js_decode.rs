//! `t:jsDecode`: decodes JavaScript escapes, as ModSecurity v3 does.
//!
//! - `\uHHHH` keeps only the low byte, plus 0x20 for full-width ASCII (`\uFF01`..`\uFF5E`);
//! - `\xHH` is that byte;
//! - `\` and one to three octal digits is that byte (a first digit above `3` uses two digits);
//! - `\a \b \f \n \r \t \v` are the control characters, and `\` before any other byte is
//!   dropped (so a short `\u12` gives `u12` and `\x4` gives `x4`);
//! - a `\` at the very end stays.
//!
//! Only a lowercase `u` or `x` starts those escapes.

use super::{finish, hex_pair, hex_value, octal_run};
use std::borrow::Cow;

fn all_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| hex_value(b).is_some())
}

pub(super) fn js_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
        } else if i + 5 < input.len() && input[i + 1] == b'u' && all_hex(&input[i + 2..i + 6]) {
            let mut b = hex_pair(input[i + 4], input[i + 5]);
            let full_width =
                matches!(input[i + 2], b'f' | b'F') && matches!(input[i + 3], b'f' | b'F');
            if full_width && b > 0x00 && b < 0x5f {
                b += 0x20;
            }
            out.push(b);
            i += 6;
        } else if i + 3 < input.len() && input[i + 1] == b'x' && all_hex(&input[i + 2..i + 4]) {
            out.push(hex_pair(input[i + 2], input[i + 3]));
            i += 4;
        } else if let Some((mut value, mut digits)) = octal_run(input, i + 1) {
            if digits == 3 && input[i + 1] > b'3' {
                digits = 2;
                value /= 8;
            }
            out.push(value as u8);
            i += 1 + digits;
        } else if i + 1 < input.len() {
            out.push(match input[i + 1] {
                b'a' => 0x07,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => other,
            });
            i += 2;
        } else {
            out.push(b'\\');
            i += 1;
        }
    }
    finish(input, out)
}
