//! SecLang variables: names, key selectors (`ARGS:foo`, `ARGS:/^f/`), exclusion
//! (`!ARGS:foo`) and counting (`&ARGS`).

use regex::bytes::Regex;

macro_rules! var_kinds {
    ($($variant:ident => $name:literal, $coll:expr;)*) => {
        /// Every variable the engine knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum VarKind { $(#[doc = $name] $variant,)* }

        impl VarKind {
            /// How many variables there are (`kind as usize` is below this).
            pub(crate) const COUNT: usize = [$($name),*].len();

            /// Every variable, in the order of the list below (the vector
            /// tests iterate it).
            #[cfg(test)]
            pub(crate) const ALL: [VarKind; Self::COUNT] = [$(VarKind::$variant),*];

            /// Looks a variable up by its SecLang name (case-insensitive).
            pub(crate) fn from_name(name: &str) -> Option<VarKind> {
                let upper = name.to_ascii_uppercase();
                match upper.as_str() {
                    $($name => Some(VarKind::$variant),)*
                    _ => None,
                }
            }
            /// The SecLang name.
            pub(crate) fn name(self) -> &'static str {
                match self { $(VarKind::$variant => $name,)* }
            }
            /// True when the variable holds several keyed values.
            pub(crate) fn is_collection(self) -> bool {
                match self { $(VarKind::$variant => $coll,)* }
            }
        }
    };
}

var_kinds! {
    Args => "ARGS", true;
    ArgsGet => "ARGS_GET", true;
    ArgsPost => "ARGS_POST", true;
    ArgsNames => "ARGS_NAMES", true;
    ArgsGetNames => "ARGS_GET_NAMES", true;
    ArgsPostNames => "ARGS_POST_NAMES", true;
    ArgsCombinedSize => "ARGS_COMBINED_SIZE", false;
    RequestHeaders => "REQUEST_HEADERS", true;
    RequestHeadersNames => "REQUEST_HEADERS_NAMES", true;
    RequestCookies => "REQUEST_COOKIES", true;
    RequestCookiesNames => "REQUEST_COOKIES_NAMES", true;
    RequestFilename => "REQUEST_FILENAME", false;
    RequestBasename => "REQUEST_BASENAME", false;
    RequestUri => "REQUEST_URI", false;
    RequestUriRaw => "REQUEST_URI_RAW", false;
    RequestLine => "REQUEST_LINE", false;
    RequestMethod => "REQUEST_METHOD", false;
    RequestProtocol => "REQUEST_PROTOCOL", false;
    QueryString => "QUERY_STRING", false;
    RequestBody => "REQUEST_BODY", false;
    RequestBodyLength => "REQUEST_BODY_LENGTH", false;
    ReqbodyProcessor => "REQBODY_PROCESSOR", false;
    ReqbodyError => "REQBODY_ERROR", false;
    ReqbodyErrorMsg => "REQBODY_ERROR_MSG", false;
    ReqbodyProcessorError => "REQBODY_PROCESSOR_ERROR", false;
    MultipartStrictError => "MULTIPART_STRICT_ERROR", false;
    MultipartUnmatchedBoundary => "MULTIPART_UNMATCHED_BOUNDARY", false;
    MultipartBoundaryQuoted => "MULTIPART_BOUNDARY_QUOTED", false;
    MultipartBoundaryWhitespace => "MULTIPART_BOUNDARY_WHITESPACE", false;
    MultipartDataBefore => "MULTIPART_DATA_BEFORE", false;
    MultipartDataAfter => "MULTIPART_DATA_AFTER", false;
    MultipartHeaderFolding => "MULTIPART_HEADER_FOLDING", false;
    MultipartLfLine => "MULTIPART_LF_LINE", false;
    MultipartMissingSemicolon => "MULTIPART_MISSING_SEMICOLON", false;
    MultipartInvalidQuoting => "MULTIPART_INVALID_QUOTING", false;
    MultipartInvalidPart => "MULTIPART_INVALID_PART", false;
    MultipartInvalidHeaderFolding => "MULTIPART_INVALID_HEADER_FOLDING", false;
    MultipartFileLimitExceeded => "MULTIPART_FILE_LIMIT_EXCEEDED", false;
    MultipartCrlfLfLines => "MULTIPART_CRLF_LF_LINES", false;
    MultipartPartHeaders => "MULTIPART_PART_HEADERS", true;
    MultipartFilename => "MULTIPART_FILENAME", false;
    MultipartName => "MULTIPART_NAME", false;
    Files => "FILES", true;
    FilesNames => "FILES_NAMES", true;
    FilesSizes => "FILES_SIZES", true;
    FilesCombinedSize => "FILES_COMBINED_SIZE", false;
    FilesTmpnames => "FILES_TMPNAMES", true;
    Xml => "XML", true;
    ResponseStatus => "RESPONSE_STATUS", false;
    ResponseProtocol => "RESPONSE_PROTOCOL", false;
    ResponseHeaders => "RESPONSE_HEADERS", true;
    ResponseHeadersNames => "RESPONSE_HEADERS_NAMES", true;
    ResponseBody => "RESPONSE_BODY", false;
    ResponseContentType => "RESPONSE_CONTENT_TYPE", false;
    ResponseContentLength => "RESPONSE_CONTENT_LENGTH", false;
    Tx => "TX", true;
    Ip => "IP", true;
    Global => "GLOBAL", true;
    Session => "SESSION", true;
    User => "USER", true;
    Resource => "RESOURCE", true;
    Env => "ENV", true;
    Geo => "GEO", true;
    MatchedVar => "MATCHED_VAR", false;
    MatchedVars => "MATCHED_VARS", true;
    MatchedVarName => "MATCHED_VAR_NAME", false;
    MatchedVarsNames => "MATCHED_VARS_NAMES", true;
    RemoteAddr => "REMOTE_ADDR", false;
    RemotePort => "REMOTE_PORT", false;
    RemoteHost => "REMOTE_HOST", false;
    ServerAddr => "SERVER_ADDR", false;
    ServerPort => "SERVER_PORT", false;
    ServerName => "SERVER_NAME", false;
    UniqueId => "UNIQUE_ID", false;
    Duration => "DURATION", false;
    HighestSeverity => "HIGHEST_SEVERITY", false;
    FullRequest => "FULL_REQUEST", false;
    FullRequestLength => "FULL_REQUEST_LENGTH", false;
    InboundDataError => "INBOUND_DATA_ERROR", false;
    OutboundDataError => "OUTBOUND_DATA_ERROR", false;
    StatusLine => "STATUS_LINE", false;
    Time => "TIME", false;
    TimeEpoch => "TIME_EPOCH", false;
    TimeDay => "TIME_DAY", false;
    TimeHour => "TIME_HOUR", false;
    TimeMin => "TIME_MIN", false;
    TimeMon => "TIME_MON", false;
    TimeSec => "TIME_SEC", false;
    TimeWday => "TIME_WDAY", false;
    TimeYear => "TIME_YEAR", false;
    AuthType => "AUTH_TYPE", false;
    RemoteUser => "REMOTE_USER", false;
    UrlencodedError => "URLENCODED_ERROR", false;
}

