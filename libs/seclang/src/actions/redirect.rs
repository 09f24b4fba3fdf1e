//! `redirect:URL`: answer with a redirect (302 unless `status` is a redirect status).

use super::{Actions, Disruptive, need};
use crate::macros::Macro;

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.disruptive = Some(Disruptive::Redirect(Macro::parse(need("redirect", v)?)?));
    Ok(())
}
