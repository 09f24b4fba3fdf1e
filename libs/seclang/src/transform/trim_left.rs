//! `t:trimLeft`: removes leading C `isspace` bytes.

use super::is_c_space;
use std::borrow::Cow;

pub(super) fn trim_left_slice(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(input.len());
    &input[start..]
}

pub(super) fn trim_left(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(trim_left_slice(input))
}
