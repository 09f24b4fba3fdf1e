//! `t:length`: the input's length in bytes, as decimal digits.

use super::finish;
use std::borrow::Cow;

pub(super) fn length(input: &[u8]) -> Cow<'_, [u8]> {
    finish(input, input.len().to_string().into_bytes())
}
