//! The directives that work: one function per directive, found by its
//! lower-case name in [`HANDLERS`]. Directives the engine does not implement
//! are in [`super::refused`]; anything else is unknown. Both fail the load
//! with the file and line.

use super::update::Selector;
use super::{RuleSetBuilder, lexer, limit_action, num, on_off};
use crate::actions::Actions;
use crate::bodyprocessors::json;
use crate::config::EngineMode;
use std::path::Path;
use std::sync::Arc;

/// Where a directive was written, and the directive.
pub(super) struct Ctx<'a> {
    pub file: &'a Arc<str>,
    pub dir: Option<&'a Path>,
    pub d: &'a lexer::Directive,
}

impl Ctx<'_> {
    /// Argument `i` (0-based), or an error naming the directive.
    fn arg(&self, i: usize) -> Result<&str, String> {
        self.d
            .args
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("{} needs {} argument(s)", self.d.name, i + 1))
    }
}

/// Runs one directive.
pub(super) type Handler = fn(&mut RuleSetBuilder, &Ctx<'_>) -> Result<(), String>;

/// Every directive the engine implements, by lower-case name.
pub(super) static HANDLERS: &[(&str, Handler)] = &[
    ("secrule", sec_rule),
    ("secaction", sec_action),
    ("secmarker", sec_marker),
    ("secdefaultaction", sec_default_action),
    ("include", include),
    ("secruleengine", sec_rule_engine),
    ("secrequestbodyaccess", sec_request_body_access),
    ("secresponsebodyaccess", sec_response_body_access),
    ("secrequestbodylimit", sec_request_body_limit),
    (
        "secrequestbodynofileslimit",
        sec_request_body_no_files_limit,
    ),
    ("secrequestbodylimitaction", sec_request_body_limit_action),
    ("secresponsebodylimit", sec_response_body_limit),
    ("secresponsebodylimitaction", sec_response_body_limit_action),
    ("secresponsebodymimetype", sec_response_body_mime_type),
    (
        "secresponsebodymimetypesclear",
        sec_response_body_mime_types_clear,
    ),
    ("secargumentseparator", sec_argument_separator),
    ("secargumentslimit", sec_arguments_limit),
    (
        "secrequestbodyjsondepthlimit",
        sec_request_body_json_depth_limit,
    ),
    ("seccomponentsignature", sec_component_signature),
    ("secruleremovebyid", sec_rule_remove_by_id),
    ("secruleremovebytag", sec_rule_remove_by_tag),
    ("secruleremovebymsg", sec_rule_remove_by_msg),
    ("secruleupdatetargetbyid", sec_rule_update_target_by_id),
    ("secruleupdatetargetbytag", sec_rule_update_target_by_tag),
    ("secruleupdatetargetbymsg", sec_rule_update_target_by_msg),
    ("secruleupdateactionbyid", sec_rule_update_action_by_id),
    ("secxmlexternalentity", sec_xml_external_entity),
    ("secuploadkeepfiles", sec_upload_keep_files),
    ("sectmpsaveuploadedfiles", sec_tmp_save_uploaded_files),
    ("secstatusengine", sec_status_engine),
    ("seccookieformat", sec_cookie_format),
];

fn sec_rule(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let target = (c.arg(0)?, c.arg(1)?);
    let actions = c.d.args.get(2).map(String::as_str).unwrap_or("");
    b.add_rule(c.file, c.dir, c.d.line, Some(target), actions)
}

fn sec_action(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let actions = c.d.args.first().map(String::as_str).unwrap_or("");
    b.add_rule(c.file, c.dir, c.d.line, None, actions)
}

fn sec_marker(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.add_marker(c.file, c.d.line, c.arg(0)?);
    Ok(())
}

fn sec_default_action(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let a = Actions::parse(c.arg(0)?)?;
    let phase = a.phase.ok_or("SecDefaultAction needs a phase")?;
    if a.id.is_some() || a.msg.is_some() || !a.tags.is_empty() || a.chain {
        return Err("SecDefaultAction must not hold id, msg, tag or chain".into());
    }
    b.defaults[phase.index()] = Some(a);
    Ok(())
}

fn include(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let p = Path::new(c.arg(0)?);
    let full = match c.dir {
        Some(base) if p.is_relative() => base.join(p),
        _ => p.to_path_buf(),
    };
    if b.include_depth > 16 {
        return Err("Include nested too deeply (loop?)".into());
    }
    b.include_depth += 1;
    let r = b
        .add_file(&full)
        .map(|_| ())
        .map_err(|e| format!("in Include: {e}"));
    b.include_depth -= 1;
    r
}

fn sec_rule_engine(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.set.config.rule_engine = EngineMode::parse(c.arg(0)?)?;
    Ok(())
}

fn sec_request_body_access(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.set.config.request_body_access = on_off(c.arg(0)?)?;
    Ok(())
}

fn sec_response_body_access(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.set.config.response_body_access = on_off(c.arg(0)?)?;
    Ok(())
}

/// A byte count of at least 1.
fn positive(c: &Ctx<'_>) -> Result<u64, String> {
    match num(c.arg(0)?)? {
        0 => Err(format!("{} must be at least 1", c.d.name)),
        n => Ok(n),
    }
}

fn sec_request_body_limit(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.set.config.request_body_limit = positive(c)?;
    Ok(())
}

fn sec_request_body_no_files_limit(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.set.config.request_body_no_files_limit = positive(c)?;
    Ok(())
}

fn sec_request_body_limit_action(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.set.config.request_body_limit_action = limit_action(c.arg(0)?)?;
    Ok(())
}

fn sec_response_body_limit(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.set.config.response_body_limit = positive(c)?;
    Ok(())
}

fn sec_response_body_limit_action(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.set.config.response_body_limit_action = limit_action(c.arg(0)?)?;
    Ok(())
}

fn sec_response_body_mime_type(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let types = c.d.args.iter().flat_map(|a| a.split_whitespace());
    let types: Vec<String> = types.map(|s| s.to_ascii_lowercase()).collect();
    if types.is_empty() {
        return Err("SecResponseBodyMimeType needs at least one type".into());
    }
    b.set.config.response_body_mime_types.extend(types);
    Ok(())
}

fn sec_response_body_mime_types_clear(b: &mut RuleSetBuilder, _: &Ctx<'_>) -> Result<(), String> {
    b.set.config.response_body_mime_types.clear();
    Ok(())
}

fn sec_argument_separator(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let a = c.arg(0)?;
    if a.len() != 1 {
        return Err("SecArgumentSeparator takes one character".into());
    }
    b.set.config.argument_separator = a.as_bytes()[0];
    Ok(())
}

fn sec_arguments_limit(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let n = positive(c)?;
    b.set.config.arguments_limit = Some(usize::try_from(n).unwrap_or(usize::MAX));
    Ok(())
}

fn sec_request_body_json_depth_limit(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let n = positive(c)?;
    if n > json::MAX_DEPTH as u64 {
        return Err(format!(
            "SecRequestBodyJsonDepthLimit {n}: at most {} (the JSON parser's own bound; \
             deeper bodies are an error either way)",
            json::MAX_DEPTH
        ));
    }
    b.set.config.json_depth_limit = n as usize;
    Ok(())
}

fn sec_component_signature(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let sig = c.arg(0)?.to_string();
    b.set.config.component_signatures.push(sig);
    Ok(())
}

fn sec_rule_remove_by_id(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    c.arg(0)?;
    b.remove_rules(&Selector::ids(&c.d.args)?);
    Ok(())
}

fn sec_rule_remove_by_tag(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.remove_rules(&Selector::Tag(c.arg(0)?));
    Ok(())
}

fn sec_rule_remove_by_msg(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.remove_rules(&Selector::Msg(c.arg(0)?));
    Ok(())
}

fn sec_rule_update_target_by_id(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let sel = Selector::ids(std::slice::from_ref(&c.arg(0)?.to_string()))?;
    b.update_targets(&sel, c.arg(1)?)
}

fn sec_rule_update_target_by_tag(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.update_targets(&Selector::Tag(c.arg(0)?), c.arg(1)?)
}

fn sec_rule_update_target_by_msg(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    b.update_targets(&Selector::Msg(c.arg(0)?), c.arg(1)?)
}

fn sec_rule_update_action_by_id(b: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    let sel = Selector::ids(std::slice::from_ref(&c.arg(0)?.to_string()))?;
    b.update_actions(&sel, c.arg(1)?)
}

/// A directive whose only accepted value is the one that describes what the
/// engine always does; any other value fails the load with `why`.
fn only(c: &Ctx<'_>, value: &str, why: &str) -> Result<(), String> {
    let v = c.arg(0)?;
    if v.eq_ignore_ascii_case(value) {
        Ok(())
    } else {
        Err(format!(
            "{} {v} is not supported: {why}; only {value} is accepted",
            c.d.name
        ))
    }
}

fn sec_xml_external_entity(_: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    only(
        c,
        "Off",
        "the XML body processor never loads external entities",
    )
}

fn sec_upload_keep_files(_: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    only(
        c,
        "Off",
        "uploaded files are inspected in memory and never stored",
    )
}

fn sec_tmp_save_uploaded_files(_: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    only(
        c,
        "Off",
        "uploaded files are inspected in memory and never stored",
    )
}

fn sec_status_engine(_: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    only(c, "Off", "the engine reports no status anywhere")
}

fn sec_cookie_format(_: &mut RuleSetBuilder, c: &Ctx<'_>) -> Result<(), String> {
    only(c, "0", "cookies are parsed as version 0 (name=value; ...)")
}
