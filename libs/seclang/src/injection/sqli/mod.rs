//! libinjection's SQL injection detector (libinjection_sqli.c semantics): a SQL tokenizer, a
//! folder that reduces the first tokens to at most five, and a fingerprint of their types that
//! is looked up among known SQLi fingerprints, with a few whitelist rules on top.
//!
//! The keyword and fingerprint table is libinjection's data (BSD-3-Clause, see NOTICE) kept in
//! our own text form beside this file: `keywords.txt` (words grouped by token type) and
//! `fingerprints.txt` (one fingerprint a line); the code here is our own.

mod fold;
mod tokenize;

use crate::transaction::FastHasher;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

const FLAG_QUOTE_NONE: u32 = 1;
const FLAG_QUOTE_SINGLE: u32 = 2;
const FLAG_QUOTE_DOUBLE: u32 = 4;
const FLAG_SQL_ANSI: u32 = 8;
const FLAG_SQL_MYSQL: u32 = 16;

/// Longest token value kept (the C token buffer is 32 bytes with a terminating NUL).
const TOKEN_SIZE: usize = 32;
const MAX_TOKENS: usize = 5;

// Token types (the fingerprint letters).
const T_NONE: u8 = 0;
const T_KEYWORD: u8 = b'k';
const T_UNION: u8 = b'U';
const T_GROUP: u8 = b'B';
const T_EXPRESSION: u8 = b'E';
const T_SQLTYPE: u8 = b't';
const T_FUNCTION: u8 = b'f';
const T_BAREWORD: u8 = b'n';
const T_NUMBER: u8 = b'1';
const T_VARIABLE: u8 = b'v';
const T_STRING: u8 = b's';
const T_OPERATOR: u8 = b'o';
const T_LOGIC_OPERATOR: u8 = b'&';
const T_COMMENT: u8 = b'c';
const T_COLLATE: u8 = b'A';
const T_LEFTPARENS: u8 = b'(';
const T_RIGHTPARENS: u8 = b')';
const T_LEFTBRACE: u8 = b'{';
const T_RIGHTBRACE: u8 = b'}';
const T_DOT: u8 = b'.';
const T_COMMA: u8 = b',';
const T_COLON: u8 = b':';
const T_SEMICOLON: u8 = b';';
const T_TSQL: u8 = b'T';
const T_UNKNOWN: u8 = b'?';
const T_EVIL: u8 = b'X';
const T_FINGERPRINT: u8 = b'F';
const T_BACKSLASH: u8 = b'\\';

/// libinjection's keyword table as hash maps (built once; the table has
/// thousands of entries and every word of every inspected value is looked up).
struct Keywords {
    types: HashMap<&'static [u8], u8, BuildHasherDefault<FastHasher>>,
    /// Fingerprints: libinjection keys them as `0` + fingerprint, type `F`.
    fingerprints: HashSet<&'static [u8], BuildHasherDefault<FastHasher>>,
    /// The longest key: longer keys are not looked up.
    longest: usize,
}

/// Words by token type: a line `= T` starts the words of type `T`, then one word a line.
const KEYWORDS_TXT: &str = include_str!("keywords.txt");
/// Fingerprints, one a line.
const FINGERPRINTS_TXT: &str = include_str!("fingerprints.txt");

/// Builds the table [`keywords`] returns.
pub(super) fn prepare() {
    keywords();
}

fn keywords() -> &'static Keywords {
    static KEYWORDS: OnceLock<Keywords> = OnceLock::new();
    KEYWORDS.get_or_init(|| {
        let words = keyword_entries();
        let fingerprints: HashSet<_, _> = fingerprint_entries().collect();
        let longest_word = words.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
        let longest_fp = fingerprints.iter().map(|f| f.len() + 1).max().unwrap_or(0);
        Keywords {
            types: words.into_iter().collect(),
            fingerprints,
            longest: longest_word.max(longest_fp),
        }
    })
}

/// Data lines of one of the table files (`# ` lines are comments).
fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().filter(|l| !l.starts_with("# "))
}

/// The keyword file as (word, type) pairs.
pub(super) fn keyword_entries() -> Vec<(&'static [u8], u8)> {
    let mut entries = Vec::with_capacity(1000);
    let mut kind = T_NONE;
    for line in data_lines(KEYWORDS_TXT) {
        match line.strip_prefix("= ") {
            Some(t) => kind = t.bytes().next().unwrap_or(T_NONE),
            None => entries.push((line.as_bytes(), kind)),
        }
    }
    entries
}

