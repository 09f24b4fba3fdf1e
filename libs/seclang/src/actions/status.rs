//! `status:N`: the HTTP status of a deny or redirect.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    let v = need("status", v)?;
    let s: u16 = v
        .trim()
        .parse()
        .map_err(|_| format!("status {v:?} is not a number"))?;
    if !(100..=599).contains(&s) {
        return Err(format!("status {s} is not an HTTP status"));
    }
    a.status = Some(s);
    Ok(())
}
