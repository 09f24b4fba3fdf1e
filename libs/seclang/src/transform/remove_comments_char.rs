//! `t:removeCommentsChar`: removes the comment markers `/*`, `*/`, `<!--`, `-->`, `--` and `#`
//! wherever they appear, keeping what is between them.

use super::finish;
use std::borrow::Cow;

const MARKERS: &[&[u8]] = &[b"/*", b"*/", b"<!--", b"-->", b"--", b"#"];

pub(super) fn remove_comments_char(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match MARKERS.iter().find(|m| input[i..].starts_with(m)) {
            Some(m) => i += m.len(),
            None => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    finish(input, out)
}
