//! `rev:'...'`: the rule revision.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.rev = Some(need("rev", v)?.to_string());
    Ok(())
}
