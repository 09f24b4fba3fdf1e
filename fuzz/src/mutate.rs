//! Byte-level mutations, biased towards what breaks parsers: escapes cut in
//! half, huge numbers, deep nesting, long runs, pieces of other inputs.

use crate::shm::MAX_INPUT;
use fastrand::Rng;

/// Tokens every target gets: escape introducers, quotes, brackets, comment
/// markers, separators, odd UTF-8, numbers at type boundaries.
pub const COMMON_TOKENS: &[&[u8]] = &[
    b"%",
    b"%0",
    b"%00",
    b"%u",
    b"%u00",
    b"%uff0",
    b"%%",
    b"%2e%2e%2f",
    b"+",
    b"&#x",
    b"&#",
    b"&#x0;",
    b"&amp",
    b"&",
    b"&lt;",
    b"\\",
    b"\\u",
    b"\\u00",
    b"\\x",
    b"\\0",
    b"\\\\",
    b"\"",
    b"'",
    b"`",
    b"{",
    b"}",
    b"[",
    b"]",
    b"(",
    b")",
    b"<",
    b">",
    b"</",
    b"/>",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]>",
    b"/*",
    b"*/",
    b"--",
    b"#",
    b";",
    b",",
    b":",
    b"=",
    b"\0",
    b"\r\n",
    b"\n",
    b"\r",
    b"\t",
    b" ",
    b"..",
    b"../",
    b"..\\",
    b"//",
    b"\xc0\xaf",
    b"\xc2\xa0",
    b"\xff",
    b"\xfe",
    b"\xe2\x80\xa8",
    b"\xef\xbb\xbf",
    b"\xf0\x9f\x92\xa9",
    b"\xed\xa0\x80",
    b"0x",
    b"0",
    b"-1",
    b"-0",
    b"1e999",
    b"NaN",
    b"4294967296",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"99999999999999999999999999999999",
    b"0.0000000000000001",
    b"${",
    b"%{",
    b"$",
    b"@",
    b"|",
    b"^",
    b"~",
    b"*",
];

/// Openers repeated to build deep nesting.
const NESTERS: &[&[u8]] = &[
    b"{\"a\":", b"[", b"<a>", b"(", b"{", b"\"", b"\\", b"%25", b"<!--", b"[[", b"a=",
];

/// Mutates `data` in place: one to eight stacked mutations. `others` is the
/// corpus (for splicing), `dict` the target's own tokens.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>], dict: &[&[u8]]) {
    let rounds = 1 + rng.usize(..8).min(rng.usize(..8));
    for _ in 0..rounds {
        mutate_once(rng, data, others, dict);
    }
    data.truncate(MAX_INPUT);
}

fn token<'a>(rng: &mut Rng, dict: &[&'a [u8]]) -> &'a [u8] {
    if !dict.is_empty() && rng.bool() {
        dict[rng.usize(..dict.len())]
    } else {
        COMMON_TOKENS[rng.usize(..COMMON_TOKENS.len())]
    }
}

fn pos(rng: &mut Rng, data: &[u8]) -> usize {
    rng.usize(..=data.len())
}

fn insert(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    data.splice(at..at, bytes.iter().copied());
}

