//! `t:removeNulls`: removes every NUL byte.

use std::borrow::Cow;

pub(super) fn remove_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    if input.contains(&0) {
        Cow::Owned(input.iter().copied().filter(|&b| b != 0).collect())
    } else {
        Cow::Borrowed(input)
    }
}
