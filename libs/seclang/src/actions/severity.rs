//! `severity:CRITICAL` (or 0-7): the rule's severity.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.severity = Some(super::severity(need("severity", v)?)?);
    Ok(())
}
