//! Folding: libinjection reduces the token stream to at most five tokens before taking their
//! types as the fingerprint.

use super::*;

/// libinjection's `syntax_merge_words`: joins two word-like tokens into a multi-word keyword
/// (`UNION` + `ALL`) when the keyword table knows the pair.
fn merge_words(a: &mut Token, b: &Token) -> bool {
    const A_TYPES: &[u8] = &[
        T_KEYWORD,
        T_BAREWORD,
        T_OPERATOR,
        T_UNION,
        T_FUNCTION,
        T_EXPRESSION,
        T_TSQL,
        T_SQLTYPE,
    ];
    if !A_TYPES.contains(&a.kind) || !(A_TYPES.contains(&b.kind) || b.kind == T_LOGIC_OPERATOR) {
        return false;
    }
    let merged_len = a.len + b.len + 1;
    if merged_len >= TOKEN_SIZE {
        return false;
    }
    let mut merged = Vec::with_capacity(merged_len);
    merged.extend_from_slice(a.value());
    merged.push(b' ');
    merged.extend_from_slice(b.value());
    let ch = lookup(&merged);
    if ch == T_NONE {
        return false;
    }
    let pos = a.pos;
    a.assign(ch, pos, &merged);
    true
}

impl State<'_> {
    /// Reads tokens into `tokens[pos]` until one that is not a comment or the input ends;
    /// a comment is remembered in `last_comment`. Returns whether input remains.
    fn fetch(
        &mut self,
        pos: &mut usize,
        left: usize,
        want: usize,
        more: &mut bool,
        last_comment: &mut Token,
    ) {
        while *more && *pos <= MAX_TOKENS && *pos - left < want {
            self.current = *pos;
            *more = self.tokenize();
            if *more {
                if self.tokens[self.current].kind == T_COMMENT {
                    *last_comment = self.tokens[self.current];
                } else {
                    last_comment.kind = T_NONE;
                    *pos += 1;
                }
            }
        }
    }

    /// Skips leading comments, `(`, SQL types and unary operators; false when the input
    /// ends first.
    fn skip_leading(&mut self) -> bool {
        loop {
            let more = self.tokenize();
            let t = &self.tokens[self.current];
            let skipped = t.kind == T_COMMENT
                || t.kind == T_LEFTPARENS
                || t.kind == T_SQLTYPE
                || t.is_unary_op();
            if !more || !skipped {
                return more;
            }
        }
    }

    /// When the five slots are full of a harmless arithmetic or list shape, starts folding
    /// again from the first token (libinjection's "reset" for long benign expressions).
    fn restart_if_full(&mut self, pos: &mut usize, left: &mut usize) {
        if *pos < MAX_TOKENS {
            return;
        }
        let k = |i: usize| self.tokens[i].kind;
        let shape = (k(0) == T_NUMBER
            && (k(1) == T_OPERATOR || k(1) == T_COMMA)
            && k(2) == T_LEFTPARENS
            && k(3) == T_NUMBER
            && k(4) == T_RIGHTPARENS)
            || (k(0) == T_BAREWORD
                && k(1) == T_OPERATOR
                && k(2) == T_LEFTPARENS
                && (k(3) == T_BAREWORD || k(3) == T_NUMBER)
                && k(4) == T_RIGHTPARENS)
            || (k(0) == T_NUMBER
                && k(1) == T_RIGHTPARENS
                && k(2) == T_COMMA
                && k(3) == T_LEFTPARENS
                && k(4) == T_NUMBER)
            || (k(0) == T_BAREWORD
                && k(1) == T_RIGHTPARENS
                && k(2) == T_OPERATOR
                && k(3) == T_LEFTPARENS
                && k(4) == T_BAREWORD);
        if !shape {
            return;
        }
        if *pos > MAX_TOKENS {
            self.tokens[1] = self.tokens[MAX_TOKENS];
            *pos = 2;
        } else {
            *pos = 1;
        }
        *left = 0;
    }

    /// libinjection's `libinjection_sqli_fold`: the number of tokens left in `tokens`.
    pub(super) fn fold(&mut self) -> usize {
        let mut last_comment = Token::EMPTY;
        let mut left = 0usize;
        self.current = 0;
        let mut more = self.skip_leading();
        if !more {
            return 0;
        }
        let mut pos = 1usize;
        loop {
            self.restart_if_full(&mut pos, &mut left);
            if !more || left >= MAX_TOKENS {
                left = pos;
                break;
            }
            self.fetch(&mut pos, left, 2, &mut more, &mut last_comment);
            if pos - left < 2 {
                left = pos;
                continue;
            }
            if self.fold_two(&mut pos, &mut left) {
                continue;
            }
            if self.tokens[left].kind == T_LEFTBRACE
                && self.tokens[left + 1].kind == T_BAREWORD
                && self.tokens[left + 1].len == 0
            {
                // "{ ``" is a MySQL oddity libinjection simply bans.
                self.tokens[left + 1].kind = T_EVIL;
                return left + 2;
            }
            self.fetch(&mut pos, left, 3, &mut more, &mut last_comment);
            if pos - left < 3 {
                left = pos;
                continue;
            }
            if self.fold_three(&mut pos, &mut left) {
                continue;
            }
            left += 1;
        }
        if left < MAX_TOKENS && last_comment.kind == T_COMMENT {
            self.tokens[left] = last_comment;
            left += 1;
        }
        left.min(MAX_TOKENS)
    }

    /// The two-token folding rules, in libinjection's order; `true` to restart the loop.
    fn fold_two(&mut self, pos: &mut usize, left: &mut usize) -> bool {
        if let Some(restart) = self.fold_two_collapse(pos, left) {
            return restart;
        }
        if let Some(restart) = self.fold_two_retype(*left) {
            return restart;
        }
        self.fold_two_drop(pos, left)
    }

    /// Pairs that collapse into one token: repeated strings or semicolons, an operator
    /// followed by a unary operator or a type, `(` and a unary operator, two words that make
    /// one keyword. `None` when no rule applies.
    fn fold_two_collapse(&mut self, pos: &mut usize, left: &mut usize) -> Option<bool> {
        let l = *left;
        let (a, b) = (self.tokens[l], self.tokens[l + 1]);
        if (a.kind == T_STRING && b.kind == T_STRING)
            || (a.kind == T_SEMICOLON && b.kind == T_SEMICOLON)
        {
            *pos -= 1;
            return Some(true);
        }
        if (a.kind == T_OPERATOR || a.kind == T_LOGIC_OPERATOR)
            && (b.is_unary_op() || b.kind == T_SQLTYPE)
        {
            *pos -= 1;
            *left = 0;
            return Some(true);
        }
        if a.kind == T_LEFTPARENS && b.is_unary_op() {
            *pos -= 1;
            *left = left.saturating_sub(1);
            return Some(true);
        }
        let (first, rest) = self.tokens.split_at_mut(l + 1);
        if merge_words(&mut first[l], &rest[0]) {
            *pos -= 1;
            *left = left.saturating_sub(1);
            return Some(true);
        }
        None
    }

    /// Pairs that change the first token's type from what follows it (`; IF`, `USER(`,
    /// `IN (`, `LIKE (`). `None` when no rule applies.
    fn fold_two_retype(&mut self, l: usize) -> Option<bool> {
        const AS_FUNCTIONS: &[&[u8]] = &[
            b"USER_ID",
            b"USER_NAME",
            b"DATABASE",
            b"PASSWORD",
            b"USER",
            b"CURRENT_USER",
            b"CURRENT_DATE",
            b"CURRENT_TIME",
            b"CURRENT_TIMESTAMP",
            b"LOCALTIME",
            b"LOCALTIMESTAMP",
        ];
        let (a, b) = (self.tokens[l], self.tokens[l + 1]);
        if a.kind == T_SEMICOLON
            && b.kind == T_FUNCTION
            && matches!(b.val[0], b'I' | b'i')
            && matches!(b.val[1], b'F' | b'f')
        {
            // T-SQL "; IF ..." is control flow, not the IF() function.
            self.tokens[l + 1].kind = T_TSQL;
            return Some(true);
        }
        if (a.kind == T_BAREWORD || a.kind == T_VARIABLE)
            && b.kind == T_LEFTPARENS
            && AS_FUNCTIONS.iter().any(|f| a.is(f))
        {
            self.tokens[l].kind = T_FUNCTION;
            return Some(true);
        }
        if a.kind == T_KEYWORD && (a.is(b"IN") || a.is(b"NOT IN")) {
            self.tokens[l].kind = if b.kind == T_LEFTPARENS {
                T_OPERATOR
            } else {
                T_BAREWORD
            };
            return Some(true);
        }
        if a.kind == T_OPERATOR && (a.is(b"LIKE") || a.is(b"NOT LIKE")) {
            if b.kind == T_LEFTPARENS {
                self.tokens[l].kind = T_FUNCTION;
            }
            return Some(false);
        }
        None
    }

    /// Pairs where one token is dropped or absorbed: a type before a value, `COLLATE`, a
    /// backslash, doubled parentheses, braces.
    fn fold_two_drop(&mut self, pos: &mut usize, left: &mut usize) -> bool {
        let l = *left;
        let (a, b) = (self.tokens[l], self.tokens[l + 1]);
        if a.kind == T_SQLTYPE
            && matches!(
                b.kind,
                T_BAREWORD
                    | T_NUMBER
                    | T_SQLTYPE
                    | T_LEFTPARENS
                    | T_FUNCTION
                    | T_VARIABLE
                    | T_STRING
            )
        {
            self.tokens[l] = b;
            *pos -= 1;
            *left = 0;
            return true;
        }
        if a.kind == T_COLLATE && b.kind == T_BAREWORD {
            if b.c_str().contains(&b'_') {
                self.tokens[l + 1].kind = T_SQLTYPE;
                *left = 0;
            }
            return false;
        }
        if a.kind == T_BACKSLASH {
            if b.is_arithmetic_op() {
                self.tokens[l].kind = T_NUMBER;
            } else {
                self.tokens[l] = b;
                *pos -= 1;
            }
            *left = 0;
            return true;
        }
        if (a.kind == T_LEFTPARENS && b.kind == T_LEFTPARENS)
            || (a.kind == T_RIGHTPARENS && b.kind == T_RIGHTPARENS)
        {
            *pos -= 1;
            *left = 0;
            return true;
        }
        if a.kind == T_LEFTBRACE && b.kind == T_BAREWORD {
            if b.len == 0 {
                // Handled by the caller (it ends folding).
                return false;
            }
            *left = 0;
            *pos -= 2;
            return true;
        }
        if b.kind == T_RIGHTBRACE {
            *pos -= 1;
            *left = 0;
            return true;
        }
        false
    }

    /// The three-token folding rules, in libinjection's order; `true` to restart the loop.
    fn fold_three(&mut self, pos: &mut usize, left: &mut usize) -> bool {
        let l = *left;
        let (a, b, c) = (self.tokens[l], self.tokens[l + 1], self.tokens[l + 2]);
        if binary_expression(&a, &b, &c) {
            *pos -= 2;
            *left = 0;
            return true;
        }
        if let Some(dropped) = unary_operand(&a, &b, &c) {
            self.tokens[l + 1] = c;
            *pos -= dropped;
            *left = 0;
            return true;
        }
        if a.kind == T_BAREWORD && b.kind == T_DOT && c.kind == T_BAREWORD {
            *pos -= 2;
            *left = 0;
            return true;
        }
        if a.kind == T_EXPRESSION && b.kind == T_DOT && c.kind == T_BAREWORD {
            self.tokens[l + 1] = c;
            *pos -= 1;
            *left = 0;
            return true;
        }
        if a.kind == T_FUNCTION
            && b.kind == T_LEFTPARENS
            && c.kind != T_RIGHTPARENS
            && a.is(b"USER")
        {
            // USER(x) is not the zero-argument USER() function.
            self.tokens[l].kind = T_BAREWORD;
        }
        false
    }
}

