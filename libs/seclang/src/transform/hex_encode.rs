//! `t:hexEncode`: each byte as two lowercase hex digits.

use super::finish;
use std::borrow::Cow;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

pub(super) fn hex_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len() * 2);
    for &b in input {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
    finish(input, out)
}
