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
    let trailing = buf[end] == b'/';
    let mut walk = Walk {
        src: 0,
        dst: 0,
        end,
        relative: buf[0] != b'/',
        hit_root: false,
    };
    let mut done = false;
    while !done && walk.src <= end {
        let src = walk.src;
        // A byte ends a segment when the input ends or a slash follows it.
        let ends_segment = if src == end {
            done = true;
            true
        } else {
            buf[src + 1] == b'/'
        };
        let ends_segment = ends_segment && !(src != end && buf[src] == b'/');
        if ends_segment && buf[src] == b'.' {
            if walk.dot(buf, done) {
                break;
            }
        } else if ends_segment && walk.dst > 0 {
            // A regular segment.
            walk.hit_root = false;
        }
        walk.copy(buf);
    }
    let mut dst = walk.dst;
    if !trailing && dst > 0 && buf[(dst - 1) as usize] == b'/' {
        dst -= 1;
    }
    buf.truncate(dst.max(0) as usize);
}

/// The two cursors of the in-place walk: `src` reads, `dst` writes (it can go below zero
/// while a back-reference is resolved).
struct Walk {
    src: usize,
    dst: isize,
    end: usize,
    relative: bool,
    hit_root: bool,
}

impl Walk {
    /// A `.` that ends a segment: after another `.` a back-reference, which drops the segment
    /// written before it (if there is one); after `/` or at the start a self-reference, which
    /// is dropped. True when the input ends here with nothing more to copy.
    fn dot(&mut self, buf: &[u8], done: bool) -> bool {
        let prev = (self.dst > 0).then(|| buf[(self.dst - 1) as usize]);
        match prev {
            Some(b'.') => {
                if self.relative && (self.hit_root || self.dst - 2 <= 0) {
                    self.hit_root = true;
                    return false;
                }
                self.dst -= 3;
                while self.dst > 0 && buf[self.dst as usize] != b'/' {
                    self.dst -= 1;
                }
                if self.dst <= 0 {
                    self.hit_root = true;
                    self.dst = if !self.relative && self.src == self.end {
                        1
                    } else {
                        0
                    };
                }
            }
            None => {}
            Some(b'/') => {
                if done {
                    return true;
                }
                self.dst -= 1;
            }
            Some(_) => return false,
        }
        if done {
            return true;
        }
        self.src += 1;
        false
    }

    /// Copies the byte at `src` to `dst`, collapsing repeated slashes onto the last one (a
    /// relative path drops its leading slashes).
    fn copy(&mut self, buf: &mut [u8]) {
        if buf[self.src] == b'/' {
            while self.src < self.end && buf[self.src + 1] == b'/' {
                self.src += 1;
            }
            if self.relative && self.dst == 0 {
                self.src += 1;
                return;
            }
        }
        buf[self.dst as usize] = buf[self.src];
        self.dst += 1;
        self.src += 1;
    }
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
