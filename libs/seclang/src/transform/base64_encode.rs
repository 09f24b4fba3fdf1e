//! `t:base64Encode`: standard base64 (RFC 4648 alphabet, `=` padding).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::borrow::Cow;

pub(super) fn base64_encode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    Cow::Owned(STANDARD.encode(input).into_bytes())
}