/// The fingerprint file's lines.
pub(super) fn fingerprint_entries() -> impl Iterator<Item = &'static [u8]> {
    data_lines(FINGERPRINTS_TXT).map(str::as_bytes)
}

/// The type of an uppercased key: `0` + a fingerprint is `F`, else the word's type or 0.
fn lookup_upper(table: &Keywords, upper: &[u8]) -> u8 {
    match upper.split_first() {
        Some((b'0', fp)) if table.fingerprints.contains(fp) => T_FINGERPRINT,
        _ => table.types.get(upper).copied().unwrap_or(T_NONE),
    }
}

/// The type libinjection's keyword table gives `key` (compared uppercased), or 0.
fn lookup(key: &[u8]) -> u8 {
    let table = keywords();
    if key.len() > table.longest || key.contains(&0) {
        return T_NONE;
    }
    let mut buf = [0u8; 64];
    let upper: &[u8] = if key.len() <= buf.len() {
        let b = &mut buf[..key.len()];
        b.copy_from_slice(key);
        b.make_ascii_uppercase();
        b
    } else {
        return lookup_long(table, key);
    };
    lookup_upper(table, upper)
}

#[cold]
fn lookup_long(table: &Keywords, key: &[u8]) -> u8 {
    let upper = key.to_ascii_uppercase();
    lookup_upper(table, &upper)
}

/// libinjection's whitespace: C whitespace, NUL and the Latin-1 no-break space.
fn is_white(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0 | 0)
}

/// Length of the run of bytes in `accept` (NUL always counts, as with C's `strchr`).
fn span(s: &[u8], accept: &[u8]) -> usize {
    s.iter()
        .take_while(|&&b| b == 0 || accept.contains(&b))
        .count()
}

/// A set of bytes as a table, built at compile time (a test per byte instead of a search of
/// the set's string).
struct ByteClass([bool; 256]);

impl ByteClass {
    /// The bytes of `set`, and NUL (C's `strcspn` stops at the string's end).
    const fn stops(set: &[u8]) -> ByteClass {
        let mut t = [false; 256];
        t[0] = true;
        let mut i = 0;
        while i < set.len() {
            t[set[i] as usize] = true;
            i += 1;
        }
        ByteClass(t)
    }
}

/// Length of the run of bytes not in `reject` (NUL always stops it).
fn cspan(s: &[u8], reject: &ByteClass) -> usize {
    s.iter().take_while(|&&b| !reject.0[b as usize]).count()
}

/// Position of `needle` (two or more bytes) in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_byte(hay: &[u8], b: u8) -> Option<usize> {
    hay.iter().position(|&x| x == b)
}

#[derive(Clone, Copy)]
struct Token {
    kind: u8,
    pos: usize,
    len: usize,
    count: i32,
    str_open: u8,
    str_close: u8,
    val: [u8; TOKEN_SIZE],
}

impl Token {
    const EMPTY: Token = Token {
        kind: T_NONE,
        pos: 0,
        len: 0,
        count: 0,
        str_open: 0,
        str_close: 0,
        val: [0; TOKEN_SIZE],
    };

    fn assign(&mut self, kind: u8, pos: usize, value: &[u8]) {
        let last = value.len().min(TOKEN_SIZE - 1);
        self.kind = kind;
        self.pos = pos;
        self.len = last;
        self.val[..last].copy_from_slice(&value[..last]);
        self.val[last] = 0;
    }

    fn assign_char(&mut self, kind: u8, pos: usize, value: u8) {
        self.kind = kind;
        self.pos = pos;
        self.len = 1;
        self.val[0] = value;
        self.val[1] = 0;
    }

    fn value(&self) -> &[u8] {
        &self.val[..self.len]
    }

    /// The value as the C string it is (up to its first NUL).
    fn c_str(&self) -> &[u8] {
        let end = self.val.iter().position(|&b| b == 0).unwrap_or(TOKEN_SIZE);
        &self.val[..end]
    }

    /// libinjection's `cstrcasecmp(name, val, len) == 0`.
    fn is(&self, name: &[u8]) -> bool {
        self.value().len() == name.len()
            && self
                .value()
                .iter()
                .zip(name)
                .all(|(&v, &n)| v.to_ascii_uppercase() == n)
    }

