//! `phase:1..5` (or `request`, `response`, `logging`): when the rule runs.

use super::{Actions, need};
use crate::phase::Phase;

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.phase = Some(Phase::parse(need("phase", v)?)?);
    Ok(())
}
