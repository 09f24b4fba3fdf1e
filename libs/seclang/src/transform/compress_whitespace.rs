//! `t:compressWhitespace`: each run of C `isspace` bytes (space, `\t`, `\n`, `\v`, `\f`, `\r`)
//! becomes one space. Bytes above 0x7F are never whitespace (ModSecurity v3, C locale).

use super::{finish, is_c_space};
use std::borrow::Cow;

pub(super) fn compress_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(|&b| is_c_space(b)) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut in_space = false;
    for &b in input {
        if is_c_space(b) {
            if !in_space {
                out.push(b' ');
                in_space = true;
            }
        } else {
            out.push(b);
            in_space = false;
        }
    }
    finish(input, out)
}
