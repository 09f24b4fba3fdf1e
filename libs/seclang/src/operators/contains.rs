//! `@contains`: the input contains the (macro-expanded) argument.
use super::{OpContext, Operator};
use crate::macros::Macro;

#[derive(Debug)]
pub(super) struct Contains(pub Macro);

impl Operator for Contains {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Arg(&self.0)
    }

    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        super::fixed_literal(&self.0)
    }

    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = ctx.arg(&self.0);
        let found = arg.is_empty() || memfind(input, &arg).is_some();
        if found && ctx.capture {
            ctx.captures = vec![arg.to_vec()];
        }
        found
    }
}

pub(crate) fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    memchr::memmem::find(hay, needle)
}
