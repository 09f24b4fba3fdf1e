//! `t:parityOdd7bit`: sets or clears the high bit of every byte for odd parity,
//! counted over all eight bits of the input byte as ModSecurity does.

use super::finish;
use super::parity_even_7bit::with_parity;
use std::borrow::Cow;

pub(super) fn parity_odd_7bit(input: &[u8]) -> Cow<'_, [u8]> {
    finish(
        input,
        input.iter().map(|&b| with_parity(b, false)).collect(),
    )
}
