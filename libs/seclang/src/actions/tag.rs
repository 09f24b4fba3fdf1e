//! `tag:'...'`: a tag (several allowed), used by ctl:ruleRemoveByTag and in findings.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.tags.push(need("tag", v)?.to_string());
    Ok(())
}