/// A range of `data`, short more often than long.
fn range(rng: &mut Rng, data: &[u8]) -> (usize, usize) {
    let start = rng.usize(..=data.len());
    let room = data.len() - start;
    let len = if rng.u8(..4) == 0 {
        rng.usize(..=room)
    } else {
        rng.usize(..=room.min(16))
    };
    (start, start + len)
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>], dict: &[&[u8]]) {
    match rng.u8(..14) {
        0 if !data.is_empty() => {
            let i = rng.usize(..data.len());
            data[i] ^= 1 << rng.u8(..8);
        }
        1 if !data.is_empty() => {
            let i = rng.usize(..data.len());
            data[i] = rng.u8(..);
        }
        2 => {
            let at = pos(rng, data);
            data.insert(at, rng.u8(..));
        }
        3 => {
            let (a, b) = range(rng, data);
            data.drain(a..b);
        }
        4 => {
            let (a, b) = range(rng, data);
            let piece = data[a..b].to_vec();
            let at = pos(rng, data);
            insert(data, at, &piece);
        }
        5..=7 => {
            let t = token(rng, dict);
            let at = pos(rng, data);
            insert(data, at, t);
        }
        8 if !others.is_empty() => {
            let other = &others[rng.usize(..others.len())];
            splice(rng, data, other);
        }
        9 => replace_number(rng, data),
        10 => nest(rng, data),
        11 => {
            let at = pos(rng, data);
            data.truncate(at);
        }
        12 => {
            let n = if rng.bool() {
                rng.usize(..64)
            } else {
                rng.usize(..65536)
            };
            let b = if rng.bool() {
                rng.u8(..)
            } else {
                token(rng, dict)[0]
            };
            let at = pos(rng, data);
            insert(data, at, &vec![b; n]);
        }
        _ => {
            // Replace a range with a token.
            let (a, b) = range(rng, data);
            let t = token(rng, dict);
            data.splice(a..b, t.iter().copied());
        }
    }
}

/// Replaces `data`'s tail from a random point with another input's tail, or
/// inserts a piece of it.
fn splice(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    let (a, b) = range(rng, other);
    let at = pos(rng, data);
    if rng.bool() {
        data.truncate(at);
        data.extend_from_slice(&other[a..]);
    } else {
        insert(data, at, &other[a..b]);
    }
}

/// Replaces a run of digits with a number at a boundary, or inserts one.
fn replace_number(rng: &mut Rng, data: &mut Vec<u8>) {
    const NUMBERS: &[&[u8]] = &[
        b"0",
        b"-1",
        b"255",
        b"256",
        b"65535",
        b"65536",
        b"2147483647",
        b"2147483648",
        b"4294967295",
        b"4294967296",
        b"9223372036854775807",
        b"18446744073709551616",
        b"99999999999999999999999999",
        b"1e308",
        b"-1e309",
        b"0.1",
        b"00000000001",
    ];
    let n = NUMBERS[rng.usize(..NUMBERS.len())];
    let digits: Vec<usize> = (0..data.len())
        .filter(|&i| data[i].is_ascii_digit())
        .collect();
    if digits.is_empty() {
        let at = pos(rng, data);
        insert(data, at, n);
        return;
    }
    let start = digits[rng.usize(..digits.len())];
    let end = (start..data.len())
        .find(|&i| !data[i].is_ascii_digit())
        .unwrap_or(data.len());
    data.splice(start..end, n.iter().copied());
}

/// Inserts an opener repeated up to a few thousand times (and sometimes the
/// matching closers), to reach recursion limits.
fn nest(rng: &mut Rng, data: &mut Vec<u8>) {
    let opener = NESTERS[rng.usize(..NESTERS.len())];
    let depth = match rng.u8(..3) {
        0 => rng.usize(1..16),
        1 => rng.usize(100..300),
        _ => rng.usize(1000..5000),
    };
    let at = pos(rng, data);
    let mut piece = opener.repeat(depth);
    if rng.bool() {
        let closer: &[u8] = match opener {
            b"[" | b"[[" => b"]",
            b"{\"a\":" | b"{" => b"}",
            b"<a>" => b"</a>",
            b"(" => b")",
            _ => b"",
        };
        piece.extend(closer.repeat(depth));
    }
    insert(data, at, &piece);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_change_inputs_and_stay_bounded() {
        let mut rng = Rng::with_seed(7);
        let seed = b"GET /?a=1&b=%41 HTTP/1.1".to_vec();
        let others = vec![b"{\"k\":[1,2]}".to_vec()];
        let mut changed = 0;
        for _ in 0..2000 {
            let mut d = seed.clone();
            mutate(&mut rng, &mut d, &others, &[b"SecRule"]);
            assert!(d.len() <= MAX_INPUT);
            changed += usize::from(d != seed);
        }
        assert!(
            changed > 1800,
            "only {changed} of 2000 mutations changed the input"
        );
    }
}
