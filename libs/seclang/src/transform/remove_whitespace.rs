//! `t:removeWhitespace`: removes C `isspace` bytes (space, `\t`, `\n`, `\v`, `\f`, `\r`) and the
//! bytes 0xA0 and 0xC2, so a Latin-1 or UTF-8 (`C2 A0`) no-break space goes too. Like
//! ModSecurity v3 this works on bytes: a 0xC2 or 0xA0 inside another UTF-8 character is removed
//! as well.

use super::is_c_space;
use std::borrow::Cow;

fn removed(b: u8) -> bool {
    is_c_space(b) || b == 0xa0 || b == 0xc2
}

pub(super) fn remove_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().any(|&b| removed(b)) {
        // Room for all of it at once: collecting a filter grows the vector
        // step by step.
        let mut out = Vec::with_capacity(input.len());
        out.extend(input.iter().copied().filter(|&b| !removed(b)));
        Cow::Owned(out)
    } else {
        Cow::Borrowed(input)
    }
}
