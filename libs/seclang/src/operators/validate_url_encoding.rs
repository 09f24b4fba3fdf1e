//! `@validateUrlEncoding`: matches when the input holds an invalid
//! percent-encoding (a `%` not followed by two hex digits).
use super::{OpContext, Operator};

#[derive(Debug)]
pub(super) struct ValidateUrlEncoding;

impl Operator for ValidateUrlEncoding {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    /// Only a `%` can start an invalid encoding.
    fn required_bytes(&self) -> Option<crate::transform::ByteSet> {
        const PERCENT: crate::transform::ByteSet = crate::transform::ByteSet::range(b'%', b'%');
        Some(PERCENT)
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let mut i = 0;
        while i < input.len() {
            if input[i] == b'%' {
                if i + 2 >= input.len() {
                    return true;
                }
                if !(input[i + 1].is_ascii_hexdigit() && input[i + 2].is_ascii_hexdigit()) {
                    return true;
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        false
    }
}
