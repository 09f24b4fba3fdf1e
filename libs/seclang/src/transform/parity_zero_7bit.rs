//! `t:parityZero7bit`: clears the high bit of every byte.

use super::finish;
use std::borrow::Cow;

pub(super) fn parity_zero_7bit(input: &[u8]) -> Cow<'_, [u8]> {
    finish(input, input.iter().map(|&b| b & 0x7f).collect())
}
