//! `t:hexDecode`: decodes pairs of hex digits into bytes.
//!
//! Like ModSecurity v3 the pairs are not validated: a non-hex character takes the value C's
//! `x2c` arithmetic gives it (wrapping), and an odd final character is dropped.

use super::finish;
use std::borrow::Cow;

/// ModSecurity's `xsingle2c`: the digit value of `c`, computed without checking it is hex.
fn loose_digit(c: u8) -> u8 {
    if c >= b'A' {
        (c & 0xdf).wrapping_sub(b'A').wrapping_add(10)
    } else {
        c.wrapping_sub(b'0')
    }
}

pub(super) fn hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let out = input
        .chunks_exact(2)
        .map(|p| {
            loose_digit(p[0])
                .wrapping_mul(16)
                .wrapping_add(loose_digit(p[1]))
        })
        .collect();
    finish(input, out)
}