    fn is_arithmetic_op(&self) -> bool {
        self.kind == T_OPERATOR
            && self.len == 1
            && matches!(self.val[0], b'*' | b'/' | b'-' | b'+' | b'%')
    }

    fn is_unary_op(&self) -> bool {
        if self.kind != T_OPERATOR {
            return false;
        }
        match self.len {
            1 => matches!(self.val[0], b'+' | b'-' | b'!' | b'~'),
            2 => self.val[0] == b'!' && self.val[1] == b'!',
            3 => self.is(b"NOT"),
            _ => false,
        }
    }
}

/// One parse of the input under one set of flags.
struct State<'a> {
    s: &'a [u8],
    flags: u32,
    pos: usize,
    tokens: [Token; 8],
    current: usize,
    /// The fingerprint: the types of the folded tokens (`fp_len` of them).
    fp_buf: [u8; 8],
    fp_len: usize,
    stats_comment_ddx: u32,
    stats_comment_hash: u32,
    stats_tokens: u32,
}

impl<'a> State<'a> {
    fn new(s: &'a [u8], flags: u32) -> Self {
        State {
            s,
            flags,
            pos: 0,
            tokens: [Token::EMPTY; 8],
            current: 0,
            fp_buf: [0; 8],
            fp_len: 0,
            stats_comment_ddx: 0,
            stats_comment_hash: 0,
            stats_tokens: 0,
        }
    }

    fn cur(&mut self) -> &mut Token {
        &mut self.tokens[self.current]
    }

    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }
}

impl State<'_> {
    /// libinjection's `libinjection_sqli_fingerprint`: parses under `flags` and sets
    /// `fingerprint`.
    fn fingerprint(&mut self, flags: u32) {
        let s = self.s;
        *self = State::new(s, flags);
        let tlen = self.fold();
        if tlen > 2 {
            let t = &mut self.tokens[tlen - 1];
            if t.kind == T_BAREWORD && t.str_open == b'`' && t.len == 0 && t.str_close == 0 {
                t.kind = T_COMMENT;
            }
        }
        for (slot, t) in self.fp_buf.iter_mut().zip(&self.tokens[..tlen]) {
            *slot = t.kind;
        }
        self.fp_len = tlen;
        if self.fp().contains(&T_EVIL) {
            self.fp_buf[0] = T_EVIL;
            self.fp_len = 1;
            self.tokens[0].val = [0; TOKEN_SIZE];
            self.tokens[0].val[0] = T_EVIL;
            self.tokens[0].kind = T_EVIL;
            self.tokens[1].kind = T_NONE;
        }
    }

    /// The fingerprint of the last parse.
    fn fp(&self) -> &[u8] {
        &self.fp_buf[..self.fp_len]
    }

    fn blacklisted(&self) -> bool {
        let fp = self.fp();
        if fp.is_empty() {
            return false;
        }
        let mut key = [0u8; 9];
        key[0] = b'0';
        key[1..=fp.len()].copy_from_slice(fp);
        lookup(&key[..=fp.len()]) == T_FINGERPRINT
    }

    fn not_whitelisted(&self) -> bool {
        let fp = self.fp();
        let tlen = fp.len();
        let t = &self.tokens;
        if tlen > 1 && fp[tlen - 1] == T_COMMENT && find(self.s, b"sp_password").is_some() {
            return true;
        }
        match tlen {
            2 => {
                if fp[1] == T_UNION {
                    return self.stats_tokens != 2;
                }
                if t[1].val[0] == b'#' {
                    return false;
                }
                if t[0].kind == T_BAREWORD && t[1].kind == T_COMMENT && t[1].val[0] != b'/' {
                    return false;
                }
                if t[0].kind == T_NUMBER && t[1].kind == T_COMMENT && t[1].val[0] == b'/' {
                    return true;
                }
                if t[0].kind == T_NUMBER && t[1].kind == T_COMMENT {
                    if self.stats_tokens > 2 {
                        return true;
                    }
                    // The byte after the number, read as a signed `char` (NUL past the end).
                    let ch = self.at(t[0].len);
                    if ch <= 32 || ch >= 0x80 {
                        return true;
                    }
                    if ch == b'/' && self.at(t[0].len + 1) == b'*' {
                        return true;
                    }
                    if ch == b'-' && self.at(t[0].len + 1) == b'-' {
                        return true;
                    }
                    return false;
                }
                if t[1].len > 2 && t[1].val[0] == b'-' {
                    return false;
                }
            }
            3 => {
                if fp == b"sos" || fp == b"s&s" {
                    // "'a' OR 'b'" is SQLi only when the quotes line up as an injection.
                    return t[0].str_open == 0
                        && t[2].str_close == 0
                        && t[0].str_close == t[2].str_open;
                } else if fp == b"s&n"
                    || fp == b"n&1"
                    || fp == b"1&1"
                    || fp == b"1&v"
                    || fp == b"1&s"
                {
                    if self.stats_tokens == 3 {
                        return false;
                    }
                } else if t[1].kind == T_KEYWORD
                    && (t[1].len < 5 || !t[1].val[..4].eq_ignore_ascii_case(b"INTO"))
                {
                    // Only "INTO OUTFILE" / "INTO DUMPFILE" make a keyword in the middle SQLi.
                    return false;
                }
            }
            _ => {}
        }
        true
    }

    fn is_sqli_fingerprint(&self) -> bool {
        self.blacklisted() && self.not_whitelisted()
    }

    fn reparse_as_mysql(&self) -> bool {
        self.stats_comment_ddx != 0 || self.stats_comment_hash != 0
    }
}

