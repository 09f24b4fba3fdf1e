//! `@noMatch`: never matches.
use super::{OpContext, Operator};

#[derive(Debug)]
pub(super) struct NoMatch;

impl Operator for NoMatch {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, _input: &[u8]) -> bool {
        false
    }
}
