//! `ctl`: changes the engine's behaviour for the rest of the transaction.
use super::{Actions, Effect, need};
use crate::config::EngineMode;
use crate::variables::{VarSpec, parse_list};

pub(super) fn apply(a: &mut Actions, v: Option<&str>) -> Result<(), String> {
    a.effects.push(Effect::Ctl(Ctl::parse(need("ctl", v)?)?));
    Ok(())
}

/// An inclusive rule id range.
pub(crate) type IdRange = (u32, u32);

/// A parsed ctl.
#[derive(Debug, Clone)]
pub(crate) enum Ctl {
    /// `ruleRemoveById=1,2,10-20`.
    RuleRemoveById(Vec<IdRange>),
    /// `ruleRemoveByTag=tag`.
    RuleRemoveByTag(String),
    /// `ruleRemoveByMsg=msg`.
    RuleRemoveByMsg(String),
    /// `ruleRemoveTargetById=ID;VAR:key`.
    RuleRemoveTargetById(Vec<IdRange>, Vec<VarSpec>),
    /// `ruleRemoveTargetByTag=tag;VAR:key`.
    RuleRemoveTargetByTag(String, Vec<VarSpec>),
    /// `ruleRemoveTargetByMsg=msg;VAR:key`.
    RuleRemoveTargetByMsg(String, Vec<VarSpec>),
    /// `ruleEngine=On|Off|DetectionOnly`.
    RuleEngine(EngineMode),
    /// `requestBodyProcessor=URLENCODED|MULTIPART|JSON|XML`.
    RequestBodyProcessor(String),
    /// `requestBodyAccess=On|Off`.
    RequestBodyAccess(bool),
    /// `responseBodyAccess=On|Off`.
    ResponseBodyAccess(bool),
    /// `forceRequestBodyVariable=On|Off`.
    ForceRequestBodyVariable(bool),
    /// `requestBodyLimit=N`.
    RequestBodyLimit,
    /// `auditEngine`, `auditLogParts`: accepted, mapped to the decision log.
    Audit,
}

/// Parses `1,2,10-20`.
pub(crate) fn id_ranges(s: &str) -> Result<Vec<IdRange>, String> {
    let mut out = Vec::new();
    for part in s.split([',', ' ']).map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let a: u32 = a.parse().map_err(|_| format!("bad rule id {part:?}"))?;
        let b: u32 = b.parse().map_err(|_| format!("bad rule id {part:?}"))?;
        out.push((a.min(b), a.max(b)));
    }
    if out.is_empty() {
        return Err("expected rule ids".into());
    }
    Ok(out)
}

fn on_off(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(format!("expected On or Off, got {v:?}")),
    }
}

impl Ctl {
    /// Parses the ctl argument `name=value`.
    pub(crate) fn parse(s: &str) -> Result<Ctl, String> {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| format!("ctl {s:?}: expected name=value"))?;
        let value = value.trim();
        let target = |v: &str| -> Result<(String, Vec<VarSpec>), String> {
            let (a, b) = v
                .split_once(';')
                .ok_or_else(|| format!("ctl {s:?}: expected ...;VARIABLE"))?;
            Ok((a.trim().to_string(), parse_list(b.trim())?))
        };
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "ruleremovebyid" => Ctl::RuleRemoveById(id_ranges(value)?),
            "ruleremovebytag" => Ctl::RuleRemoveByTag(value.to_string()),
            "ruleremovebymsg" => Ctl::RuleRemoveByMsg(value.to_string()),
            "ruleremovetargetbyid" => {
                let (ids, vars) = target(value)?;
                Ctl::RuleRemoveTargetById(id_ranges(&ids)?, vars)
            }
            "ruleremovetargetbytag" => {
                let (tag, vars) = target(value)?;
                Ctl::RuleRemoveTargetByTag(tag, vars)
            }
            "ruleremovetargetbymsg" => {
                let (msg, vars) = target(value)?;
                Ctl::RuleRemoveTargetByMsg(msg, vars)
            }
            "ruleengine" => Ctl::RuleEngine(EngineMode::parse(value)?),
            "requestbodyprocessor" => {
                let p = value.to_ascii_uppercase();
                if !matches!(p.as_str(), "URLENCODED" | "MULTIPART" | "JSON" | "XML") {
                    return Err(format!("unknown request body processor {value:?}"));
                }
                Ctl::RequestBodyProcessor(p)
            }
            "requestbodyaccess" => Ctl::RequestBodyAccess(on_off(value)?),
            "responsebodyaccess" => Ctl::ResponseBodyAccess(on_off(value)?),
            "forcerequestbodyvariable" => Ctl::ForceRequestBodyVariable(on_off(value)?),
            "requestbodylimit" => {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("bad requestBodyLimit {value:?}"))?;
                Ctl::RequestBodyLimit
            }
            "auditengine" | "auditlogparts" => Ctl::Audit,
            other => return Err(format!("unknown ctl {other:?}")),
        })
    }
}
