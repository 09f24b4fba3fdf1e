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

/// Walks the base64 characters of `input` (line breaks and trailing spaces skipped), giving
/// each to `keep`; false when mbed TLS would reject the input.
#[inline]
fn significant(input: &[u8], mut keep: impl FnMut(u8)) -> bool {
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
            return false;
        }
        if b == b'=' {
            equals += 1;
            if equals > 2 {
                return false;
            }
        } else if equals != 0 || !is_alphabet(b) {
            return false;
        }
        keep(b);
    }
    true
}

pub(super) fn base64_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let text = input.split(|&b| b == 0).next().unwrap_or_default();
    let mut count = 0;
    if !significant(text, |_| count += 1) {
        return Cow::Owned(Vec::new());
    }
    let whole = count / 4 * 4;
    if whole == 0 {
        return if input.is_empty() {
            Cow::Borrowed(input)
        } else {
            Cow::Owned(Vec::new())
        };
    }
    // Without skipped bytes the characters are `text` itself: no copy.
    let copied;
    let chars: &[u8] = if count == text.len() {
        text
    } else {
        let mut v = Vec::with_capacity(count);
        significant(text, |b| v.push(b));
        copied = v;
        &copied
    };
    // `=` only ends the data.
    let chars = &chars[..whole];
    let data_end = chars.iter().rposition(|&b| b != b'=').map_or(0, |p| p + 1);
    let decoded = LENIENT.decode(&chars[..data_end]).unwrap_or_default();
    if decoded == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(decoded)
    }
}
