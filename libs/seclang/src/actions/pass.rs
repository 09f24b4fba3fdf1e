//! `pass`: continue with the next rule.

use super::{Actions, Disruptive, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("pass", v)?;
    a.disruptive = Some(Disruptive::Pass);
    Ok(())
}
