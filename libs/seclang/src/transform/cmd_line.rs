//! `t:cmdLine`: normalises a command line the way ModSecurity does, against shell evasions.
//!
//! Removes `"`, `'`, `\` and `^`; turns each run of space, `,`, `;`, `\t`, `\r`, `\n` into one
//! space; removes a space written just before `/` or `(`; lowercases ASCII letters.

use super::finish;
use std::borrow::Cow;

pub(super) fn cmd_line(input: &[u8]) -> Cow<'_, [u8]> {
    if unchanged(input) {
        return Cow::Borrowed(input);
    }
    finish(input, normalised(input))
}

/// The transformation itself.
fn normalised(input: &[u8]) -> Vec<u8> {
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
    out
}

/// True when [`cmd_line`] would return `input` as it is: nothing to remove,
/// no upper case, and every separator a single space not written before `/`
/// or `(`.
fn unchanged(input: &[u8]) -> bool {
    input.iter().enumerate().all(|(i, &b)| match b {
        b'"' | b'\'' | b'\\' | b'^' | b',' | b';' | b'\t' | b'\r' | b'\n' => false,
        b' ' => (i == 0 || input[i - 1] != b' ') && !matches!(input.get(i + 1), Some(b'/' | b'(')),
        _ => !b.is_ascii_uppercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of up to 6 bytes over a small alphabet: "unchanged" is
    /// answered only where the full transformation changes nothing.
    #[test]
    fn unchanged_agrees_with_the_transformation() {
        let alphabet = *b"aA ,/(\"^";
        let n = alphabet.len();
        for len in 0..=6u32 {
            for code in 0..n.pow(len) {
                let mut k = code;
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[k % n];
                        k /= n;
                        b
                    })
                    .collect();
                let out = normalised(&s);
                assert_eq!(unchanged(&s), out == s, "{:?}", String::from_utf8_lossy(&s));
            }
        }
    }
}
