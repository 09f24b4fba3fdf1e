//! `skipAfter:MARKER`: on a match, continue after the SecMarker of that name
//! in the current phase (or skip the rest of the phase when there is none).

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.skip_after = Some(need("skipAfter", v)?.trim().to_string());
    Ok(())
}
