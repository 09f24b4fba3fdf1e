//! `@pm`: case-insensitive match of any of a set of phrases (Aho-Corasick,
//! built once). With `capture`, TX.0 is the phrase found.
use super::{OpContext, Operator};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// An automaton with a pattern longer than this is built as a contiguous
/// NFA, never as a DFA: aho-corasick's DFA construction follows failure links
/// as deep as the longest pattern from every state, so its time grows with
/// the square of a long pattern's length (one 20,000-byte `@pm` phrase: 3.6 s
/// to load; found by edgewaf-fuzz seclang), which a rules file must not be
/// able to cost. Sets of shorter patterns (all of the CRS's) keep the
/// builder's own choice.
pub(super) const DFA_MAX_PATTERN_LEN: usize = 256;

/// The automaton kind for these patterns (see [`DFA_MAX_PATTERN_LEN`]).
pub(crate) fn automaton_kind<P: AsRef<[u8]>>(patterns: &[P]) -> Option<AhoCorasickKind> {
    let longest = patterns.iter().map(|p| p.as_ref().len()).max();
    (longest > Some(DFA_MAX_PATTERN_LEN)).then_some(AhoCorasickKind::ContiguousNFA)
}

#[derive(Debug)]
pub(super) struct Pm {
    ac: AhoCorasick,
    /// The phrases, lower-cased (for the prefilter).
    phrases: Vec<Vec<u8>>,
}

impl Pm {
    pub(super) fn new(phrases: Vec<String>) -> Result<Self, String> {
        if phrases.is_empty() {
            return Err("@pm needs at least one phrase".into());
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .kind(automaton_kind(&phrases))
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
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz regression (edgewaf-fuzz seclang, a hang): a long phrase got
    /// aho-corasick's DFA, whose construction is quadratic in its length.
    #[test]
    fn long_phrases_get_the_contiguous_nfa() {
        let long = "m".repeat(20_000);
        let pm = Pm::new(vec![long.clone(), "b".into()]).unwrap();
        assert_eq!(pm.ac.kind(), AhoCorasickKind::ContiguousNFA);
        assert!(
            pm.ac
                .is_match(format!("x{}", long.to_uppercase()).as_bytes())
        );
        assert!(!pm.ac.is_match(&long.as_bytes()[1..]));
        assert_eq!(automaton_kind(&["a"; 1000]), None);
        assert_eq!(automaton_kind(&["a".repeat(256)]), None);
        assert_eq!(
            automaton_kind(&["a".repeat(257)]),
            Some(AhoCorasickKind::ContiguousNFA)
        );
    }
}
