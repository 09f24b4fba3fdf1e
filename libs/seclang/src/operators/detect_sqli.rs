//! `@detectSQLi`: libinjection's SQL injection detection; with `capture`, TX.0
//! is the fingerprint.
use super::{OpContext, Operator};

#[derive(Debug)]
pub(super) struct DetectSqli;

impl Operator for DetectSqli {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    fn evaluate(&self, ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        match crate::injection::detect_sqli(input) {
            Some(fp) => {
                if ctx.capture {
                    ctx.captures = vec![fp.into_bytes()];
                }
                true
            }
            None => false,
        }
    }
}
