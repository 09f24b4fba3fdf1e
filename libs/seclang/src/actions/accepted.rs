//! Actions accepted for compatibility with ModSecurity rule files that have no
//! effect in this engine: `expirevar`, `setuid`, `setsid`, `setenv`,
//! `deprecatevar` (no persistent collections or environment), the `sanitise*`
//! family and `auditlogparts` (the host's decision log carries no raw data),
//! `xmlns` (XPath namespaces are not needed for the forms supported).

use super::Actions;

pub(super) fn apply(_a: &mut Actions, _v: Option<&str>) -> Result<(), String> {
    Ok(())
}
