//! `@strmatch`: the input contains the literal argument (compiled once).
use super::{OpContext, Operator};
use aho_corasick::AhoCorasick;

#[derive(Debug)]
pub(super) struct Strmatch(Option<AhoCorasick>);

impl Strmatch {
    pub(super) fn new(arg: &str) -> Self {
        Strmatch(if arg.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .kind(super::pm::automaton_kind(&[arg]))
                .build([arg])
                .ok()
        })
    }
}

impl Operator for Strmatch {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        match &self.0 {
            None => true,
            Some(ac) => ac.is_match(input),
        }
    }
}
