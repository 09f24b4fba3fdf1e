//! `initcol:ip=...`: accepted; collections live for one transaction here
//! (persistent collections belong to the host's key-value store).

use super::{Actions, Effect, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.effects
        .push(Effect::InitCol(need("initcol", v)?.to_string()));
    Ok(())
}
