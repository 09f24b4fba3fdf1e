//! SecLang actions: parsed once per rule into [`Actions`]. Metadata actions
//! (id, msg, tag, ...) are plain fields; `setvar` and `ctl` live in their own
//! files; disruptive actions are a [`Disruptive`] value.

mod accepted;
mod accuracy;
mod allow;
mod auditlog;
mod block;
mod capture;
mod chain;
pub(crate) mod ctl;
mod deny;
mod drop;
mod id;
mod initcol;
mod log;
mod logdata;
mod maturity;
mod msg;
mod multi_match;
mod noauditlog;
mod nolog;
mod pass;
mod phase;
mod redirect;
mod rev;
mod setvar;
mod severity;
mod skip;
mod skip_after;
mod status;
mod t;
mod tag;
mod ver;

pub(crate) use ctl::Ctl;
pub(crate) use setvar::{SetOp, SetVar};

use crate::macros::Macro;
use crate::phase::Phase;

/// Where processing goes after an `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AllowScope {
    /// Skip every remaining rule of every phase except logging.
    All,
    /// Skip the rest of the current phase.
    Phase,
    /// Skip the rest of the request phases (1 and 2).
    Request,
}

/// A disruptive action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Disruptive {
    /// Continue.
    Pass,
    /// The phase's default disruptive action (SecDefaultAction).
    Block,
    /// Refuse the request (status from `status`, else 403).
    Deny,
    /// Close the connection.
    Drop,
    /// Stop inspecting.
    Allow(AllowScope),
    /// Answer with a redirect to the expanded URL.
    Redirect(Macro),
}

/// A side effect run when a rule (or chain link) matches, in written order.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    /// `setvar`.
    SetVar(SetVar),
    /// `ctl`.
    Ctl(Ctl),
    /// `initcol:ip=...` (collections live for the transaction only).
    InitCol,
}

/// Everything a rule's action list says.
#[derive(Debug, Clone, Default)]
pub(crate) struct Actions {
    /// `id`.
    pub id: Option<u32>,
    /// `phase`.
    pub phase: Option<Phase>,
    /// `msg`.
    pub msg: Option<Macro>,
    /// `logdata`.
    pub logdata: Option<Macro>,
    /// `severity` (0-7).
    pub severity: Option<u8>,
    /// `tag`s.
    pub tags: Vec<String>,
    /// `ver`.
    pub ver: Option<String>,
    /// `rev`.
    pub rev: Option<String>,
    /// `maturity`.
    pub maturity: Option<u8>,
    /// `accuracy`.
    pub accuracy: Option<u8>,
    /// Transformation names in order (after the last `t:none`).
    pub transforms: Vec<String>,
    /// A `t:none` was given: default transformations do not apply.
    pub t_none: bool,
    /// `chain`.
    pub chain: bool,
    /// `skip:N`.
    pub skip: u32,
    /// `skipAfter:MARKER`.
    pub skip_after: Option<String>,
    /// setvar / ctl / initcol in order.
    pub effects: Vec<Effect>,
    /// `capture`.
    pub capture: bool,
    /// `multiMatch`.
    pub multi_match: bool,
    /// The disruptive action, if any.
    pub disruptive: Option<Disruptive>,
    /// `status`.
    pub status: Option<u16>,
    /// `log` (true) / `nolog` (false).
    pub log: Option<bool>,
    /// `auditlog` / `noauditlog`.
    pub auditlog: Option<bool>,
}

/// Splits an action list on commas outside single quotes into (name, value).
pub(crate) fn split(s: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut name = String::new();
        while i < chars.len() && chars[i] != ':' && chars[i] != ',' {
            name.push(chars[i]);
            i += 1;
        }
        let name = name.trim().to_string();
        let mut value = None;
        if i < chars.len() && chars[i] == ':' {
            i += 1;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            let mut v = String::new();
            if i < chars.len() && chars[i] == '\'' {
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    if chars[i] == '\\' && i + 1 < chars.len() && chars[i + 1] == '\'' {
                        v.push('\'');
                        i += 2;
                        continue;
                    }
                    if chars[i] == '\'' {
                        closed = true;
                        i += 1;
                        break;
                    }
                    v.push(chars[i]);
                    i += 1;
                }
                if !closed {
                    return Err(format!("action {name}: unterminated quote"));
                }
                while i < chars.len() && chars[i] != ',' {
                    i += 1;
                }
            } else {
                while i < chars.len() && chars[i] != ',' {
                    v.push(chars[i]);
                    i += 1;
                }
                v = v.trim_end().to_string();
            }
            value = Some(v);
        }
        if name.is_empty() {
            return Err("empty action".into());
        }
        out.push((name, value));
    }
    Ok(out)
}

