//! `t:normalizePath` (also spelled `normalisePath`): removes `.` and `..` segments and repeated
//! slashes, following ModSecurity v3's algorithm step for step.
//!
//! - an absolute path never goes above `/`; a relative one keeps the `..` it cannot resolve
//!   (`../../a` stays, `a/../../b` becomes `../b`);
//! - a trailing slash is kept only if the input had one; an empty result stays empty.

use super::finish;
use std::borrow::Cow;

pub(super) fn normalise_path(input: &[u8]) -> Cow<'_, [u8]> {
    // No dot and no doubled slash: no segment to remove.
    if !input.contains(&b'.') && !input.windows(2).any(|w| w == b"//") {
        return Cow::Borrowed(input);
    }
    let mut buf = input.to_vec();
    normalise_in_place(&mut buf);
    finish(input, buf)
}

/// Normalises `buf` in place (only `/` separates segments here).
pub(super) fn normalise_in_place(buf: &mut Vec<u8>) {
    if buf.is_empty() {
        return;
    }
    let end = buf.len() - 1;
    let relative = buf[0] != b'/';
    let trailing = buf[end] == b'/';
    let (mut src, mut dst): (usize, isize) = (0, 0);
    let mut hit_root = false;
    let mut done = false;
    while !done && src <= end {
        let mut normalise = true;
        if src == end {
            done = true;
        } else if buf[src + 1] != b'/' {
            normalise = false;
        }
        if normalise && !(src != end && buf[src] == b'/') && buf[src] == b'.' {
            let prev = |dst: isize, buf: &[u8]| {
                if dst > 0 {
                    Some(buf[(dst - 1) as usize])
                } else {
                    None
                }
            };
            if prev(dst, buf) == Some(b'.') {
                // A back-reference: drop it and the segment before it, if there is one.
                if relative && (hit_root || dst - 2 <= 0) {
                    hit_root = true;
                } else {
                    dst -= 3;
                    while dst > 0 && buf[dst as usize] != b'/' {
                        dst -= 1;
                    }
                    if dst <= 0 {
                        hit_root = true;
                        dst = 0;
                        if !relative && src == end {
                            dst += 1;
                        }
                    }
                    if done {
                        continue;
                    }
                    src += 1;
                }
            } else if dst == 0 {
                // A self-reference at the start of a relative path.
                if done {
                    continue;
                }
                src += 1;
            } else if prev(dst, buf) == Some(b'/') {
                // A self-reference.
                if done {
                    continue;
                }
                dst -= 1;
                src += 1;
            }
        } else if normalise && !(src != end && buf[src] == b'/') && dst > 0 {
            // A regular segment.
            hit_root = false;
        }
        // Copy the byte, collapsing repeated slashes onto the last one.
        if buf[src] == b'/' {
            while src < end && buf[src + 1] == b'/' {
                src += 1;
            }
            if relative && dst == 0 {
                src += 1;
                continue;
            }
        }
        buf[dst as usize] = buf[src];
        dst += 1;
        src += 1;
    }
    if !trailing && dst > 0 && buf[(dst - 1) as usize] == b'/' {
        dst -= 1;
    }
    buf.truncate(dst.max(0) as usize);
}
