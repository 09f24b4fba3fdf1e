//! `multiMatch`: run the operator on the value before and after each
//! transformation that changed it.

use super::{Actions, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("multiMatch", v)?;
    a.multi_match = true;
    Ok(())
}
