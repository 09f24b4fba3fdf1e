//! `@validateUtf8Encoding`: matches when the input is not valid UTF-8
//! (truncated or invalid sequences, overlong forms, surrogates, > U+10FFFF).
use super::{OpContext, Operator};
use crate::transform::ByteSet;

#[derive(Debug)]
pub(super) struct ValidateUtf8Encoding {
    /// 0x80-0xff: ASCII alone is valid UTF-8.
    high: ByteSet,
}

impl ValidateUtf8Encoding {
    pub(super) fn new() -> Self {
        let high: Vec<u8> = (0x80..=0xffu8).collect();
        ValidateUtf8Encoding {
            high: ByteSet::of(&high),
        }
    }
}

impl Operator for ValidateUtf8Encoding {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    /// An invalid input holds a byte from 0x80.
    fn required_bytes(&self) -> Option<ByteSet> {
        Some(self.high)
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        std::str::from_utf8(input).is_err()
    }
}
