//! `@pm`: case-insensitive match of any of a set of phrases (Aho-Corasick,
//! built once). With `capture`, TX.0 is the phrase found.
use super::{OpContext, Operator};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

#[derive(Debug)]
pub struct Pm {
    ac: AhoCorasick,
    /// The phrases, lower-cased (for the prefilter).
    phrases: Vec<Vec<u8>>,
}

impl Pm {
    pub fn new(phrases: Vec<String>) -> Result<Self, String> {
        if phrases.is_empty() {
            return Err("@pm needs at least one phrase".into());
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&phrases)
            .map_err(|e| format!("cannot build phrase matcher: {e}"))?;
        let phrases = phrases
            .iter()
            .map(|p| p.to_ascii_lowercase().into_bytes())
            .collect();
        Ok(Pm { ac, phrases })
    }
}

impl Operator for Pm {
    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        // An empty phrase matches everything: no literal is required then.
        (!self.phrases.iter().any(Vec::is_empty)).then(|| self.phrases.clone())
    }

    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        match self.ac.find(input) {
            Some(m) => {
                if ctx.capture {
                    ctx.captures = vec![input[m.start()..m.end()].to_vec()];
                }
                true
            }
            None => false,
        }
    }
}
