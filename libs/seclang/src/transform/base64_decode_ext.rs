//! `t:base64DecodeExt`: forgiving base64 decoding, as ModSecurity v3 does it.
//!
//! - bytes outside the base64 alphabet (whitespace included) are skipped, and so is `=`;
//! - the bits of an unfinished last byte are dropped;
//! - the result is empty when a `=` comes right after the first character of a group of four
//!   and is not followed by another `=` (`Q=` alone, `QUJDR=x`).
//!
//! ModSecurity also empties the result when the input ends in `9` right after the first
//! character of a group (it compares the decoded value 61 with the character code of `=`);
//! that accident is not reproduced.

use std::borrow::Cow;

fn value(b: u8) -> Option<u32> {
    match b {
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

pub(super) fn base64_decode_ext(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let (mut count, mut acc, mut bits) = (0usize, 0u32, 0u32);
    for (i, &b) in input.iter().enumerate() {
        if b == b'=' {
            if count % 4 == 1 && input.get(i + 1) != Some(&b'=') {
                return Cow::Owned(Vec::new());
            }
            continue;
        }
        let Some(v) = value(b) else { continue };
        count += 1;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}
