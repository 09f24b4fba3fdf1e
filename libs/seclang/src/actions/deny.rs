//! `deny`: stop and refuse the request (`status`, default 403) when the engine is On.

use super::{Actions, Disruptive, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("deny", v)?;
    a.disruptive = Some(Disruptive::Deny);
    Ok(())
}
