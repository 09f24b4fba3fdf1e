//! `t:removeComments`: removes comments, as ModSecurity v3 (and Coraza) do.
//!
//! - `/* ... */` and `<!-- ... -->` are removed; an unterminated one runs to the end and
//!   becomes one space;
//! - `--` or `#` outside a comment removes everything from there to the end;
//! - quirk kept for parity: the byte right after a closing `*/` or `-->` is copied without
//!   being examined (so it cannot open another comment), and when the comment closes at the
//!   very end a NUL byte is written in its place (ModSecurity copies its string terminator).

use super::finish;
use std::borrow::Cow;

pub(super) fn remove_comments(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    let at = |i: usize| input.get(i).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(len);
    let mut in_comment = false;
    let mut i = 0;
    while i < len {
        if !in_comment {
            if input[i..].starts_with(b"/*") {
                in_comment = true;
                i += 2;
            } else if input[i..].starts_with(b"<!--") {
                in_comment = true;
                i += 4;
            } else if input[i..].starts_with(b"--") || input[i] == b'#' {
                break;
            } else {
                out.push(input[i]);
                i += 1;
            }
        } else {
            let close = if input[i..].starts_with(b"*/") {
                2
            } else if input[i..].starts_with(b"-->") {
                3
            } else {
                0
            };
            if close == 0 {
                i += 1;
            } else {
                in_comment = false;
                i += close;
                out.push(at(i));
                i += 1;
            }
        }
    }
    if in_comment {
        out.push(b' ');
    }
    finish(input, out)
}