/// Which keys of a collection a target selects.
#[derive(Debug, Clone)]
pub(crate) enum KeySel {
    /// The whole collection.
    All,
    /// One key, compared case-insensitively (stored lower-case).
    Literal(String),
    /// Keys matching a regular expression (`ARGS:/^id_/`), case-insensitive.
    Regex(KeyRegex),
    /// An XPath expression (only for `XML`).
    XPath(String),
}

impl KeySel {
    /// True when `key` is selected.
    #[cfg(test)]
    pub(crate) fn matches(&self, key: &str) -> bool {
        match self {
            KeySel::All => true,
            KeySel::Literal(l) => l.eq_ignore_ascii_case(key),
            KeySel::Regex(r) => r.is_match(key.as_bytes()),
            KeySel::XPath(x) => x == key,
        }
    }

    /// True when the byte key `key` is selected.
    pub(crate) fn matches_bytes(&self, key: &[u8]) -> bool {
        match self {
            KeySel::All => true,
            KeySel::Literal(l) => l.as_bytes().eq_ignore_ascii_case(key),
            KeySel::Regex(r) => r.is_match(key),
            KeySel::XPath(x) => x.as_bytes() == key,
        }
    }
}

/// A key selector's regular expression, with the literals one of which
/// every key it matches contains (when there are a few): most keys of a
/// collection (TX holds some 100) are turned away by comparing bytes instead
/// of a regex search.
#[derive(Debug, Clone)]
pub(crate) struct KeyRegex {
    re: Regex,
    /// Lower-case; compared ASCII-case-insensitively.
    need: Option<Vec<Vec<u8>>>,
    /// The whole expression when it is `^` and a plain literal: compared
    /// instead of searching (lower-case).
    prefix: Option<Vec<u8>>,
}

/// Most literals [`KeyRegex`] compares before its regex.
const KEY_LITERALS_MAX: usize = 4;

