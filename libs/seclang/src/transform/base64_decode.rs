//! `t:base64Decode`: strict base64 decoding, as ModSecurity v3 does it (with mbed TLS).
//!
//! - the input ends at its first NUL byte;
//! - spaces at the very end, `\n` and `\r\n` anywhere are ignored; a space followed by more
//!   data, a lone `\r`, any other byte outside the base64 alphabet, a third `=`, or a digit
//!   after `=` makes the whole input invalid, and an invalid input decodes to nothing;
//! - a final group of fewer than four characters is dropped, padded or not (`QUJDRA` is `ABC`).

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use std::borrow::Cow;

/// Standard alphabet, trailing bits allowed, padding optional: validity is checked before.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn is_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// The base64 characters of `input` (line breaks and trailing spaces removed), or `None` when
/// mbed TLS would reject the input.
fn significant(input: &[u8]) -> Option<Vec<u8>> {
    let mut chars = Vec::with_capacity(input.len());
    let mut equals = 0;
    let mut i = 0;
    while i < input.len() {
        let mut spaces = false;
        while i < input.len() && input[i] == b' ' {
            i += 1;
            spaces = true;
        }
        if i == input.len() {
            break;
        }
        let b = input[i];
        i += 1;
        if b == b'\n' || (b == b'\r' && input.get(i) == Some(&b'\n')) {
            continue;
        }
        if spaces {
            return None;
        }
        if b == b'=' {
            equals += 1;
            if equals > 2 {
                return None;
            }
        } else if equals != 0 || !is_alphabet(b) {
            return None;
        }
        chars.push(b);
    }
    Some(chars)
}

pub(super) fn base64_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let text = input.split(|&b| b == 0).next().unwrap_or_default();
    let Some(mut chars) = significant(text) else {
        return Cow::Owned(Vec::new());
    };
    chars.truncate(chars.len() / 4 * 4);
    let data: Vec<u8> = chars.iter().copied().filter(|&b| b != b'=').collect();
    let decoded = LENIENT.decode(&data).unwrap_or_default();
    if decoded == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(decoded)
    }
}
