//! `allow`, `allow:phase`, `allow:request`: stop inspecting (everything but
//! logging, the current phase, or the request phases).

use super::{Actions, AllowScope, Disruptive};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    let scope = match v.map(|v| v.trim().to_ascii_lowercase()) {
        None => AllowScope::All,
        Some(v) if v == "phase" => AllowScope::Phase,
        Some(v) if v == "request" => AllowScope::Request,
        Some(v) => return Err(format!("allow:{v}: expected phase or request")),
    };
    a.disruptive = Some(Disruptive::Allow(scope));
    Ok(())
}
