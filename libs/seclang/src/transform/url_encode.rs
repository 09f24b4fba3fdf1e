//! `t:urlEncode`: space to `+`; ASCII letters, digits and `*` kept; every other byte as `%xx`
//! (lowercase hex), as ModSecurity does.

use super::finish;
use std::borrow::Cow;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

pub(super) fn url_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len() * 3);
    for &b in input {
        if b == b' ' {
            out.push(b'+');
        } else if b == b'*' || b.is_ascii_alphanumeric() {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'%',
                DIGITS[usize::from(b >> 4)],
                DIGITS[usize::from(b & 0x0f)],
            ]);
        }
    }
    finish(input, out)
}
