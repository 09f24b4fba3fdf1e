//! `@beginsWith`: the input starts with the (macro-expanded) argument.
use super::{OpContext, Operator};
use crate::macros::Macro;

#[derive(Debug)]
pub struct BeginsWith(pub Macro);

impl Operator for BeginsWith {
    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = (ctx.expand)(&self.0);
        input.starts_with(&arg)
    }
}
