//! `@ge`: the input, read as an integer, is greater than or equal to the (macro-expanded) argument.
use super::{OpContext, Operator, atoi};
use crate::macros::Macro;

#[derive(Debug)]
pub struct Ge(pub Macro);

impl Operator for Ge {
    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = ctx.arg(&self.0);
        atoi(input) >= atoi(&arg)
    }
}
