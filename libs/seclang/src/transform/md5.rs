//! `t:md5`: the MD5 digest of the input, as 16 raw bytes.

use md5::{Digest, Md5};
use std::borrow::Cow;

pub(super) fn md5(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(Md5::digest(input).to_vec())
}
