//! `@beginsWith`: the input starts with the (macro-expanded) argument.
use super::{OpContext, Operator};
use crate::macros::Macro;

#[derive(Debug)]
pub(super) struct BeginsWith(pub Macro);

impl Operator for BeginsWith {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Arg(&self.0)
    }

    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        super::fixed_literal(&self.0)
    }

    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = ctx.arg(&self.0);
        input.starts_with(&arg)
    }
}
