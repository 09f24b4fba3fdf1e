//! `t:trimRight`: removes trailing C `isspace` bytes.

use super::is_c_space;
use std::borrow::Cow;

pub(super) fn trim_right_slice(input: &[u8]) -> &[u8] {
    let end = input
        .iter()
        .rposition(|&b| !is_c_space(b))
        .map_or(0, |p| p + 1);
    &input[..end]
}

pub(super) fn trim_right(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(trim_right_slice(input))
}
