//! `msg:'...'`: the message logged when the rule matches (macros expanded).

use super::{Actions, need};
use crate::macros::Macro;

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.msg = Some(Macro::parse(need("msg", v)?)?);
    Ok(())
}
