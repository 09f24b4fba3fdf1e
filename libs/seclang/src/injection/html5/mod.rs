//! The small HTML5 tokenizer libinjection's XSS check runs on (libinjection_html5.c semantics).
//!
//! It is deliberately not a full HTML parser: it splits input into tag names, attribute names
//! and values, comments, doctypes and text, starting in one of five contexts, with the same
//! browser quirks libinjection models (NUL bytes ignored in tag names and counted as
//! whitespace elsewhere, IE back-quoted values, `<% %>` comments).

mod comments;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenType {
    DataText,
    TagNameOpen,
    TagNameClose,
    TagNameSelfClose,
    TagClose,
    AttrName,
    AttrValue,
    TagComment,
    Doctype,
}

/// Where in an HTML document the input is assumed to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    /// Between tags.
    Data,
    /// Inside an unquoted attribute value.
    ValueNoQuote,
    /// Inside a `'`-quoted attribute value.
    ValueSingleQuote,
    /// Inside a `"`-quoted attribute value.
    ValueDoubleQuote,
    /// Inside a `` ` ``-quoted attribute value (old IE).
    ValueBackQuote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Eof,
    Data,
    TagOpen,
    TagNameClose,
    BeforeAttributeName,
    AfterAttributeName,
    BeforeAttributeValue,
    ValueQuote(u8),
    AfterAttributeValueQuoted,
    SelfClosingStartTag,
}

/// The tokenizer: call [`Tokenizer::next_token`] until it returns `false`.
pub(super) struct Tokenizer<'a> {
    s: &'a [u8],
    pos: usize,
    state: State,
    is_close: bool,
    /// Start of the current token in the input.
    pub token_start: usize,
    /// Length of the current token.
    pub token_len: usize,
    /// Type of the current token.
    pub token_type: TokenType,
}

/// libinjection's whitespace test; it counts NUL as whitespace (C's `strchr` finds the
/// terminator).
fn is_white(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0)
}

#[inline]
fn find(hay: &[u8], from: usize, needle: u8) -> Option<usize> {
    hay.get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|p| p + from)
}

impl<'a> Tokenizer<'a> {
    pub(super) fn new(s: &'a [u8], context: Context) -> Self {
        let state = match context {
            Context::Data => State::Data,
            Context::ValueNoQuote => State::BeforeAttributeName,
            Context::ValueSingleQuote => State::ValueQuote(b'\''),
            Context::ValueDoubleQuote => State::ValueQuote(b'"'),
            Context::ValueBackQuote => State::ValueQuote(b'`'),
        };
        Tokenizer {
            s,
            pos: 0,
            state,
            is_close: false,
            token_start: 0,
            token_len: 0,
            token_type: TokenType::DataText,
        }
    }

