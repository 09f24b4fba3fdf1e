//! `id:N`: the rule's unique id (a positive number).

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    let v = need("id", v)?;
    let id: u32 = v
        .trim()
        .parse()
        .map_err(|_| format!("id {v:?} is not a number"))?;
    if id == 0 {
        return Err("id 0 is not allowed".into());
    }
    a.id = Some(id);
    Ok(())
}
