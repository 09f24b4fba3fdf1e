//! `t:sqlHexDecode`: decodes SQL hex literals `0xHHHH...` into the bytes they spell.
//!
//! `0x`/`0X` must be followed by at least two hex digits; pairs are decoded while two more hex
//! digits follow, so an odd final digit stays as it is.

use super::{finish, hex_pair, hex_value};
use std::borrow::Cow;

fn is_hex(b: u8) -> bool {
    hex_value(b).is_some()
}

pub(super) fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if i + 3 < input.len()
            && input[i] == b'0'
            && matches!(input[i + 1], b'x' | b'X')
            && is_hex(input[i + 2])
            && is_hex(input[i + 3])
        {
            i += 2;
            loop {
                out.push(hex_pair(input[i], input[i + 1]));
                i += 2;
                if !(i + 1 < input.len() && is_hex(input[i]) && is_hex(input[i + 1])) {
                    break;
                }
            }
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    finish(input, out)
}