/// libinjection's `libinjection_sqli`: the fingerprint when `input` is SQL injection.
pub(super) fn detect(input: &[u8]) -> Option<String> {
    if input.is_empty() {
        return None;
    }
    let mut st = State::new(input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
    let found = |st: &State| -> Option<String> {
        st.is_sqli_fingerprint()
            .then(|| String::from_utf8_lossy(st.fp()).into_owned())
    };
    st.fingerprint(FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
    if let Some(fp) = found(&st) {
        return Some(fp);
    }
    if st.reparse_as_mysql() {
        st.fingerprint(FLAG_QUOTE_NONE | FLAG_SQL_MYSQL);
        if let Some(fp) = found(&st) {
            return Some(fp);
        }
    }
    if input.contains(&b'\'') {
        st.fingerprint(FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI);
        if let Some(fp) = found(&st) {
            return Some(fp);
        }
        if st.reparse_as_mysql() {
            st.fingerprint(FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL);
            if let Some(fp) = found(&st) {
                return Some(fp);
            }
        }
    }
    if input.contains(&b'"') {
        st.fingerprint(FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL);
        if let Some(fp) = found(&st) {
            return Some(fp);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fingerprints the C library gives for these inputs.
    #[test]
    fn fingerprints() {
        assert_eq!(detect(b"1' OR '1'='1").as_deref(), Some("s&sos"));
        assert_eq!(detect(b"1 UNION SELECT 1,2").as_deref(), Some("1UE1"));
        assert_eq!(detect(b"admin'--").as_deref(), Some("sc"));
        assert_eq!(
            detect(b"1 into outfile 'x'").as_deref(),
            Some("1ks"),
            "INTO is matched case-insensitively"
        );
        assert_eq!(
            detect(b"1 /*!union*/").as_deref(),
            Some("X"),
            "MySQL version comments are evil"
        );
        assert_eq!(detect(b"SELECT.1"), None);
        assert_eq!(detect(b"hello world"), None);
    }

    #[test]
    fn keyword_lookup_is_exact_and_case_insensitive() {
        assert_eq!(lookup(b"select"), T_EXPRESSION);
        assert_eq!(lookup(b"UNION ALL"), T_UNION);
        assert_eq!(lookup(b"selec"), T_NONE);
        assert_eq!(lookup(b"sel\0ect"), T_NONE);
        assert_eq!(
            lookup(b"&(1)o"),
            T_NONE,
            "fingerprints are keyed with a leading 0"
        );
        assert_eq!(lookup(b"0&(1)o"), T_FINGERPRINT);
        // Keys are uppercase (lookups uppercase the word first).
        assert!(
            keyword_entries()
                .iter()
                .all(|(k, _)| k.iter().all(|b| !b.is_ascii_lowercase()))
        );
    }

    #[test]
    fn tokens_truncate_at_31_bytes() {
        let mut t = Token::EMPTY;
        t.assign(T_STRING, 0, &[b'a'; 40]);
        assert_eq!(t.len, 31);
        assert_eq!(t.val[31], 0);
    }
}
