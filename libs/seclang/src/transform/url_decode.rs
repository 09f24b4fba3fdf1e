//! `t:urlDecode`: decodes `%XX` escapes and `+` (ModSecurity's non-strict URL decoder).
//!
//! A `%` not followed by two hex digits (invalid or cut short at the end) is kept as is.

use super::{finish, hex_pair, hex_value};
use std::borrow::Cow;

pub(crate) fn url_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(|&b| b == b'%' || b == b'+') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' if i + 2 < input.len()
                && hex_value(input[i + 1]).is_some()
                && hex_value(input[i + 2]).is_some() =>
            {
                out.push(hex_pair(input[i + 1], input[i + 2]));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    finish(input, out)
}
