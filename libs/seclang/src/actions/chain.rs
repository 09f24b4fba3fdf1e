//! `chain`: the next SecRule is part of this rule; the rule matches only when
//! every link matches, and the starter's id, msg and actions are what is logged.

use super::{Actions, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("chain", v)?;
    a.chain = true;
    Ok(())
}
