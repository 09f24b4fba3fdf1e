//! `log`: log the rule when it matches (the default).

use super::{Actions, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("log", v)?;
    a.log = Some(true);
    Ok(())
}
