//! `capture`: on a match, `@rx` groups 0-9 (or the `@pm` phrase) go to TX.0-TX.9.

use super::{Actions, no_value};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    no_value("capture", v)?;
    a.capture = true;
    Ok(())
}
