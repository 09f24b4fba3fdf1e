//! `@lt`: the input, read as an integer, is less than the (macro-expanded) argument.
use super::{OpContext, Operator, atoi};
use crate::macros::Macro;

#[derive(Debug)]
pub(super) struct Lt(pub Macro);

impl Operator for Lt {
    fn numeric_compare(&self) -> Option<(super::Compare, i64)> {
        Some((super::Compare::Lt, super::fixed_number(&self.0)?))
    }

    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Arg(&self.0)
    }

    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = ctx.arg(&self.0);
        atoi(input) < atoi(&arg)
    }
}
