//! `@endsWith`: the input ends with the (macro-expanded) argument.
use super::{OpContext, Operator};
use crate::macros::Macro;

#[derive(Debug)]
pub struct EndsWith(pub Macro);

impl Operator for EndsWith {
    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = (ctx.expand)(&self.0);
        input.ends_with(&arg)
    }
}
