//! `@unconditionalMatch`: always matches.
use super::{OpContext, Operator};

#[derive(Debug)]
pub(super) struct UnconditionalMatch;

impl Operator for UnconditionalMatch {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, _input: &[u8]) -> bool {
        true
    }
}
