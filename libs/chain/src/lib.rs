//! The rules of an edgewaf chain, in one place for the host and the bundle
//! adapter (plain Rust: builds natively and for `wasm32-wasip2`).
//!
//! 1. [`Settings`] is the tenant as the bundle adapter reads it (JSON written by
//!    `bundle`).
//! 2. [`cut`] gives the part of a body the policies inspect.
//! 3. [`Fold`] takes the policies' verdicts in chain order and yields a
//!    [`Decision`].
//! 4. [`forward`] edits the client's headers into the origin's.
//! 5. [`Outcome::answer`], [`policy_answer_header`] and [`answer_body`] make
//!    the WAF's own answer to a request it does not forward.
//!
//! The response phase continues the request phase's fold
//! ([`Fold::resume`]): one decision per request, by the same rules.
//!
//! The chain's behaviour, decided once:
//! - Annotations: a later policy's annotation replaces an earlier one with the
//!   same key (one value per key, the last writer wins); later policies see them.
//! - Added request headers are kept only from `allow` verdicts: a policy that
//!   denies (even in detect mode, where the request goes on) never adds headers
//!   to the origin request. Removals are honoured whatever the action (removing
//!   never grants anything).
//! - `x-forwarded-proto`, `x-forwarded-host` and `x-request-id` are always set
//!   by the WAF; a client's values are replaced, never trusted.
//!   `x-forwarded-for` gets the client address appended when it is known;
//!   without one (a wasi:http runtime that does not give it) the client's
//!   header is passed on unchanged.
//! - A redirect's reason is `redirect to <location>`, in block and detect mode.
//!
//! Beside these: an added header replaces every header of its name (the
//! client's and an earlier policy's addition: the last writer wins, as for
//! annotations), and a denying policy's answer headers never replace the
//! framing, `content-type`, `cache-control` or `x-request-id`.
#![deny(missing_docs)]

mod answer;
mod fold;
mod forward;
mod settings;

pub use answer::{answer_body, policy_answer_header};
pub use fold::{Action, Annotation, Decision, Fold, Outcome, Step, Verdict};
pub use forward::{Forwarding, HeaderEdit, forward};
pub use settings::{MAX_POLICIES, Mode, OnError, PolicySettings, Settings};

/// A header as policies see it: lowercase name, raw value.
pub type Header = (String, Vec<u8>);

/// The part of `body` the policies inspect (at most `limit` bytes) and whether
/// it was cut.
pub fn cut(body: &[u8], limit: usize) -> (&[u8], bool) {
    let n = body.len().min(limit);
    (&body[..n], n < body.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_marks_truncation() {
        assert_eq!(super::cut(b"hello", 3), (&b"hel"[..], true));
        assert_eq!(super::cut(b"hello", 5), (&b"hello"[..], false));
        assert_eq!(super::cut(b"", 0), (&b""[..], false));
    }
}
