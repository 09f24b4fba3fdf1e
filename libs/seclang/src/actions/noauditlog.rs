//! `noauditlog`: accepted; mapped to the host's decision log.

use super::{Actions, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("noauditlog", v)?;
    a.auditlog = Some(false);
    Ok(())
}