impl KeyRegex {
    fn new(pattern: &str) -> Result<KeyRegex, String> {
        let re = regex::bytes::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .build()
            .map_err(|e| format!("bad regular expression key /{pattern}/: {e}"))?;
        // The literals of the expression as compiled: case-insensitive, in
        // Unicode mode (so `k` also stands for the Kelvin sign).
        let need = crate::prefilter::literals::required_literals(&format!("(?i:{pattern})"), true)
            .filter(|lits| lits.len() <= KEY_LITERALS_MAX);
        Ok(KeyRegex {
            re,
            need,
            prefix: plain_prefix(pattern),
        })
    }

    /// True when `key` matches.
    pub(crate) fn is_match(&self, key: &[u8]) -> bool {
        if let Some(p) = &self.prefix {
            return key.len() >= p.len() && key[..p.len()].eq_ignore_ascii_case(p);
        }
        if let Some(need) = &self.need
            && !need.iter().any(|l| contains_ignore_ascii_case(key, l))
        {
            return false;
        }
        self.re.is_match(key)
    }
}

/// `^literal` (920450's `^header_name_920450_`): the literal, lower-case,
/// when it is letters, digits, `_` and `-` only. Case-insensitive in Unicode
/// mode, `k` and `s` also match a non-ASCII letter (the Kelvin sign, the
/// long s), so a literal holding one is left to the regex.
fn plain_prefix(pattern: &str) -> Option<Vec<u8>> {
    let lit = pattern.strip_prefix('^')?;
    let plain = !lit.is_empty()
        && lit.bytes().all(|b| {
            (b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && !matches!(b.to_ascii_lowercase(), b'k' | b's')
        });
    plain.then(|| lit.to_ascii_lowercase().into_bytes())
}

/// True when `hay` contains `needle` (non-empty, lower-case) up to ASCII case.
fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some(last) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    let first = needle[0];
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), &hay[..=last])
        .any(|i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// One entry of a rule's variable list.
#[derive(Debug, Clone)]
pub(crate) struct VarSpec {
    /// The variable.
    pub kind: VarKind,
    /// The key selector.
    pub key: KeySel,
    /// `&VAR`: the number of selected values instead of the values.
    pub count: bool,
    /// `!VAR:key`: removes those values from the rule's targets.
    pub exclude: bool,
}

/// Parses a variable list such as `ARGS|!ARGS:foo|&TX:x|REQUEST_COOKIES:/^a|b$/`.
pub(crate) fn parse_list(s: &str) -> Result<Vec<VarSpec>, String> {
    let s = s.trim();
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b'|' || bytes[i] == b' ') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let mut exclude = false;
        let mut count = false;
        loop {
            match bytes.get(i) {
                Some(b'!') => exclude = true,
                Some(b'&') => count = true,
                _ => break,
            }
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b':' && bytes[i] != b'|' {
            i += 1;
        }
        let name = &s[start..i];
        let kind = VarKind::from_name(name).ok_or_else(|| format!("unknown variable {name:?}"))?;
        let mut key = KeySel::All;
        if i < bytes.len() && bytes[i] == b':' {
            i += 1;
            let (raw, next) = read_key(s, i, kind == VarKind::Xml)?;
            i = next;
            key = make_key(kind, raw)?;
        }
        if !matches!(key, KeySel::All) && !kind.is_collection() {
            return Err(format!("variable {} takes no key", kind.name()));
        }
        out.push(VarSpec {
            kind,
            key,
            count,
            exclude,
        });
    }
    if out.is_empty() {
        return Err("empty variable list".into());
    }
    Ok(out)
}

enum RawKey<'a> {
    Plain(&'a str),
    Regex(String),
}

fn read_key(s: &str, mut i: usize, xpath: bool) -> Result<(RawKey<'_>, usize), String> {
    let bytes = s.as_bytes();
    if xpath {
        let start = i;
        while i < bytes.len() && bytes[i] != b'|' {
            i += 1;
        }
        return Ok((RawKey::Plain(&s[start..i]), i));
    }
    if bytes.get(i) == Some(&b'\'') {
        let start = i + 1;
        let end = s[start..].find('\'').ok_or("unterminated quoted key")? + start;
        let inner = &s[start..end];
        i = end + 1;
        if inner.len() >= 2 && inner.starts_with('/') && inner.ends_with('/') {
            return Ok((RawKey::Regex(inner[1..inner.len() - 1].to_string()), i));
        }
        return Ok((RawKey::Plain(inner), i));
    }
    if bytes.get(i) == Some(&b'/') {
        // A regex key ends at a `/` that is followed by `|` or the end of the list.
        let start = i + 1;
        let mut j = start;
        while j < bytes.len() {
            if bytes[j] == b'\\' {
                j += 2;
                continue;
            }
            if bytes[j] == b'/' && (j + 1 == bytes.len() || bytes[j + 1] == b'|') {
                return Ok((RawKey::Regex(s[start..j].to_string()), j + 1));
            }
            j += 1;
        }
        return Err(format!("unterminated regular expression key in {s:?}"));
    }
    let start = i;
    while i < bytes.len() && bytes[i] != b'|' {
        i += 1;
    }
    Ok((RawKey::Plain(&s[start..i]), i))
}

