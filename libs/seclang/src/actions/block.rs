//! `block`: use the phase's SecDefaultAction disruptive action (CRS: `pass`,
//! blocking is left to the anomaly score rules).

use super::{Actions, Disruptive, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("block", v)?;
    a.disruptive = Some(Disruptive::Block);
    Ok(())
}
