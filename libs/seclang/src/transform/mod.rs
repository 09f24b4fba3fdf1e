//! SecLang transformations (`t:` actions).
//!
//! A transformation is a pure function from bytes to bytes. Each one lives in its own file named
//! after its SecLang keyword and follows ModSecurity v3 byte for byte, including its handling of
//! invalid and truncated escapes (the file's docs say where, if anywhere, it departs and why).
//! A transformation returns [`Cow::Borrowed`] exactly when its output equals its input, so a
//! caller can tell "unchanged" apart without comparing.
//!
//! `t:none` is not a transformation here: the engine handles it (it clears the list).
//!
//! Test vectors: `testdata/transformations/<name>.json`, one file per name, run by a single
//! test at the bottom of this file.

use std::borrow::Cow;

mod base64_decode;
mod base64_decode_ext;
mod base64_encode;
mod cmd_line;
mod compress_whitespace;
mod css_decode;
mod escape_seq_decode;
mod hex_decode;
mod hex_encode;
mod html_entity_decode;
mod js_decode;
mod length;
mod lowercase;
mod md5;
mod normalise_path;
mod normalise_path_win;
mod parity_even_7bit;
mod parity_odd_7bit;
mod parity_zero_7bit;
mod remove_comments;
mod remove_comments_char;
mod remove_nulls;
mod remove_whitespace;
mod replace_comments;
mod replace_nulls;
mod sha1;
mod sql_hex_decode;
mod steps;
pub(crate) use steps::Steps;
mod trim;
mod trim_left;
mod trim_right;
mod unicode_best_fit;
mod uppercase;
mod url_decode;
pub(crate) use url_decode::url_decode;
mod url_decode_uni;
mod url_encode;
mod utf8_to_unicode;

/// A transformation: a pure function of its input.
pub type TransformFn = for<'a> fn(&'a [u8]) -> Cow<'a, [u8]>;

/// Every transformation by its canonical SecLang name.
const TRANSFORMATIONS: &[(&str, TransformFn)] = &[
    ("base64Decode", base64_decode::base64_decode),
    ("base64DecodeExt", base64_decode_ext::base64_decode_ext),
    ("base64Encode", base64_encode::base64_encode),
    ("cmdLine", cmd_line::cmd_line),
    (
        "compressWhitespace",
        compress_whitespace::compress_whitespace,
    ),
    ("cssDecode", css_decode::css_decode),
    ("escapeSeqDecode", escape_seq_decode::escape_seq_decode),
    ("hexDecode", hex_decode::hex_decode),
    ("hexEncode", hex_encode::hex_encode),
    ("htmlEntityDecode", html_entity_decode::html_entity_decode),
    ("jsDecode", js_decode::js_decode),
    ("length", length::length),
    ("lowercase", lowercase::lowercase),
    ("md5", md5::md5),
    ("normalizePath", normalise_path::normalise_path),
    ("normalizePathWin", normalise_path_win::normalise_path_win),
    ("parityEven7bit", parity_even_7bit::parity_even_7bit),
    ("parityOdd7bit", parity_odd_7bit::parity_odd_7bit),
    ("parityZero7bit", parity_zero_7bit::parity_zero_7bit),
    ("removeComments", remove_comments::remove_comments),
    (
        "removeCommentsChar",
        remove_comments_char::remove_comments_char,
    ),
    ("removeNulls", remove_nulls::remove_nulls),
    ("removeWhitespace", remove_whitespace::remove_whitespace),
    ("replaceComments", replace_comments::replace_comments),
    ("replaceNulls", replace_nulls::replace_nulls),
    ("sha1", sha1::sha1),
    ("sqlHexDecode", sql_hex_decode::sql_hex_decode),
    ("trim", trim::trim),
    ("trimLeft", trim_left::trim_left),
    ("trimRight", trim_right::trim_right),
    ("uppercase", uppercase::uppercase),
    ("urlDecode", url_decode::url_decode),
    ("urlDecodeUni", url_decode_uni::url_decode_uni),
    ("urlEncode", url_encode::url_encode),
    ("utf8toUnicode", utf8_to_unicode::utf8_to_unicode),
];

