//! `t:lowercase`: ASCII `A`-`Z` to `a`-`z`; every other byte unchanged (C locale `tolower`).

use std::borrow::Cow;

pub(super) fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(input.to_ascii_lowercase())
    } else {
        Cow::Borrowed(input)
    }
}
