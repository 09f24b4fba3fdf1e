//! Load-time errors: every one names the file and line it comes from.

use std::fmt;

/// An error found while loading rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// File the directive came from (`<inline>` for rules given as text).
    pub file: String,
    /// 1-based line where the directive starts.
    pub line: usize,
    /// What went wrong and, where possible, what to do.
    pub message: String,
}

impl ParseError {
    /// An error at `file:line`.
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> Self {
        ParseError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}
