//! `t:removeNulls`: removes every NUL byte.

use std::borrow::Cow;

pub(super) fn remove_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    if input.contains(&0) {
        let mut out = Vec::with_capacity(input.len());
        out.extend(input.iter().copied().filter(|&b| b != 0));
        Cow::Owned(out)
    } else {
        Cow::Borrowed(input)
    }
}
