//! The tokenizer's comment-like states: bogus comments (`<?`, `</ `, `<% %>`),
//! `<!--` comments, `<![CDATA[` sections and doctypes.

use super::{State, TokenType, Tokenizer, find};

impl Tokenizer<'_> {
    pub(super) fn bogus_comment(&mut self) -> bool {
        match find(self.s, self.pos, b'>') {
            None => {
                self.set(self.pos, self.len() - self.pos, TokenType::TagComment);
                self.pos = self.len();
                self.state = State::Eof;
            }
            Some(idx) => {
                self.set(self.pos, idx - self.pos, TokenType::TagComment);
                self.pos = idx + 1;
                self.state = State::Data;
            }
        }
        true
    }

    /// `<% ... %>`, an old IE and Safari comment form.
    pub(super) fn bogus_comment2(&mut self) -> bool {
        let mut pos = self.pos;
        loop {
            match find(self.s, pos, b'%') {
                Some(idx) if idx + 1 < self.len() => {
                    if self.s[idx + 1] != b'>' {
                        pos = idx + 1;
                        continue;
                    }
                    self.set(self.pos, idx - self.pos, TokenType::TagComment);
                    self.pos = idx + 2;
                    self.state = State::Data;
                    return true;
                }
                _ => {
                    self.set(self.pos, self.len() - self.pos, TokenType::TagComment);
                    self.pos = self.len();
                    self.state = State::Eof;
                    return true;
                }
            }
        }
    }

    pub(super) fn markup_declaration_open(&mut self) -> bool {
        let rest = &self.s[self.pos..];
        if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"DOCTYPE") {
            self.doctype()
        } else if rest.starts_with(b"[CDATA[") {
            self.pos += 7;
            self.cdata()
        } else if rest.starts_with(b"--") {
            self.pos += 2;
            self.comment()
        } else {
            self.bogus_comment()
        }
    }

    fn comment_to_end(&mut self) -> bool {
        self.state = State::Eof;
        self.set(self.pos, self.len() - self.pos, TokenType::TagComment);
        true
    }

    /// A comment ends at the end of input, at `-->` or at `-!>` (NULs after the first `-`
    /// ignored).
    fn comment(&mut self) -> bool {
        let end = self.len();
        let mut pos = self.pos;
        loop {
            let idx = match find(self.s, pos, b'-') {
                Some(idx) if idx + 3 <= end => idx,
                _ => return self.comment_to_end(),
            };
            let mut offset = 1;
            while idx + offset < end && self.s[idx + offset] == 0 {
                offset += 1;
            }
            if idx + offset == end {
                return self.comment_to_end();
            }
            let ch = self.s[idx + offset];
            if ch != b'-' && ch != b'!' {
                pos = idx + 1;
                continue;
            }
            offset += 1;
            if idx + offset == end {
                return self.comment_to_end();
            }
            if self.s[idx + offset] != b'>' {
                pos = idx + 1;
                continue;
            }
            offset += 1;
            self.set(self.pos, idx - self.pos, TokenType::TagComment);
            self.pos = idx + offset;
            self.state = State::Data;
            return true;
        }
    }

    fn cdata(&mut self) -> bool {
        let end = self.len();
        let mut pos = self.pos;
        loop {
            match find(self.s, pos, b']') {
                Some(idx) if idx + 3 <= end => {
                    if self.s[idx + 1] == b']' && self.s[idx + 2] == b'>' {
                        self.state = State::Data;
                        self.set(self.pos, idx - self.pos, TokenType::DataText);
                        self.pos = idx + 3;
                        return true;
                    }
                    pos = idx + 1;
                }
                _ => {
                    self.state = State::Eof;
                    self.set(self.pos, end - self.pos, TokenType::DataText);
                    return true;
                }
            }
        }
    }

    fn doctype(&mut self) -> bool {
        self.token_start = self.pos;
        self.token_type = TokenType::Doctype;
        match find(self.s, self.pos, b'>') {
            None => {
                self.state = State::Eof;
                self.token_len = self.len() - self.pos;
            }
            Some(idx) => {
                self.state = State::Data;
                self.token_len = idx - self.pos;
                self.pos = idx + 1;
            }
        }
        true
    }
}
