//! The SQL tokenizer: one parser per kind of first byte, as libinjection dispatches them.

use super::*;

/// Bytes that end a word (libinjection's `parse_word` stop set).
const WORD_END: ByteClass = ByteClass::stops(b" []{}<>:\\?=@!#~+-*/&|^%(),';\t\n\x0b\x0c\r\"\xa0");
/// Bytes that end an `@variable` name.
const VARIABLE_END: ByteClass = ByteClass::stops(b" <>:\\?=@!#~+-*/&|^%(),';\t\n\x0b\x0c\r'`\"");

impl State<'_> {
    fn parse_white(&mut self) -> usize {
        self.pos + 1
    }

    fn parse_operator1(&mut self) -> usize {
        let (pos, c) = (self.pos, self.s[self.pos]);
        self.cur().assign_char(T_OPERATOR, pos, c);
        pos + 1
    }

    fn parse_other(&mut self) -> usize {
        let (pos, c) = (self.pos, self.s[self.pos]);
        self.cur().assign_char(T_UNKNOWN, pos, c);
        pos + 1
    }

    fn parse_char(&mut self) -> usize {
        let (pos, c) = (self.pos, self.s[self.pos]);
        self.cur().assign_char(c, pos, c);
        pos + 1
    }

    fn parse_eol_comment(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        match find_byte(&s[pos..], b'\n') {
            None => {
                self.cur().assign(T_COMMENT, pos, &s[pos..]);
                s.len()
            }
            Some(n) => {
                self.cur().assign(T_COMMENT, pos, &s[pos..pos + n]);
                pos + n + 1
            }
        }
    }

    fn parse_hash(&mut self) -> usize {
        self.stats_comment_hash += 1;
        if self.flags & FLAG_SQL_MYSQL != 0 {
            self.stats_comment_hash += 1;
            self.parse_eol_comment()
        } else {
            let pos = self.pos;
            self.cur().assign_char(T_OPERATOR, pos, b'#');
            pos + 1
        }
    }

    fn parse_dash(&mut self) -> usize {
        let (s, pos, slen) = (self.s, self.pos, self.s.len());
        // "--" then whitespace or the end is a comment everywhere.
        if (pos + 2 < slen && s[pos + 1] == b'-' && is_white(s[pos + 2]))
            || (pos + 2 == slen && s[pos + 1] == b'-')
        {
            self.parse_eol_comment()
        } else if pos + 1 < slen && s[pos + 1] == b'-' && self.flags & FLAG_SQL_ANSI != 0 {
            self.stats_comment_ddx += 1;
            self.parse_eol_comment()
        } else {
            self.cur().assign_char(T_OPERATOR, pos, b'-');
            pos + 1
        }
    }

    fn parse_slash(&mut self) -> usize {
        let (s, pos, slen) = (self.s, self.pos, self.s.len());
        if pos + 1 == slen || s[pos + 1] != b'*' {
            return self.parse_operator1();
        }
        let close = find(&s[pos + 2..], b"*/").map(|p| pos + 2 + p);
        let clen = match close {
            None => slen - pos,
            Some(p) => p + 2 - pos,
        };
        // A nested "/*" (PostgreSQL) or a MySQL "/*!" comment is evil.
        let nested = close.is_some_and(|p| find(&s[pos + 2..p + 1], b"/*").is_some());
        let mysql = pos + 2 < slen && s[pos + 2] == b'!';
        let kind = if nested || mysql { T_EVIL } else { T_COMMENT };
        self.cur().assign(kind, pos, &s[pos..pos + clen]);
        pos + clen
    }

    fn parse_backslash(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 1 < s.len() && s[pos + 1] == b'N' {
            self.cur().assign(T_NUMBER, pos, &s[pos..pos + 2]);
            pos + 2
        } else {
            self.cur().assign_char(T_BACKSLASH, pos, s[pos]);
            pos + 1
        }
    }

    fn parse_operator2(&mut self) -> usize {
        let (s, pos, slen) = (self.s, self.pos, self.s.len());
        if pos + 1 >= slen {
            return self.parse_operator1();
        }
        if pos + 2 < slen && s[pos] == b'<' && s[pos + 1] == b'=' && s[pos + 2] == b'>' {
            self.cur().assign(T_OPERATOR, pos, &s[pos..pos + 3]);
            return pos + 3;
        }
        let ch = lookup(&s[pos..pos + 2]);
        if ch != T_NONE {
            self.cur().assign(ch, pos, &s[pos..pos + 2]);
            return pos + 2;
        }
        if s[pos] == b':' {
            self.cur().assign(T_COLON, pos, &s[pos..pos + 1]);
            pos + 1
        } else {
            self.parse_operator1()
        }
    }

    /// A quoted string starting at `pos + offset`; `offset` 0 means the quote was implied.
    fn parse_string_core(&mut self, pos: usize, delim: u8, offset: usize) -> usize {
        let s = self.s;
        let len = s.len();
        let start = pos + offset;
        let tok = &mut self.tokens[self.current];
        tok.str_open = if offset > 0 { delim } else { 0 };
        let mut q = find_byte(&s[start.min(len)..], delim).map(|p| p + start);
        loop {
            match q {
                None => {
                    tok.assign(T_STRING, start, &s[start.min(len)..]);
                    tok.str_close = 0;
                    return len;
                }
                Some(qpos) => {
                    // Backslashes right before the quote, back to the string start.
                    let backslashes = s[start..qpos]
                        .iter()
                        .rev()
                        .take_while(|&&b| b == b'\\')
                        .count();
                    if backslashes % 2 == 1 {
                        q = find_byte(&s[qpos + 1..], delim).map(|p| p + qpos + 1);
                    } else if qpos + 1 < len && s[qpos + 1] == s[qpos] {
                        q = find_byte(&s[(qpos + 2).min(len)..], delim).map(|p| p + qpos + 2);
                    } else {
                        tok.assign(T_STRING, start, &s[start..qpos]);
                        tok.str_close = delim;
                        return qpos + 1;
                    }
                }
            }
        }
    }

    fn parse_string(&mut self) -> usize {
        let pos = self.pos;
        self.parse_string_core(pos, self.s[pos], 1)
    }

    fn parse_estring(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 2 >= s.len() || s[pos + 1] != b'\'' {
            return self.parse_word();
        }
        self.parse_string_core(pos, b'\'', 2)
    }

    fn parse_ustring(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 2 < s.len() && s[pos + 1] == b'&' && s[pos + 2] == b'\'' {
            self.pos += 2;
            let next = self.parse_string();
            let tok = self.cur();
            tok.str_open = b'u';
            if tok.str_close == b'\'' {
                tok.str_close = b'u';
            }
            next
        } else {
            self.parse_word()
        }
    }

    fn parse_qstring_core(&mut self, offset: usize) -> usize {
        let s = self.s;
        let slen = s.len();
        let pos = self.pos + offset;
        if pos >= slen || !matches!(s[pos], b'q' | b'Q') || pos + 2 >= slen || s[pos + 1] != b'\'' {
            return self.parse_word();
        }
        let mut ch = s[pos + 2];
        // A signed `char` below 33: controls, space and every byte above 0x7F.
        if !(33..=127).contains(&ch) {
            return self.parse_word();
        }
        ch = match ch {
            b'(' => b')',
            b'[' => b']',
            b'{' => b'}',
            b'<' => b'>',
            other => other,
        };
        self.delimited_string(pos + 3, &[ch, b'\''], b'q')
    }

    /// A string token from `body` up to the closing delimiter `end` (or to the
    /// end of input, left open), marked `marker` at both ends; returns the
    /// position after the delimiter.
    fn delimited_string(&mut self, body: usize, end: &[u8], marker: u8) -> usize {
        let s = self.s;
        let tok = &mut self.tokens[self.current];
        tok.str_open = marker;
        match find(&s[body..], end) {
            None => {
                tok.assign(T_STRING, body, &s[body..]);
                tok.str_close = 0;
                s.len()
            }
            Some(p) => {
                tok.assign(T_STRING, body, &s[body..body + p]);
                tok.str_close = marker;
                body + p + end.len()
            }
        }
    }

    fn parse_qstring(&mut self) -> usize {
        self.parse_qstring_core(0)
    }

    fn parse_nqstring(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 2 < s.len() && s[pos + 1] == b'\'' {
            return self.parse_estring();
        }
        self.parse_qstring_core(1)
    }

    /// `b'0101'` and `x'1F'` literals.
    fn parse_literal(&mut self, digits: &[u8]) -> usize {
        let (s, pos, slen) = (self.s, self.pos, self.s.len());
        if pos + 2 >= slen || s[pos + 1] != b'\'' {
            return self.parse_word();
        }
        let wlen = span(&s[pos + 2..], digits);
        if pos + 2 + wlen >= slen || s[pos + 2 + wlen] != b'\'' {
            return self.parse_word();
        }
        self.cur().assign(T_NUMBER, pos, &s[pos..pos + wlen + 3]);
        pos + 2 + wlen + 1
    }

    fn parse_bstring(&mut self) -> usize {
        self.parse_literal(b"01")
    }

    fn parse_xstring(&mut self) -> usize {
        self.parse_literal(b"0123456789ABCDEFabcdef")
    }

    /// SQL Server `[bracketed words]`.
    fn parse_bword(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        match find_byte(&s[pos..], b']') {
            None => {
                self.cur().assign(T_BAREWORD, pos, &s[pos..]);
                s.len()
            }
            Some(n) => {
                self.cur().assign(T_BAREWORD, pos, &s[pos..pos + n + 1]);
                pos + n + 1
            }
        }
    }

    fn parse_word(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        let wlen = cspan(&s[pos..], &WORD_END);
        self.cur().assign(T_BAREWORD, pos, &s[pos..pos + wlen]);
        // "SELECT.1" or "SELECT`col`": a keyword before a '.' or '`' is a token of its own.
        let tok = self.tokens[self.current];
        for i in 0..tok.len {
            if matches!(tok.val[i], b'.' | b'`') {
                let ch = lookup(&tok.val[..i]);
                if ch != T_NONE && ch != T_BAREWORD {
                    let t = self.cur();
                    *t = Token::EMPTY;
                    t.assign(ch, pos, &s[pos..pos + i]);
                    return pos + i;
                }
            }
        }
        if wlen < TOKEN_SIZE {
            let ch = lookup(&tok.val[..wlen]);
            self.cur().kind = if ch == T_NONE { T_BAREWORD } else { ch };
        }
        pos + wlen
    }

    /// MySQL back-quoted names.
    fn parse_tick(&mut self) -> usize {
        let pos = self.pos;
        let next = self.parse_string_core(pos, b'`', 1);
        let tok = self.cur();
        let ch = lookup(tok.value());
        tok.kind = if ch == T_FUNCTION {
            T_FUNCTION
        } else {
            T_BAREWORD
        };
        next
    }

    fn parse_var(&mut self) -> usize {
        let s = self.s;
        let slen = s.len();
        let mut pos = self.pos + 1;
        if pos < slen && s[pos] == b'@' {
            pos += 1;
            self.cur().count = 2;
        } else {
            self.cur().count = 1;
        }
        if pos < slen {
            if s[pos] == b'`' {
                self.pos = pos;
                let next = self.parse_tick();
                self.cur().kind = T_VARIABLE;
                return next;
            } else if s[pos] == b'\'' || s[pos] == b'"' {
                self.pos = pos;
                let next = self.parse_string();
                self.cur().kind = T_VARIABLE;
                return next;
            }
        }
        let xlen = cspan(&s[pos.min(slen)..], &VARIABLE_END);
        self.cur()
            .assign(T_VARIABLE, pos, &s[pos.min(slen)..pos.min(slen) + xlen]);
        pos + xlen
    }

    fn parse_money(&mut self) -> usize {
        let s = self.s;
        let slen = s.len();
        let pos = self.pos;
        if pos + 1 == slen {
            self.cur().assign_char(T_BAREWORD, pos, b'$');
            return slen;
        }
        let xlen = span(&s[pos + 1..], b"0123456789.,");
        if xlen == 0 {
            if s[pos + 1] == b'$' {
                // $$ quoted string $$
                return self.delimited_string(pos + 2, b"$$", b'$');
            }
            // PostgreSQL $tag$ quoted string $tag$
            let xlen = span(
                &s[pos + 1..],
                b"abcdefghjiklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            );
            if xlen == 0 || pos + xlen + 1 == slen || s[pos + xlen + 1] != b'$' {
                self.cur().assign_char(T_BAREWORD, pos, b'$');
                return pos + 1;
            }
            self.delimited_string(pos + xlen + 2, &s[pos..pos + xlen + 2], b'$')
        } else if xlen == 1 && s[pos + 1] == b'.' {
            self.parse_word()
        } else {
            self.cur().assign(T_NUMBER, pos, &s[pos..pos + 1 + xlen]);
            pos + 1 + xlen
        }
    }

    fn parse_number(&mut self) -> usize {
        let s = self.s;
        let slen = s.len();
        let mut pos = self.pos;
        if s[pos] == b'0' && pos + 1 < slen {
            let digits: Option<&[u8]> = match s[pos + 1] {
                b'X' | b'x' => Some(b"0123456789ABCDEFabcdef"),
                b'B' | b'b' => Some(b"01"),
                _ => None,
            };
            if let Some(digits) = digits {
                let xlen = span(&s[pos + 2..], digits);
                let kind = if xlen == 0 { T_BAREWORD } else { T_NUMBER };
                self.cur().assign(kind, pos, &s[pos..pos + 2 + xlen]);
                return pos + 2 + xlen;
            }
        }
        let start = pos;
        while pos < slen && s[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos < slen && s[pos] == b'.' {
            pos += 1;
            while pos < slen && s[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos - start == 1 {
                self.cur().assign_char(T_DOT, start, b'.');
                return pos;
            }
        }
        let (mut have_e, mut have_exp) = (false, false);
        if pos < slen && matches!(s[pos], b'E' | b'e') {
            have_e = true;
            pos += 1;
            if pos < slen && matches!(s[pos], b'+' | b'-') {
                pos += 1;
            }
            while pos < slen && s[pos].is_ascii_digit() {
                have_exp = true;
                pos += 1;
            }
        }
        // Oracle's float/double suffix: "1.2f", "1d;", and "1fUNION" read as "1f UNION".
        if pos < slen
            && matches!(s[pos], b'd' | b'D' | b'f' | b'F')
            && (pos + 1 == slen || is_white(s[pos + 1]) || matches!(s[pos + 1], b';' | b'u' | b'U'))
        {
            pos += 1;
        }
        let kind = if have_e && !have_exp {
            T_BAREWORD
        } else {
            T_NUMBER
        };
        self.cur().assign(kind, start, &s[start..pos]);
        pos
    }

    fn dispatch(&mut self, ch: u8) -> usize {
        match ch {
            0..=32 | 127 | 160 => self.parse_white(),
            b'!' | b'&' | b'*' | b':' | b'<' | b'=' | b'>' | b'|' => self.parse_operator2(),
            b'"' | b'\'' => self.parse_string(),
            b'#' => self.parse_hash(),
            b'$' => self.parse_money(),
            b'%' | b'+' | b'^' | b'~' => self.parse_operator1(),
            b'(' | b')' | b',' | b';' | b'{' | b'}' => self.parse_char(),
            b'-' => self.parse_dash(),
            b'.' | b'0'..=b'9' => self.parse_number(),
            b'/' => self.parse_slash(),
            b'?' | b']' => self.parse_other(),
            b'@' => self.parse_var(),
            b'B' | b'b' => self.parse_bstring(),
            b'E' | b'e' => self.parse_estring(),
            b'N' | b'n' => self.parse_nqstring(),
            b'Q' | b'q' => self.parse_qstring(),
            b'U' | b'u' => self.parse_ustring(),
            b'X' | b'x' => self.parse_xstring(),
            b'[' => self.parse_bword(),
            b'\\' => self.parse_backslash(),
            b'`' => self.parse_tick(),
            _ => self.parse_word(),
        }
    }

    /// Reads the next token into `tokens[current]`; `false` at the end of input.
    pub(super) fn tokenize(&mut self) -> bool {
        let slen = self.s.len();
        if slen == 0 {
            return false;
        }
        *self.cur() = Token::EMPTY;
        if self.pos == 0 && self.flags & (FLAG_QUOTE_SINGLE | FLAG_QUOTE_DOUBLE) != 0 {
            let delim = if self.flags & FLAG_QUOTE_SINGLE != 0 {
                b'\''
            } else {
                b'"'
            };
            self.pos = self.parse_string_core(0, delim, 0);
            self.stats_tokens += 1;
            return true;
        }
        while self.pos < slen {
            let ch = self.s[self.pos];
            self.pos = self.dispatch(ch);
            if self.tokens[self.current].kind != T_NONE {
                self.stats_tokens += 1;
                return true;
            }
        }
        false
    }
}
