//! `t:replaceNulls`: replaces every NUL byte with a space.

use std::borrow::Cow;

pub(super) fn replace_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    if input.contains(&0) {
        Cow::Owned(
            input
                .iter()
                .map(|&b| if b == 0 { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(input)
    }
}
