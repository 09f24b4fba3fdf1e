//! `t:NAME`: a transformation applied before the operator; `t:none` clears the
//! list, including the SecDefaultAction transformations.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    let v = need("t", v)?.trim();
    if v.eq_ignore_ascii_case("none") {
        a.transforms.clear();
        a.t_none = true;
        return Ok(());
    }
    if crate::transform::lookup(v).is_none() {
        return Err(format!("unknown transformation t:{v}"));
    }
    a.transforms.push(v.to_string());
    Ok(())
}
