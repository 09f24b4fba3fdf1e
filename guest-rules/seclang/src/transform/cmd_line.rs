//! `t:cmdLine`: normalises a command line the way ModSecurity does, against shell evasions.
//!
//! Removes `"`, `'`, `\` and `^`; turns each run of space, `,`, `;`, `\t`, `\r`, `\n` into one
//! space; removes a space written just before `/` or `(`; lowercases ASCII letters.

use super::finish;
use std::borrow::Cow;

pub(super) fn cmd_line(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len());
    let mut space = false;
    for &b in input {
        match b {
            b'"' | b'\'' | b'\\' | b'^' => {}
            b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            b'/' | b'(' => {
                if space {
                    out.pop();
                }
                space = false;
                out.push(b);
            }
            _ => {
                out.push(b.to_ascii_lowercase());
                space = false;
            }
        }
    }
    finish(input, out)
}
