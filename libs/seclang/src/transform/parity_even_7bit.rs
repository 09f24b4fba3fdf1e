//! `t:parityEven7bit`: sets or clears the high bit of every byte for even parity. Like
//! ModSecurity, the parity is counted over all eight bits of the input byte.

use super::finish;
use std::borrow::Cow;

/// `byte` with its high bit set when all eight of its bits hold an odd number of ones (`even`)
/// or an even number of ones (`!even`), and cleared otherwise.
pub(super) fn with_parity(byte: u8, even: bool) -> u8 {
    let odd_ones = byte.count_ones() % 2 == 1;
    if odd_ones == even {
        byte | 0x80
    } else {
        byte & 0x7f
    }
}

pub(super) fn parity_even_7bit(input: &[u8]) -> Cow<'_, [u8]> {
    finish(input, input.iter().map(|&b| with_parity(b, true)).collect())
}
