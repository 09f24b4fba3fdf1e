//! libinjection-compatible SQL injection and XSS detection, for `@detectSQLi` and `@detectXSS`.
//!
//! - XSS: our own port of libinjection's HTML5 tokenizer and XSS rules (`html5.rs`, `xss.rs`),
//!   checked against the C library (see the tests and `testdata/injection/`).
//! - SQLi: our own port of libinjection's SQL tokenizer, folder and fingerprint rules
//!   (`sqli/`), with libinjection's keyword and fingerprint table in our own text form
//!   (`sqli/keywords.txt`, `sqli/fingerprints.txt`).

mod html5;
mod sqli;
mod xss;

/// The libinjection fingerprint (e.g. `s&1c`) when `input` looks like SQL injection.
///
/// Like `libinjection_sqli`, the input is tried as-is, then as if it followed a `'` and a `"`,
/// in ANSI and MySQL comment modes; the fingerprint is the one that matched.
pub fn detect_sqli(input: &[u8]) -> Option<String> {
    sqli::detect(input)
}

/// Builds the SQLi keyword and fingerprint table now (4.3 M instructions
/// natively), so that a rule set using `@detectSQLi` pays it when it loads,
/// not on the first request that reaches such a rule.
pub fn prepare_sqli() {
    sqli::prepare();
}

/// The bytes one of which every input [`detect_xss`] flags holds: the
/// tokenizer only reaches a tag, a comment or a doctype after a `<`, and an
/// attribute's value after an `=` (starting inside a value, that value
/// belongs to no attribute).
pub const XSS_NEEDS: [u8; 2] = [b'<', b'='];

/// Whether `input` looks like cross-site scripting, as `libinjection_xss` decides: the input is
/// tokenized as HTML starting between tags and inside unquoted, `'`, `"` and `` ` `` attribute
/// values.
pub fn detect_xss(input: &[u8]) -> bool {
    xss::is_xss(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Vector {
        input: Option<String>,
        input_hex: Option<String>,
        fingerprint: Option<String>,
        xss: Option<bool>,
        #[allow(dead_code)]
        source: String,
    }

    fn load(name: &str) -> Vec<(Vec<u8>, Vector)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/injection")
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let list: Vec<Vector> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: invalid JSON: {e}"));
        assert!(list.len() > 100, "{name}: only {} vectors", list.len());
        list.into_iter()
            .enumerate()
            .map(|(i, v)| {
                let input = match (&v.input, &v.input_hex) {
                    (Some(s), None) => s.as_bytes().to_vec(),
                    (None, Some(h)) => (0..h.len() / 2)
                        .map(|j| u8::from_str_radix(&h[2 * j..2 * j + 2], 16))
                        .collect::<Result<_, _>>()
                        .unwrap_or_else(|e| panic!("{name} vector {i}: input_hex: {e}")),
                    _ => panic!("{name} vector {i}: give exactly one of input and input_hex"),
                };
                (input, v)
            })
            .collect()
    }

    #[test]
    fn sqli_vectors_match_libinjection() {
        let vectors = load("detect_sqli.json");
        let mut failures = Vec::new();
        for (input, v) in &vectors {
            let got = detect_sqli(input);
            if got != v.fingerprint {
                failures.push(format!(
                    "{:?}: want {:?}, got {got:?}",
                    String::from_utf8_lossy(input),
                    v.fingerprint
                ));
            }
        }
        let positives = vectors
            .iter()
            .filter(|(_, v)| v.fingerprint.is_some())
            .count();
        println!(
            "detect_sqli vectors: {} ({positives} SQLi), {} failed",
            vectors.len(),
            failures.len()
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn xss_vectors_match_libinjection() {
        let vectors = load("detect_xss.json");
        let mut failures = Vec::new();
        for (input, v) in &vectors {
            let want = v
                .xss
                .unwrap_or_else(|| panic!("{:?}: no `xss` field", String::from_utf8_lossy(input)));
            if detect_xss(input) != want {
                failures.push(format!("{:?}: want {want}", String::from_utf8_lossy(input)));
            }
        }
        let positives = vectors.iter().filter(|(_, v)| v.xss == Some(true)).count();
        println!(
            "detect_xss vectors: {} ({positives} XSS), {} failed",
            vectors.len(),
            failures.len()
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// `@detectXSS` skips values without `<` or `=` (`XSS_NEEDS`): every XSS
    /// of libinjection's vectors holds one, and with them taken out (or
    /// made spaces) no vector is XSS any more.
    #[test]
    fn xss_needs_a_tag_or_an_attribute_value() {
        let vectors = load("detect_xss.json");
        let mut stripped = 0;
        for (input, v) in &vectors {
            if v.xss == Some(true) {
                assert!(XSS_NEEDS.iter().any(|b| input.contains(b)), "{input:?}");
            }
            let without: Vec<u8> = input
                .iter()
                .copied()
                .filter(|b| !XSS_NEEDS.contains(b))
                .collect();
            let spaced: Vec<u8> = (input.iter())
                .map(|&b| if XSS_NEEDS.contains(&b) { b' ' } else { b })
                .collect();
            for s in [without, spaced] {
                assert!(!detect_xss(&s), "{:?}", String::from_utf8_lossy(&s));
                stripped += 1;
            }
        }
        assert!(stripped > 200, "{stripped}");
    }

    #[test]
    fn keyword_table_loads_every_entry_once() {
        let words = sqli::keyword_entries();
        let count = |t: u8| words.iter().filter(|(_, k)| *k == t).count();
        // libinjection's table: 9,352 entries, 8,367 of them fingerprints.
        let fingerprints: Vec<_> = sqli::fingerprint_entries().collect();
        assert_eq!((words.len(), fingerprints.len()), (985, 8367));
        assert_eq!((count(b'k'), count(b'f'), count(b'U')), (208, 524, 9));
        let mut keys: Vec<_> = words.iter().map(|(k, _)| *k).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), words.len(), "a word appears twice");
        // A word starting with 0 would be shadowed by the fingerprint keys.
        assert!(
            words
                .iter()
                .all(|(k, t)| !k.is_empty() && k[0] != b'0' && *t != 0)
        );
        assert!(fingerprints.iter().all(|f| (1..=5).contains(&f.len())));
    }

    /// Arbitrary bytes never panic (a fixed pseudo-random sequence, so the test is repeatable).
    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| (x.rotate_left(i as u32 * 5) & 0xff) as u8)
                .collect();
            let _ = detect_sqli(&bytes);
            let xss = detect_xss(&bytes);
            assert!(
                xss <= bytes.iter().any(|b| XSS_NEEDS.contains(b)),
                "{bytes:?}"
            );
        }
        assert_eq!(detect_sqli(b""), None);
        assert!(!detect_xss(b""));
    }
}
