//! `maturity:N`: metadata.

use super::{Actions, need};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.maturity = need("maturity", v)?.trim().parse().ok();
    Ok(())
}
