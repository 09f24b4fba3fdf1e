//! `t:sha1`: the SHA-1 digest of the input, as 20 raw bytes.

use sha1::{Digest, Sha1};
use std::borrow::Cow;

pub(super) fn sha1(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(Sha1::digest(input).to_vec())
}
