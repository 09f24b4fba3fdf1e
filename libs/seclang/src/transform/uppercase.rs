//! `t:uppercase`: ASCII `a`-`z` to `A`-`Z`; every other byte unchanged (C locale `toupper`).

use std::borrow::Cow;

pub(super) fn uppercase(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().any(u8::is_ascii_lowercase) {
        Cow::Owned(input.to_ascii_uppercase())
    } else {
        Cow::Borrowed(input)
    }
}
