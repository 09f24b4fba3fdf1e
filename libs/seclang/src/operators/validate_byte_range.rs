//! `@validateByteRange`: matches when the input holds a byte outside the
//! allowed ranges (`1-255`, `9,10,13,32-126`).
use super::{OpContext, Operator};
use crate::transform::ByteSet;

#[derive(Debug)]
pub(super) struct ValidateByteRange {
    allowed: [bool; 256],
    /// The bytes outside the ranges.
    outside: ByteSet,
}

impl ValidateByteRange {
    pub(super) fn new(arg: &str) -> Result<Self, String> {
        let mut allowed = [false; 256];
        for part in arg.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let lo: u8 = lo
                .parse()
                .map_err(|_| format!("@validateByteRange: bad range {part:?}"))?;
            let hi: u8 = hi
                .parse()
                .map_err(|_| format!("@validateByteRange: bad range {part:?}"))?;
            if lo > hi {
                return Err(format!("@validateByteRange: bad range {part:?}"));
            }
            for b in lo..=hi {
                allowed[b as usize] = true;
            }
        }
        let outside: Vec<u8> = (0..=255u8).filter(|&b| !allowed[b as usize]).collect();
        Ok(ValidateByteRange {
            allowed,
            outside: ByteSet::of(&outside),
        })
    }
}

impl Operator for ValidateByteRange {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    /// The bytes outside the ranges: a value without one is valid.
    fn required_bytes(&self) -> Option<ByteSet> {
        Some(self.outside)
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        input.iter().any(|&b| !self.allowed[b as usize])
    }
}
