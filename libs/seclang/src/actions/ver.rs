//! `ver:'...'`: the rule set version.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.ver = Some(need("ver", v)?.to_string());
    Ok(())
}
