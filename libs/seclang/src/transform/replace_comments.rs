//! `t:replaceComments`: replaces each C comment `/* ... */` with one space. An unterminated
//! comment runs to the end and also becomes one space; a lone `*/` stays.

use super::finish;
use std::borrow::Cow;

pub(super) fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.windows(2).any(|w| w == b"/*") {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut in_comment = false;
    let mut i = 0;
    while i < input.len() {
        let pair = input.get(i..i + 2);
        if !in_comment {
            if pair == Some(b"/*") {
                in_comment = true;
                i += 2;
            } else {
                out.push(input[i]);
                i += 1;
            }
        } else if pair == Some(b"*/") {
            in_comment = false;
            out.push(b' ');
            i += 2;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    finish(input, out)
}
