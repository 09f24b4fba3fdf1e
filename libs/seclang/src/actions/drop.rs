//! `drop`: close the connection (reported as a deny) when the engine is On.

use super::{Actions, Disruptive, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("drop", v)?;
    a.disruptive = Some(Disruptive::Drop);
    Ok(())
}
