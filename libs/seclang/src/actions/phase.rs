//! `phase:1..5` (or `request`, `response`, `logging`): when the rule runs.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.phase = Some(super::phase(need("phase", v)?)?);
    Ok(())
}
