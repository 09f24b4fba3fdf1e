//! `@detectXSS`: libinjection's XSS detection.
use super::{OpContext, Operator};

#[derive(Debug)]
pub(super) struct DetectXss;

impl Operator for DetectXss {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    fn required_bytes(&self) -> Option<crate::transform::ByteSet> {
        Some(crate::transform::ByteSet::of(&crate::injection::XSS_NEEDS))
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        crate::injection::detect_xss(input)
    }
}
