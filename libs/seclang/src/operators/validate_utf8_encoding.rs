//! `@validateUtf8Encoding`: matches when the input is not valid UTF-8
//! (truncated or invalid sequences, overlong forms, surrogates, > U+10FFFF).
use super::{OpContext, Operator};
use crate::transform::ByteSet;

#[derive(Debug)]
pub(super) struct ValidateUtf8Encoding;

impl Operator for ValidateUtf8Encoding {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    /// ASCII alone is valid UTF-8: an invalid input holds a byte from 0x80.
    fn required_bytes(&self) -> Option<ByteSet> {
        const HIGH: ByteSet = ByteSet::range(0x80, 0xff);
        Some(HIGH)
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        std::str::from_utf8(input).is_err()
    }
}
