//! `t:htmlEntityDecode`: decodes HTML character references, as ModSecurity v3 (3.0.13+) does.
//!
//! - `&#xHH` (`x` or `X`) reads at most two hex digits and `&#DDD` at most three decimal digits
//!   after any number of leading zeros (ModSecurity issue 3340, CRS test 944150-23); the value
//!   keeps its low eight bits (`&#999;` is 0xE7) and digits past the limit stay text;
//! - named references: only `quot`, `amp`, `lt`, `gt` and `nbsp` (0xA0), case-insensitive,
//!   matched as a prefix of the alphanumeric run after `&` (`&ltfoo;` is `<`, consuming `ltfoo`);
//! - the `;` is optional and consumed when present;
//! - anything else (`&`, `&#`, `&#x` without digits, unknown names) stays as it is.

use super::finish;
use std::borrow::Cow;

const NAMED: &[(&[u8], u8)] = &[
    (b"quot", b'"'),
    (b"amp", b'&'),
    (b"lt", b'<'),
    (b"gt", b'>'),
    (b"nbsp", 0xa0),
];

/// Position after `end`, skipping one `;` if it is there.
fn after_semicolon(input: &[u8], end: usize) -> usize {
    if input.get(end) == Some(&b';') {
        end + 1
    } else {
        end
    }
}

/// Decodes the reference starting with the `&` at `input[at]`: `Ok((byte, next index))`, or
/// `Err(n)` when the first `n` bytes are to be copied unchanged.
fn reference(input: &[u8], at: usize) -> Result<(u8, usize), usize> {
    let len = input.len();
    if at + 1 >= len {
        return Err(1);
    }
    let mut j = at + 1;
    if input[j] == b'#' {
        if j + 1 >= len {
            return Err(2);
        }
        j += 1;
        let (radix, max, copied) = if matches!(input[j], b'x' | b'X') {
            if j + 1 >= len {
                return Err(3);
            }
            j += 1;
            (16, 2, 3)
        } else {
            (10, 3, 2)
        };
        let is_digit = |b: &u8| {
            if radix == 16 {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        };
        let zeros = input[j..].iter().take_while(|&&b| b == b'0').count();
        let digits = input[j + zeros..]
            .iter()
            .take(max)
            .take_while(|b| is_digit(b))
            .count();
        if zeros + digits == 0 {
            return Err(copied);
        }
        let value = input[j + zeros..j + zeros + digits]
            .iter()
            .fold(0u32, |acc, &b| {
                acc * radix + (b as char).to_digit(radix).unwrap_or(0)
            });
        return Ok((value as u8, after_semicolon(input, j + zeros + digits)));
    }
    let run = input[j..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if run == 0 {
        return Err(1);
    }
    let name = &input[j..j + run];
    for (entity, byte) in NAMED {
        if name.len() >= entity.len() && name[..entity.len()].eq_ignore_ascii_case(entity) {
            return Ok((*byte, after_semicolon(input, j + run)));
        }
    }
    Err(1 + run)
}

pub(super) fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'&') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'&' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        match reference(input, i) {
            Ok((b, next)) => {
                out.push(b);
                i = next;
            }
            Err(n) => {
                out.extend_from_slice(&input[i..i + n]);
                i += n;
            }
        }
    }
    finish(input, out)
}
