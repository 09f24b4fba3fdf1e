//! `logdata:'...'`: extra data logged on a match (macros expanded, at most 512 bytes).

use super::{Actions, need};
use crate::macros::Macro;

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.logdata = Some(Macro::parse(need("logdata", v)?)?);
    Ok(())
}
