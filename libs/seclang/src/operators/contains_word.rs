//! `@containsWord`: the argument occurs in the input with word boundaries
//! (non-word characters or the string ends) on both sides.
use super::{OpContext, Operator};
use crate::macros::Macro;

#[derive(Debug)]
pub(super) struct ContainsWord(pub Macro);

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Operator for ContainsWord {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Arg(&self.0)
    }

    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        super::fixed_literal(&self.0)
    }

    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let arg = ctx.arg(&self.0);
        if arg.is_empty() {
            return true;
        }
        if input.len() < arg.len() {
            return false;
        }
        for i in 0..=input.len() - arg.len() {
            if input[i..i + arg.len()] == arg[..] {
                let before = i == 0 || !is_word(input[i - 1]);
                let after = i + arg.len() == input.len() || !is_word(input[i + arg.len()]);
                if before && after {
                    if ctx.capture {
                        ctx.captures = vec![arg.to_vec()];
                    }
                    return true;
                }
            }
        }
        false
    }
}
