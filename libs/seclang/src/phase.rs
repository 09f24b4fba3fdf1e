//! The five SecLang phases, in the order a transaction runs them.
//!
//! | Phase | Name               | Run by                                   |
//! |-------|--------------------|------------------------------------------|
//! | 1     | request headers    | `Transaction::process_request_headers`   |
//! | 2     | request body       | `Transaction::process_request_body`      |
//! | 3     | response headers   | `Transaction::process_response_headers`  |
//! | 4     | response body      | `Transaction::process_response_body`     |
//! | 5     | logging            | `Transaction::process_logging` (always)  |
//!
//! A rule names its phase with `phase:N` (1-5) or, as ModSecurity accepts,
//! `phase:request` (2), `phase:response` (4) or `phase:logging` (5); without
//! one it runs in phase 2.

use std::fmt;

/// When a rule runs. Ordered as a transaction runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// 1: the request line and headers are known.
    RequestHeaders = 1,
    /// 2: the request body has gone through its body processor (the default).
    RequestBody = 2,
    /// 3: the response status and headers are known.
    ResponseHeaders = 3,
    /// 4: the response body is known (when it is inspected).
    ResponseBody = 4,
    /// 5: logging; runs even after a disruptive action, never disrupts.
    Logging = 5,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 5] = [
        Phase::RequestHeaders,
        Phase::RequestBody,
        Phase::ResponseHeaders,
        Phase::ResponseBody,
        Phase::Logging,
    ];

    /// The phase's number, 1-5.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Index into a per-phase array (phase 1 is 0).
    pub(crate) fn index(self) -> usize {
        self as usize - 1
    }

    /// Parses the value of `phase:`: a number 1-5 or `request`, `response`,
    /// `logging` (case-insensitive).
    pub(crate) fn parse(s: &str) -> Result<Phase, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" => Ok(Phase::RequestHeaders),
            "2" | "request" => Ok(Phase::RequestBody),
            "3" => Ok(Phase::ResponseHeaders),
            "4" | "response" => Ok(Phase::ResponseBody),
            "5" | "logging" => Ok(Phase::Logging),
            _ => Err(format!(
                "unknown phase {:?}: expected 1-5, request (2), response (4) or logging (5)",
                s.trim()
            )),
        }
    }
}

impl fmt::Display for Phase {
    /// The number, as `%{rule.phase}` expands it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::Phase;

    #[test]
    fn numbers_and_names() {
        for (i, p) in Phase::ALL.into_iter().enumerate() {
            assert_eq!(Phase::parse(&(i + 1).to_string()), Ok(p));
            assert_eq!(p.index(), i);
            assert_eq!(p.to_string(), (i + 1).to_string());
        }
        assert_eq!(Phase::parse("Request"), Ok(Phase::RequestBody));
        assert_eq!(Phase::parse(" response"), Ok(Phase::ResponseBody));
        assert_eq!(Phase::parse("LOGGING"), Ok(Phase::Logging));
        assert!(Phase::RequestHeaders < Phase::Logging);
    }

    #[test]
    fn anything_else_is_refused_with_the_choices() {
        for bad in ["0", "6", "", "headers", "2x"] {
            let e = Phase::parse(bad).unwrap_err();
            assert!(e.contains("expected 1-5, request (2)"), "{bad}: {e}");
        }
    }
}
