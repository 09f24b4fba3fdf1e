//! `@streq`: the input equals the (macro-expanded) argument.
use super::{OpContext, Operator};
use crate::macros::Macro;

#[derive(Debug)]
pub struct Streq(pub Macro);

impl Operator for Streq {
    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = (ctx.expand)(&self.0);
        let m = input == arg.as_slice();
        if m && ctx.capture {
            ctx.captures = vec![arg];
        }
        m
    }
}
