//! `skip:N`: on a match, skip the next N rules (a chain counts once).

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    let v = need("skip", v)?;
    a.skip = v
        .trim()
        .parse()
        .map_err(|_| format!("skip {v:?} is not a number"))?;
    Ok(())
}
