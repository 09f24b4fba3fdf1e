//! `t:normalizePathWin` (also spelled `normalisePathWin`): converts every `\` to `/` first, then
//! normalises exactly as `t:normalizePath` does, so no backslash survives.
//!
//! ModSecurity v3 converts lazily inside its normalisation loop instead, so where a run mixes `/`
//! and `\` it can leave a `\` in its output or read a segment differently (`///\..` gives `\`
//! there and an empty string here). Converting first is what Coraza does and what the engine
//! wants; a path without `\` gives exactly ModSecurity's result.

use super::finish;
use super::normalise_path::normalise_in_place;
use std::borrow::Cow;

pub(super) fn normalise_path_win(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return super::normalise_path::normalise_path(input);
    }
    let mut buf: Vec<u8> = input
        .iter()
        .map(|&b| if b == b'\\' { b'/' } else { b })
        .collect();
    normalise_in_place(&mut buf);
    finish(input, buf)
}