    /// The current token's bytes.
    pub(super) fn token(&self) -> &'a [u8] {
        &self.s[self.token_start..self.token_start + self.token_len]
    }

    /// The input from the current token's start to the end (libinjection compares past the
    /// token in places).
    pub(super) fn token_onwards(&self) -> &'a [u8] {
        &self.s[self.token_start..]
    }

    /// Moves to the next token; `false` at the end.
    pub(super) fn next_token(&mut self) -> bool {
        match self.state {
            State::Eof => false,
            State::Data => self.data(),
            State::TagOpen => self.tag_open(),
            State::TagNameClose => self.tag_name_close(),
            State::BeforeAttributeName => self.before_attribute_name(),
            State::AfterAttributeName => self.after_attribute_name(),
            State::BeforeAttributeValue => self.before_attribute_value(),
            State::ValueQuote(q) => self.attribute_value_quote(q),
            State::AfterAttributeValueQuoted => self.after_attribute_value_quoted(),
            State::SelfClosingStartTag => self.self_closing_start_tag(),
        }
    }

    #[inline]
    fn set(&mut self, start: usize, len: usize, token_type: TokenType) {
        self.token_start = start;
        self.token_len = len;
        self.token_type = token_type;
    }

    #[inline]
    fn len(&self) -> usize {
        self.s.len()
    }

    /// Skips whitespace (NUL included) and returns the next byte, `None` at the end. A 0xFF
    /// byte also reads as the end: the C code returns the byte as a signed `char`, and -1 is
    /// its end-of-input marker.
    fn skip_white(&mut self) -> Option<u8> {
        while self.pos < self.len() {
            let ch = self.s[self.pos];
            if matches!(ch, 0x00 | 0x20 | 0x09 | 0x0a | 0x0b | 0x0c | 0x0d) {
                self.pos += 1;
            } else if ch == 0xff {
                return None;
            } else {
                return Some(ch);
            }
        }
        None
    }

    fn data(&mut self) -> bool {
        match find(self.s, self.pos, b'<') {
            None => {
                self.set(self.pos, self.len() - self.pos, TokenType::DataText);
                self.state = State::Eof;
                self.token_len != 0
            }
            Some(idx) => {
                self.set(self.pos, idx - self.pos, TokenType::DataText);
                self.pos = idx + 1;
                self.state = State::TagOpen;
                if self.token_len == 0 {
                    return self.tag_open();
                }
                true
            }
        }
    }

    fn tag_open(&mut self) -> bool {
        let Some(&ch) = self.s.get(self.pos) else {
            return false;
        };
        match ch {
            b'!' => {
                self.pos += 1;
                self.markup_declaration_open()
            }
            b'/' => {
                self.pos += 1;
                self.is_close = true;
                self.end_tag_open()
            }
            b'?' => {
                self.pos += 1;
                self.bogus_comment()
            }
            b'%' => {
                self.pos += 1;
                self.bogus_comment2()
            }
            _ if ch.is_ascii_alphabetic() || ch == 0 => self.tag_name(),
            _ => {
                if self.pos == 0 {
                    return self.data();
                }
                self.set(self.pos - 1, 1, TokenType::DataText);
                self.state = State::Data;
                true
            }
        }
    }

    fn end_tag_open(&mut self) -> bool {
        let Some(&ch) = self.s.get(self.pos) else {
            return false;
        };
        if ch == b'>' {
            self.data()
        } else if ch.is_ascii_alphabetic() {
            self.tag_name()
        } else {
            self.is_close = false;
            self.bogus_comment()
        }
    }

    fn tag_name_close(&mut self) -> bool {
        self.is_close = false;
        self.set(self.pos, 1, TokenType::TagNameClose);
        self.pos += 1;
        self.state = if self.pos < self.len() {
            State::Data
        } else {
            State::Eof
        };
        true
    }

    fn tag_name(&mut self) -> bool {
        let mut pos = self.pos;
        while pos < self.len() {
            let ch = self.s[pos];
            if ch == 0 {
                pos += 1;
            } else if is_white(ch) {
                self.set(self.pos, pos - self.pos, TokenType::TagNameOpen);
                self.pos = pos + 1;
                self.state = State::BeforeAttributeName;
                return true;
            } else if ch == b'/' {
                self.set(self.pos, pos - self.pos, TokenType::TagNameOpen);
                self.pos = pos + 1;
                self.state = State::SelfClosingStartTag;
                return true;
            } else if ch == b'>' {
                if self.is_close {
                    self.set(self.pos, pos - self.pos, TokenType::TagClose);
                    self.pos = pos + 1;
                    self.is_close = false;
                    self.state = State::Data;
                } else {
                    self.set(self.pos, pos - self.pos, TokenType::TagNameOpen);
                    self.pos = pos;
                    self.state = State::TagNameClose;
                }
                return true;
            } else {
                pos += 1;
            }
        }
        self.set(self.pos, self.len() - self.pos, TokenType::TagNameOpen);
        self.state = State::Eof;
        true
    }

    fn before_attribute_name(&mut self) -> bool {
        loop {
            match self.skip_white() {
                None => return false,
                Some(b'/') => {
                    self.pos += 1;
                    if self.pos < self.len() && self.s[self.pos] != b'>' {
                        continue;
                    }
                    return self.self_closing_start_tag();
                }
                Some(b'>') => {
                    self.state = State::Data;
                    self.set(self.pos, 1, TokenType::TagNameClose);
                    self.pos += 1;
                    return true;
                }
                Some(_) => return self.attribute_name(),
            }
        }
    }

    fn attribute_name(&mut self) -> bool {
        let mut pos = self.pos + 1;
        while pos < self.len() {
            let ch = self.s[pos];
            let next = if is_white(ch) {
                Some((State::AfterAttributeName, pos + 1))
            } else if ch == b'/' {
                Some((State::SelfClosingStartTag, pos + 1))
            } else if ch == b'=' {
                Some((State::BeforeAttributeValue, pos + 1))
            } else if ch == b'>' {
                Some((State::TagNameClose, pos))
            } else {
                None
            };
            if let Some((state, new_pos)) = next {
                self.set(self.pos, pos - self.pos, TokenType::AttrName);
                self.state = state;
                self.pos = new_pos;
                return true;
            }
            pos += 1;
        }
        self.set(self.pos, self.len() - self.pos, TokenType::AttrName);
        self.state = State::Eof;
        self.pos = self.len();
        true
    }

    fn after_attribute_name(&mut self) -> bool {
        match self.skip_white() {
            None => false,
            Some(b'/') => {
                self.pos += 1;
                self.self_closing_start_tag()
            }
            Some(b'=') => {
                self.pos += 1;
                self.before_attribute_value()
            }
            Some(b'>') => self.tag_name_close(),
            Some(_) => self.attribute_name(),
        }
    }

    fn before_attribute_value(&mut self) -> bool {
        match self.skip_white() {
            None => {
                self.state = State::Eof;
                false
            }
            Some(q @ (b'"' | b'\'' | b'`')) => self.attribute_value_quote(q),
            Some(_) => self.attribute_value_no_quote(),
        }
    }

    fn attribute_value_quote(&mut self, quote: u8) -> bool {
        // Skip the opening quote, except when the input starts inside the value.
        if self.pos > 0 {
            self.pos += 1;
        }
        let start = self.pos.min(self.len());
        match find(self.s, start, quote) {
            None => {
                self.set(start, self.len() - start, TokenType::AttrValue);
                self.state = State::Eof;
            }
            Some(idx) => {
                self.set(start, idx - start, TokenType::AttrValue);
                self.state = State::AfterAttributeValueQuoted;
                self.pos = idx + 1;
            }
        }
        true
    }

    fn attribute_value_no_quote(&mut self) -> bool {
        let mut pos = self.pos;
        while pos < self.len() {
            let ch = self.s[pos];
            if is_white(ch) {
                self.set(self.pos, pos - self.pos, TokenType::AttrValue);
                self.pos = pos + 1;
                self.state = State::BeforeAttributeName;
                return true;
            } else if ch == b'>' {
                self.set(self.pos, pos - self.pos, TokenType::AttrValue);
                self.pos = pos;
                self.state = State::TagNameClose;
                return true;
            }
            pos += 1;
        }
        self.state = State::Eof;
        self.set(self.pos, self.len() - self.pos, TokenType::AttrValue);
        true
    }

    fn after_attribute_value_quoted(&mut self) -> bool {
        let Some(&ch) = self.s.get(self.pos) else {
            return false;
        };
        if is_white(ch) {
            self.pos += 1;
            self.before_attribute_name()
        } else if ch == b'/' {
            self.pos += 1;
            self.self_closing_start_tag()
        } else if ch == b'>' {
            self.set(self.pos, 1, TokenType::TagNameClose);
            self.pos += 1;
            self.state = State::Data;
            true
        } else {
            self.before_attribute_name()
        }
    }

    fn self_closing_start_tag(&mut self) -> bool {
        let Some(&ch) = self.s.get(self.pos) else {
            return false;
        };
        if ch == b'>' {
            self.set(self.pos - 1, 2, TokenType::TagNameSelfClose);
            self.state = State::Data;
            self.pos += 1;
            true
        } else {
            self.before_attribute_name()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: &[u8], context: Context) -> Vec<(TokenType, String)> {
        let mut t = Tokenizer::new(input, context);
        let mut out = Vec::new();
        while t.next_token() {
            out.push((
                t.token_type,
                String::from_utf8_lossy(t.token()).into_owned(),
            ));
        }
        out
    }

    #[test]
    fn a_tag_with_a_quoted_attribute() {
        use TokenType::*;
        let got = tokens(b"<a href=\"x\">t</a>", Context::Data);
        let want = [
            (TagNameOpen, "a"),
            (AttrName, "href"),
            (AttrValue, "x"),
            (TagNameClose, ">"),
            (DataText, "t"),
            (TagClose, "a"),
        ];
        assert_eq!(got, want.map(|(k, v)| (k, v.to_string())));
    }

    #[test]
    fn starting_inside_a_quoted_value() {
        use TokenType::*;
        let got = tokens(b"x' onload='y", Context::ValueSingleQuote);
        let want = [(AttrValue, "x"), (AttrName, "onload"), (AttrValue, "y")];
        assert_eq!(got, want.map(|(k, v)| (k, v.to_string())));
    }

    #[test]
    fn nul_is_ignored_in_tag_names_and_0xff_ends_attributes() {
        assert_eq!(
            tokens(b"<scr\0ipt>", Context::Data)[0],
            (TokenType::TagNameOpen, "scr\0ipt".to_string())
        );
        assert_eq!(tokens(b"<a \xff", Context::Data).len(), 1);
    }
}
