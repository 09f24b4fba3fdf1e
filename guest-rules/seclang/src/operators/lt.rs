//! `@lt`: the input, read as an integer, is less than the (macro-expanded) argument.
use super::{OpContext, Operator, atoi};
use crate::macros::Macro;

#[derive(Debug)]
pub struct Lt(pub Macro);

impl Operator for Lt {
    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = ctx.arg(&self.0);
        atoi(input) < atoi(&arg)
    }
}