/// A set of bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    /// The bytes `s` holds.
    pub fn of(s: &[u8]) -> ByteSet {
        let mut set = ByteSet::default();
        for &b in s {
            set.0[(b >> 6) as usize] |= 1 << (b & 63);
        }
        set
    }

    /// The bytes `lo` to `hi`, both included (a constant when asked for).
    pub(crate) const fn range(lo: u8, hi: u8) -> ByteSet {
        let mut words = [0u64; 4];
        let mut b = lo as usize;
        while b <= hi as usize {
            words[b >> 6] |= 1 << (b & 63);
            b += 1;
        }
        ByteSet(words)
    }

    fn with(mut self, bytes: impl IntoIterator<Item = u8>) -> ByteSet {
        for b in bytes {
            self.0[(b >> 6) as usize] |= 1 << (b & 63);
        }
        self
    }

    /// The union of two sets.
    pub(crate) fn union(self, o: ByteSet) -> ByteSet {
        ByteSet(std::array::from_fn(|i| self.0[i] | o.0[i]))
    }

    /// True when the sets share a byte.
    pub fn intersects(self, o: ByteSet) -> bool {
        (0..4).any(|i| self.0[i] & o.0[i] != 0)
    }
}

const C_SPACE: [u8; 6] = [b' ', b'\t', b'\n', 0x0b, 0x0c, b'\r'];

/// The bytes that can make transformation `name` change its input other than
/// by ASCII case: an input holding none of them comes out equal up to case.
/// `None` for transformations that change any input (hashes, encodings).
fn identity_triggers(name: &str) -> Option<ByteSet> {
    let none = ByteSet::default();
    Some(match name {
        "lowercase" | "uppercase" => none,
        "urlDecode" | "urlDecodeUni" => none.with(*b"%+"),
        "htmlEntityDecode" => none.with(*b"&"),
        "jsDecode" | "cssDecode" | "escapeSeqDecode" => none.with(*b"\\"),
        "removeNulls" | "replaceNulls" => none.with([0]),
        "utf8toUnicode" => none.with([0]).with(0x80..=0xff),
        "compressWhitespace" | "trim" | "trimLeft" | "trimRight" => none.with(C_SPACE),
        "removeWhitespace" => none.with(C_SPACE).with([0xa0, 0xc2]),
        "cmdLine" => none.with(*b"\"'\\^ ,;\t\r\n"),
        "normalizePath" => none.with(*b"/."),
        "normalizePathWin" => none.with(*b"/.\\"),
        "replaceComments" => none.with(*b"/"),
        "removeComments" => none.with(*b"/<-#"),
        "removeCommentsChar" => none.with(*b"/*<-#"),
        "sqlHexDecode" => none.with(*b"0"),
        _ => return None,
    })
}

/// The union of [`identity_triggers`] over a list of transformations; `None`
/// when one of them may change any input.
pub fn chain_identity_triggers(chain: &[TransformFn]) -> Option<ByteSet> {
    chain.iter().try_fold(ByteSet::default(), |acc, f| {
        let name = TRANSFORMATIONS
            .iter()
            .find(|(_, g)| *f as usize == *g as usize)
            .map(|(n, _)| *n)?;
        Some(acc.union(identity_triggers(name)?))
    })
}

/// The bytes that can make a list of transformations change its input at
/// all (case included): an input holding none of them comes out unchanged.
/// `None` when any input may change.
pub fn chain_exact_triggers(chain: &[TransformFn]) -> Option<ByteSet> {
    let upper = ByteSet::default().with(b'A'..=b'Z');
    let lower = ByteSet::default().with(b'a'..=b'z');
    chain.iter().try_fold(ByteSet::default(), |acc, f| {
        let name = TRANSFORMATIONS
            .iter()
            .find(|(_, g)| *f as usize == *g as usize)
            .map(|(n, _)| *n)?;
        let case = match name {
            "lowercase" | "cmdLine" => upper,
            "uppercase" => lower,
            _ => ByteSet::default(),
        };
        Some(acc.union(identity_triggers(name)?).union(case))
    })
}

/// Other spellings SecLang accepts: `(alias, canonical name)`.
const ALIASES: &[(&str, &str)] = &[
    ("normalisePath", "normalizePath"),
    ("normalisePathWin", "normalizePathWin"),
];