/// Three tokens that read as one value (`1 + 1`, `a , b`, `x::int`, two operators around
/// anything): the last two are dropped.
#[inline]
fn binary_expression(a: &Token, b: &Token, c: &Token) -> bool {
    let (ka, kb, kc) = (a.kind, b.kind, c.kind);
    (ka == T_NUMBER && kb == T_OPERATOR && kc == T_NUMBER)
        || (ka == T_OPERATOR && kb != T_LEFTPARENS && kc == T_OPERATOR)
        || (ka == T_LOGIC_OPERATOR && kc == T_LOGIC_OPERATOR)
        || (ka == T_VARIABLE
            && kb == T_OPERATOR
            && matches!(kc, T_VARIABLE | T_NUMBER | T_BAREWORD))
        || (matches!(ka, T_BAREWORD | T_NUMBER)
            && kb == T_OPERATOR
            && matches!(kc, T_NUMBER | T_BAREWORD))
        || (matches!(ka, T_BAREWORD | T_NUMBER | T_VARIABLE | T_STRING)
            && kb == T_OPERATOR
            && b.c_str() == b"::"
            && kc == T_SQLTYPE)
        || (matches!(ka, T_BAREWORD | T_NUMBER | T_STRING | T_VARIABLE)
            && kb == T_COMMA
            && matches!(kc, T_NUMBER | T_BAREWORD | T_STRING | T_VARIABLE))
}

/// A unary operator between a keyword, expression, group or comma and its operand: the
/// operator is replaced by the operand. Returns how many slots the fold gives back.
#[inline]
fn unary_operand(a: &Token, b: &Token, c: &Token) -> Option<usize> {
    if !b.is_unary_op() {
        return None;
    }
    let (ka, kc) = (a.kind, c.kind);
    if matches!(ka, T_EXPRESSION | T_GROUP | T_COMMA) && kc == T_LEFTPARENS {
        return Some(1);
    }
    if matches!(ka, T_KEYWORD | T_EXPRESSION | T_GROUP)
        && matches!(
            kc,
            T_NUMBER | T_BAREWORD | T_VARIABLE | T_STRING | T_FUNCTION
        )
    {
        return Some(1);
    }
    if ka == T_COMMA && matches!(kc, T_NUMBER | T_BAREWORD | T_VARIABLE | T_STRING) {
        return Some(3);
    }
    if ka == T_COMMA && kc == T_FUNCTION {
        return Some(1);
    }
    None
}
