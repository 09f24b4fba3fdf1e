//! A rule's list of transformations, run step by step: a step whose trigger
//! bytes ([`super::chain_exact_triggers`] of that one transformation) its
//! input does not hold would return the input unchanged, so it is not
//! called. The bytes of the input are known for the value itself (the
//! caller passes them) and worked out once after each step that changed it,
//! only when a later step has triggers to test.

use super::{ByteSet, TransformFn, chain_exact_triggers};
use std::borrow::Cow;

/// Transformations in order, each with the bytes that can make it change
/// its input (`None`: any input may change).
#[derive(Debug, Clone)]
pub(crate) struct Steps {
    fns: Vec<TransformFn>,
    triggers: Vec<Option<ByteSet>>,
    /// The union of `triggers` (`None` when one of them is).
    all: Option<ByteSet>,
}

impl Default for Steps {
    /// No transformation: nothing changes any value.
    fn default() -> Steps {
        Steps::new(Vec::new())
    }
}

impl Steps {
    pub(crate) fn new(fns: Vec<TransformFn>) -> Steps {
        let triggers: Vec<Option<ByteSet>> = fns
            .iter()
            .map(|f| chain_exact_triggers(std::slice::from_ref(f)))
            .collect();
        let all = triggers
            .iter()
            .try_fold(ByteSet::default(), |acc, t| Some(acc.union((*t)?)));
        Steps { fns, triggers, all }
    }

    /// The bytes that can make the list change a value at all (`None`: any
    /// value may change); a value without them comes out as it went in.
    pub(crate) fn triggers(&self) -> Option<ByteSet> {
        self.all
    }

    /// The transformations.
    pub(crate) fn fns(&self) -> &[TransformFn] {
        &self.fns
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fns.is_empty()
    }

    /// Runs the steps over `value` (`bytes`: the bytes it holds, when the
    /// caller knows them). `changed` sees every step's result that differs
    /// from that step's input, in order (multiMatch's intermediate values).
    /// Returns the last of them, or `None` when no step changed anything.
    pub(crate) fn run(
        &self,
        value: &[u8],
        bytes: Option<ByteSet>,
        mut changed: impl FnMut(&[u8]),
    ) -> Option<Vec<u8>> {
        let mut cur: Option<Vec<u8>> = None;
        let mut known = bytes;
        for (f, triggers) in self.fns.iter().zip(&self.triggers) {
            let input: &[u8] = cur.as_deref().unwrap_or(value);
            if let Some(t) = triggers {
                let held = *known.get_or_insert_with(|| ByteSet::of(input));
                if !t.intersects(held) {
                    continue;
                }
            }
            if let Cow::Owned(o) = f(input)
                && o != input
            {
                changed(&o);
                cur = Some(o);
                known = None;
            }
        }
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::Steps;
    use crate::transform::{ByteSet, TransformFn, chain_exact_triggers, lookup};
    use std::borrow::Cow;

    /// Every step called, as the engine did before steps were skipped.
    fn plain(fns: &[TransformFn], value: &[u8]) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
        let mut seen = Vec::new();
        let mut cur = value.to_vec();
        for f in fns {
            if let Cow::Owned(o) = f(&cur)
                && o != cur
            {
                seen.push(o.clone());
                cur = o;
            }
        }
        let last = seen.last().cloned();
        (seen, last)
    }

    #[test]
    fn skipping_steps_gives_what_running_every_step_gives() {
        let chains: &[&[&str]] = &[
            &[
                "urlDecodeUni",
                "jsDecode",
                "removeWhitespace",
                "base64Decode",
            ],
            &[
                "urlDecodeUni",
                "jsDecode",
                "base64Decode",
                "urlDecodeUni",
                "jsDecode",
                "replaceComments",
            ],
            &["utf8toUnicode", "urlDecodeUni", "removeNulls", "cmdLine"],
            &[
                "lowercase",
                "normalizePath",
                "compressWhitespace",
                "htmlEntityDecode",
            ],
            &[
                "cmdLine",
                "lowercase",
                "trim",
                "sqlHexDecode",
                "removeComments",
            ],
        ];
        let values: &[&[u8]] = &[
            b"",
            b"plain",
            b"Plain Value",
            b"a%20b+c",
            b"ZXZhbCgp",
            b"JTNDc2NyaXB0JTNF",
            b"\\x41\\u0042/*c*/ d",
            b"0x414243 /../etc//passwd",
            b"&lt;SCRIPT&gt;\0",
            b"\xc3\xa9t\xc3\xa9 ^c,a;t",
        ];
        for names in chains {
            let fns: Vec<TransformFn> = names.iter().map(|n| lookup(n).unwrap()).collect();
            let steps = Steps::new(fns.clone());
            assert_eq!(steps.triggers(), chain_exact_triggers(&fns), "{names:?}");
            for v in values {
                let want = plain(&fns, v);
                for bytes in [None, Some(ByteSet::of(v))] {
                    let mut seen = Vec::new();
                    let last = steps.run(v, bytes, |s| seen.push(s.to_vec()));
                    assert_eq!((seen, last), want, "{names:?} on {v:?} (bytes {bytes:?})");
                }
            }
        }
    }
}
