//! `initcol:ip=...`: accepted; collections live for one transaction here
//! (persistent collections belong to the host's key-value store).

use super::{Actions, Effect, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    need("initcol", v)?;
    a.effects.push(Effect::InitCol);
    Ok(())
}
