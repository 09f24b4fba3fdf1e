//! `accuracy:N`: metadata.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.accuracy = need("accuracy", v)?.trim().parse().ok();
    Ok(())
}