fn need<'a>(name: &str, v: Option<&'a str>) -> Result<&'a str, String> {
    v.ok_or_else(|| format!("action {name} needs a value"))
}

fn no_value(name: &str, v: Option<&str>) -> Result<(), String> {
    match v {
        None => Ok(()),
        Some(v) => Err(format!("action {name} takes no value (got {v:?})")),
    }
}

/// Parses a severity name or number.
pub(crate) fn severity(s: &str) -> Result<u8, String> {
    let n = match s.trim().to_ascii_uppercase().as_str() {
        "EMERGENCY" | "0" => 0,
        "ALERT" | "1" => 1,
        "CRITICAL" | "2" => 2,
        "ERROR" | "3" => 3,
        "WARNING" | "4" => 4,
        "NOTICE" | "5" => 5,
        "INFO" | "6" => 6,
        "DEBUG" | "7" => 7,
        other => return Err(format!("unknown severity {other:?}")),
    };
    Ok(n)
}

impl Actions {
    /// Parses an action list such as `id:1,phase:2,deny,msg:'x'`.
    pub(crate) fn parse(s: &str) -> Result<Actions, String> {
        let mut a = Actions::default();
        for (name, value) in split(s)? {
            a.apply(&name, value.as_deref())?;
        }
        Ok(a)
    }

    fn apply(&mut self, name: &str, value: Option<&str>) -> Result<(), String> {
        let (_, f) = ACTIONS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("unknown action {name:?}"))?;
        f(self, value)
    }
}

/// Applies one action's value to a rule's [`Actions`].
type Apply = fn(&mut Actions, Option<&str>) -> Result<(), String>;

/// Every action the engine accepts, by ModSecurity's name; [`Actions::parse`]
/// finds a name here ASCII-case-insensitively, and the tests in `vectors.rs`
/// require a vector for each.
static ACTIONS: &[(&str, Apply)] = &[
    ("id", id::apply),
    ("phase", phase::apply),
    ("msg", msg::apply),
    ("logdata", logdata::apply),
    ("severity", severity::apply),
    ("tag", tag::apply),
    ("ver", ver::apply),
    ("rev", rev::apply),
    ("maturity", maturity::apply),
    ("accuracy", accuracy::apply),
    ("t", t::apply),
    ("chain", chain::apply),
    ("skip", skip::apply),
    ("skipAfter", skip_after::apply),
    ("setvar", setvar::apply),
    ("ctl", ctl::apply),
    ("initcol", initcol::apply),
    ("capture", capture::apply),
    ("multiMatch", multi_match::apply),
    ("block", block::apply),
    ("deny", deny::apply),
    ("pass", pass::apply),
    ("drop", drop::apply),
    ("allow", allow::apply),
    ("redirect", redirect::apply),
    ("status", status::apply),
    ("log", log::apply),
    ("nolog", nolog::apply),
    ("auditlog", auditlog::apply),
    ("noauditlog", noauditlog::apply),
    // Accepted with no effect (see accepted.rs).
    ("expirevar", accepted::apply),
    ("setuid", accepted::apply),
    ("setsid", accepted::apply),
    ("setenv", accepted::apply),
    ("deprecatevar", accepted::apply),
    ("sanitiseArg", accepted::apply),
    ("sanitiseMatched", accepted::apply),
    ("sanitiseMatchedBytes", accepted::apply),
    ("sanitiseRequestHeader", accepted::apply),
    ("sanitiseResponseHeader", accepted::apply),
    ("xmlns", accepted::apply),
    ("auditLogParts", accepted::apply),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_values() {
        let v = split("id:1, msg:'a, b', tag:'x\\'y',pass").unwrap();
        assert_eq!(v[1], ("msg".into(), Some("a, b".into())));
        assert_eq!(v[2], ("tag".into(), Some("x'y".into())));
        assert_eq!(v[3], ("pass".into(), None));
    }

    #[test]
    fn unknown_action_is_an_error() {
        assert!(Actions::parse("id:1,frobnicate").is_err());
        assert!(Actions::parse("id:abc").is_err());
    }
}

#[cfg(test)]
mod vectors;
