//! `@within`: the input occurs within the (macro-expanded) argument. An empty
//! input never matches.
use super::contains::memfind;
use super::{OpContext, Operator};
use crate::macros::Macro;

#[derive(Debug)]
pub(super) struct Within(pub Macro);

impl Operator for Within {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Arg(&self.0)
    }

    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        if input.is_empty() {
            return false;
        }
        let arg = ctx.arg(&self.0);
        let m = memfind(&arg, input).is_some();
        if m && ctx.capture {
            ctx.captures = vec![input.to_vec()];
        }
        m
    }
}
