//! `t:trim`: removes leading and trailing C `isspace` bytes.

use super::{trim_left::trim_left_slice, trim_right::trim_right_slice};
use std::borrow::Cow;

pub(super) fn trim(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(trim_left_slice(trim_right_slice(input)))
}
