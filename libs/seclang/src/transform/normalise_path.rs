//! `t:normalizePath` (also spelled `normalisePath`): removes `.` and `..` segments and repeated
//! slashes, following ModSecurity v3's algorithm step for step.
//!
//! - an absolute path never goes above `/`; a relative one keeps the `..` it cannot resolve
//!   (`../../a` stays, `a/../../b` becomes `../b`);
//! - a trailing slash is kept only if the input had one; an empty result stays empty.

use super::finish;
use std::borrow::Cow;

pub(super) fn normalise_path(input: &[u8]) -> Cow<'_, [u8]> {
    if !may_change(input) {
        return Cow::Borrowed(input);
    }
    let mut buf = input.to_vec();
    normalise_in_place(&mut buf);
    finish(input, buf)
}

/// False when [`normalise_in_place`] leaves `s` as it is: it has no doubled
/// slash and no dot the algorithm acts on — one that ends a segment (at the
/// end or before `/`) right after the start, a `/` or another dot (`./`,
/// `a/..`, and also `a..`, which the algorithm reads as a back-reference).
/// Until the first change the output equals the input, so looking at the
/// input's own neighbours is exact.
pub(super) fn may_change(s: &[u8]) -> bool {
    let dot_acts = |i: usize| {
        s[i] == b'.'
            && (i + 1 == s.len() || s[i + 1] == b'/')
            && (i == 0 || s[i - 1] == b'.' || s[i - 1] == b'/')
    };
    s.windows(2).any(|w| w == b"//") || (0..s.len()).any(dot_acts)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of up to 9 bytes over `a . /`: the fast answer "unchanged"
    /// is given only where the full algorithm changes nothing.
    #[test]
    fn may_change_is_exact_where_it_says_unchanged() {
        let alphabet = [b'a', b'.', b'/'];
        let mut checked = 0;
        for len in 0..=9u32 {
            for n in 0..3usize.pow(len) {
                let mut k = n;
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[k % 3];
                        k /= 3;
                        b
                    })
                    .collect();
                let mut slow = s.clone();
                normalise_in_place(&mut slow);
                if !may_change(&s) {
                    assert_eq!(slow, s, "{:?}", String::from_utf8_lossy(&s));
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000);
        assert_eq!(normalise_path(b"5.5").as_ref(), b"5.5");
        assert_eq!(normalise_path(b"a/..").as_ref(), b"");
        assert_eq!(normalise_path(b"/a/./b").as_ref(), b"/a/b");
    }
}