fn make_key(kind: VarKind, raw: RawKey<'_>) -> Result<KeySel, String> {
    match raw {
        RawKey::Plain(p) if kind == VarKind::Xml => {
            if crate::bodyprocessors::xml::select(&[], p).is_none() {
                return Err(format!(
                    "XPath {p:?} is outside the supported subset (/a/b, //a, //a/@b, //@*, text())"
                ));
            }
            Ok(KeySel::XPath(p.to_string()))
        }
        RawKey::Plain(p) => Ok(KeySel::Literal(p.to_ascii_lowercase())),
        RawKey::Regex(r) => KeyRegex::new(&r).map(KeySel::Regex),
    }
}

#[cfg(test)]
mod vectors;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_selectors() {
        let v =
            parse_list("REQUEST_COOKIES|!REQUEST_COOKIES:/__utm|x/|ARGS:foo|&TX:a|XML:/*").unwrap();
        assert_eq!(v.len(), 5);
        assert!(v[1].exclude);
        assert!(v[1].key.matches("__utmz"));
        assert!(v[1].key.matches("X"));
        assert!(matches!(&v[2].key, KeySel::Literal(k) if k == "foo"));
        assert!(v[3].count);
        assert!(matches!(&v[4].key, KeySel::XPath(x) if x == "/*"));
    }

    #[test]
    fn unknown_variable_is_an_error() {
        assert!(parse_list("ARGZ").is_err());
        assert!(parse_list("REQUEST_URI:foo").is_err());
        assert!(parse_list("XML:count(//a)").is_err());
        assert!(parse_list("XML://item/@id").is_ok());
    }
}

#[cfg(test)]
mod key_regex_tests {
    use super::KeyRegex;

    #[test]
    fn the_literal_check_turns_away_only_keys_the_regex_would() {
        for (pattern, key, want) in [
            ("^header_name_920450_", "header_name_920450_proxy", true),
            ("^header_name_920450_", "HEADER_Name_920450_x", true),
            ("^header_name_920450_", "x_header_name_920450_", false),
            ("paramcounter_.*", "tx_paramcounter_a", true),
            ("paramcounter_.*", "paramcount", false),
            // Case-insensitive in Unicode mode: K also matches the Kelvin sign.
            ("^key", "\u{212A}ey", true),
            ("^(?:ab|cd)$", "CD", true),
            ("^(?:ab|cd)$", "ce", false),
        ] {
            let r = KeyRegex::new(pattern).unwrap();
            assert!(r.need.is_some(), "{pattern} has literals");
            assert_eq!(r.is_match(key.as_bytes()), want, "/{pattern}/ on {key}");
            assert_eq!(r.re.is_match(key.as_bytes()), want, "/{pattern}/ on {key}");
        }
    }

    /// `plain_prefix` compares ASCII case only: of the ASCII letters, only
    /// `k` and `s` have a non-ASCII letter in their simple case folding (the
    /// table the regex crate matches `(?i)` with).
    #[test]
    fn only_k_and_s_fold_to_non_ascii_letters() {
        use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
        let folding: Vec<char> = ('a'..='z')
            .filter(|&c| {
                let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
                class.case_fold_simple();
                class.iter().any(|r| !r.end().is_ascii())
            })
            .collect();
        assert_eq!(folding, ['k', 's']);
    }

    #[test]
    fn a_plain_prefix_is_compared_as_the_regex_matches() {
        let keys = [
            "header_name_920450_proxy",
            "HEADER_NAME_920450_",
            "header_name_920450",
            "x_header_name_920450_",
            "header-name",
            "\u{212A}ey_a",
            "\u{17F}et",
            "",
            "h\u{e9}ader_name_920450_",
        ];
        for (pattern, plain) in [
            ("^header_name_920450_", true),
            ("^header-name", true),
            ("^key", false),
            ("^set", false),
            ("^a.b", false),
            ("header_name", false),
        ] {
            let r = KeyRegex::new(pattern).unwrap();
            assert_eq!(r.prefix.is_some(), plain, "{pattern}");
            for key in keys {
                assert_eq!(
                    r.is_match(key.as_bytes()),
                    r.re.is_match(key.as_bytes()),
                    "/{pattern}/ on {key:?}"
                );
            }
        }
    }
}
