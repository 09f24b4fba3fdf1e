//! `nolog`: do not log the rule (it still takes effect).

use super::{Actions, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("nolog", v)?;
    a.log = Some(false);
    Ok(())
}