/// Looks a transformation up by its SecLang name (case-insensitive), e.g. `urlDecodeUni`.
///
/// Returns `None` for unknown names and for `none`, which the engine handles itself.
pub fn lookup(name: &str) -> Option<TransformFn> {
    let canonical = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or(name, |&(_, target)| target);
    TRANSFORMATIONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(canonical))
        .map(|&(_, f)| f)
}

/// Every transformation's canonical name, in registry order (the fuzz
/// harness runs each one; aliases are left out).
#[doc(hidden)]
pub fn names() -> impl Iterator<Item = &'static str> {
    TRANSFORMATIONS.iter().map(|&(n, _)| n)
}

/// `Cow::Borrowed(input)` when `out` equals `input`, else `Cow::Owned(out)`.
fn finish(input: &[u8], out: Vec<u8>) -> Cow<'_, [u8]> {
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

/// The value of one hexadecimal digit, if `b` is one.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte two hexadecimal digits spell; both must be valid hex digits.
fn hex_pair(hi: u8, lo: u8) -> u8 {
    (hex_value(hi).unwrap_or(0) << 4) | hex_value(lo).unwrap_or(0)
}

/// C's `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Reads up to three octal digits at `input[start..]` the way ModSecurity's `jsDecode` and
/// `escapeSeqDecode` do, returning `(value, digits used)`; `None` when there is no octal digit.
fn octal_run(input: &[u8], start: usize) -> Option<(u32, usize)> {
    let digits = input
        .get(start..)?
        .iter()
        .take(3)
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    if digits == 0 {
        return None;
    }
    let value = input[start..start + digits]
        .iter()
        .fold(0u32, |acc, &b| acc * 8 + u32::from(b - b'0'));
    Some((value, digits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// One test vector: `input`/`input_hex` and `output`/`output_hex` (hex for non-UTF-8 bytes).
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Vector {
        input: Option<String>,
        input_hex: Option<String>,
        output: Option<String>,
        output_hex: Option<String>,
        #[allow(dead_code)]
        note: Option<String>,
    }

    fn testdata_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/transformations")
    }

    fn unhex(file: &str, i: usize, field: &str, s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert!(
            s.len().is_multiple_of(2),
            "{file} vector {i}: {field} has an odd number of hex digits"
        );
        s.chunks(2)
            .map(|p| match (hex_value(p[0]), hex_value(p[1])) {
                (Some(h), Some(l)) => (h << 4) | l,
                _ => panic!("{file} vector {i}: {field} is not hex"),
            })
            .collect()
    }

    fn bytes(
        file: &str,
        i: usize,
        name: &str,
        text: &Option<String>,
        hex: &Option<String>,
    ) -> Vec<u8> {
        match (text, hex) {
            (Some(t), None) => t.as_bytes().to_vec(),
            (None, Some(h)) => unhex(file, i, &format!("{name}_hex"), h),
            _ => panic!("{file} vector {i}: give exactly one of `{name}` and `{name}_hex`"),
        }
    }

    fn vector_files() -> Vec<(String, PathBuf)> {
        let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(testdata_dir())
            .expect("testdata/transformations is readable")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
            .collect();
        files.sort();
        files
    }

    fn show(b: &[u8]) -> String {
        format!(
            "{:?} (hex {})",
            String::from_utf8_lossy(b),
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        )
    }

    /// Runs every vector file through the transformation it is named after, and through each
    /// alias of that name.
    #[test]
    fn transformation_vectors() {
        let (mut files, mut vectors, mut failures) = (0, 0, Vec::new());
        for (name, path) in vector_files() {
            let file = format!("{name}.json");
            let text = std::fs::read_to_string(&path).expect("vector file is readable");
            let list: Vec<Vector> =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: invalid JSON: {e}"));
            assert!(!list.is_empty(), "{file}: no vectors");
            let mut names = vec![name.clone()];
            names.extend(
                ALIASES
                    .iter()
                    .filter(|(_, t)| *t == name)
                    .map(|(a, _)| a.to_string()),
            );
            files += 1;
            for (i, v) in list.iter().enumerate() {
                let input = bytes(&file, i, "input", &v.input, &v.input_hex);
                let want = bytes(&file, i, "output", &v.output, &v.output_hex);
                for n in &names {
                    let f =
                        lookup(n).unwrap_or_else(|| panic!("{file}: no transformation named {n}"));
                    let got = f(&input);
                    vectors += 1;
                    if *got != *want {
                        failures.push(format!(
                            "{file} vector {i} via {n}: input {}\n   want {}\n    got {}",
                            show(&input),
                            show(&want),
                            show(&got)
                        ));
                    } else if matches!(got, Cow::Owned(_)) && *got == *input {
                        failures.push(format!(
                            "{file} vector {i}: unchanged output must be Cow::Borrowed"
                        ));
                    }
                }
            }
        }
        println!(
            "transformation vectors: {files} files, {vectors} checks, {} failed",
            failures.len()
        );
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// Every name `lookup` knows has a vector file, and every vector file names a transformation.
    #[test]
    fn every_transformation_has_vectors() {
        let names = TRANSFORMATIONS.iter().map(|(n, _)| *n);
        let dir = testdata_dir();
        crate::registry_check::assert_vector_files("transformations", &dir, names, ALIASES);
    }

    /// For every transformation with identity triggers: inputs without them
    /// come out equal up to ASCII case, and the vectors that changed their
    /// input (beyond case) held a trigger.
    #[test]
    fn identity_triggers_hold() {
        let samples: &[&[u8]] = &[
            b"Mozilla Firefox",
            b"abcXYZ019",
            b"a/b/../c",
            b"x=1&y=2",
            b"%41+b",
            b"q\\u0041",
            b"0x4142",
            b"/* c */",
            b"<!-- c -->",
            b"a -- b",
            b"#x",
            b"\x00\xc3\xa9",
            b"  t  ",
            b"a\tb",
            b"\"'^,;",
            b"./.",
            b"C:\\x",
        ];
        for (name, f) in TRANSFORMATIONS {
            let Some(t) = identity_triggers(name) else {
                continue;
            };
            for s in samples {
                let out = f(s);
                if !t.intersects(ByteSet::of(s)) {
                    assert!(
                        out.eq_ignore_ascii_case(s),
                        "{name} changed {s:?} without a trigger"
                    );
                }
            }
        }
        let chain = [
            lookup("urlDecodeUni").unwrap(),
            lookup("lowercase").unwrap(),
        ];
        assert_eq!(
            chain_identity_triggers(&chain),
            Some(ByteSet::default().with(*b"%+"))
        );
        assert_eq!(chain_identity_triggers(&[lookup("md5").unwrap()]), None);
        // Exact: inputs without the triggers come out byte for byte the same.
        for (name, f) in TRANSFORMATIONS {
            let Some(t) = chain_exact_triggers(&[*f]) else {
                continue;
            };
            for s in samples {
                if !t.intersects(ByteSet::of(s)) {
                    assert_eq!(&*f(s), *s, "{name} changed {s:?} without a trigger");
                }
            }
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_knows_no_none() {
        assert!(lookup("URLDECODEUNI").is_some());
        assert!(lookup("normalisepathwin").is_some());
        assert!(lookup("none").is_none());
        assert!(lookup("nosuch").is_none());
        assert!(lookup("").is_none());
    }

    /// Every name CRS v4.28.0 uses after `t:` resolves (except `none`, which the engine handles).
    /// Skipped, with a note, when the CRS checkout is not there.
    #[test]
    fn crs_transformation_names_resolve() {
        let dir = std::env::var_os("EDGEWAF_CRS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crs/v4.28.0"));
        let Ok(entries) = std::fs::read_dir(dir.join("rules")) else {
            println!("CRS not found at {}; skipped", dir.display());
            return;
        };
        let mut seen = BTreeSet::new();
        for e in entries {
            let p = e.expect("directory entry").path();
            if p.extension().is_none_or(|x| x != "conf") {
                continue;
            }
            let text = std::fs::read_to_string(&p).expect("rule file is readable");
            for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
                let mut rest = line;
                while let Some(at) = rest.find("t:") {
                    let after = &rest[at + 2..];
                    let word: String = after
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    let boundary = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
                    if boundary && !word.is_empty() {
                        seen.insert(word);
                    }
                    rest = after;
                }
            }
        }
        assert!(seen.len() > 10, "found only {seen:?} in the CRS rules");
        let unknown: Vec<_> = seen
            .iter()
            .filter(|w| *w != "none" && lookup(w).is_none())
            .collect();
        assert!(
            unknown.is_empty(),
            "CRS uses transformations lookup does not know: {unknown:?}"
        );
    }
}
