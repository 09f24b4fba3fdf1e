//! Loads SecLang from files and text into a [`RuleSet`].

pub mod lexer;

use crate::actions::{Actions, Disruptive};
use crate::config::{EngineMode, LimitAction};
use crate::error::ParseError;
use crate::rule::{Rule, RuleKind};
use crate::ruleset::RuleSet;
use crate::transform::TransformFn;
use crate::variables::parse_list;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Builds a [`RuleSet`] from files and text, in the order given.
#[derive(Default)]
pub struct RuleSetBuilder {
    set: RuleSet,
    defaults: [Option<Actions>; 5],
    open_chain: bool,
    ids: HashSet<u32>,
    chains: HashMap<Vec<String>, u32>,
    include_depth: usize,
}

fn on_off(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("expected On or Off, got {v:?}")),
    }
}

/// Matches `name` against a glob with `*` and `?`.
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    match (pat.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pat[1..], name) || (!name.is_empty() && glob_match(pat, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pat[1..], &name[1..]),
        (Some(a), Some(b)) if a == b => glob_match(&pat[1..], &name[1..]),
        _ => false,
    }
}

/// Expands a path whose file name may hold `*`/`?` into the sorted list of matching files.
pub fn expand_glob(path: &Path) -> Result<Vec<PathBuf>, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| glob_match(name.as_bytes(), e.file_name().to_string_lossy().as_bytes()))
        .map(|e| e.path())
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(format!("no file matches {}", path.display()));
    }
    Ok(out)
}

impl RuleSetBuilder {
    /// An empty builder (engine defaults as ModSecurity's, except SecRuleEngine On).
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads a file (its name may hold a glob such as `rules/*.conf`).
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, ParseError> {
        let path = path.as_ref();
        let files =
            expand_glob(path).map_err(|e| ParseError::new(&path.display().to_string(), 0, e))?;
        for f in files {
            let text = std::fs::read(&f).map_err(|e| {
                ParseError::new(&f.display().to_string(), 0, format!("cannot read: {e}"))
            })?;
            let text = String::from_utf8(text)
                .map_err(|_| ParseError::new(&f.display().to_string(), 0, "file is not UTF-8"))?;
            let dir = f.parent().map(Path::to_path_buf);
            self.add_text_in(&f.display().to_string(), &text, dir.as_deref())?;
        }
        Ok(self)
    }

    /// Loads rules given as text; `name` names them in errors. Relative paths
    /// (Include, data files) resolve against the current directory.
    pub fn add_text(&mut self, name: &str, text: &str) -> Result<&mut Self, ParseError> {
        self.add_text_in(name, text, None)
    }

    /// Loads rules given as text whose relative paths resolve against `dir`.
    pub fn add_text_in(
        &mut self,
        name: &str,
        text: &str,
        dir: Option<&Path>,
    ) -> Result<&mut Self, ParseError> {
        let file: Arc<str> = Arc::from(name);
        let dirs =
            lexer::directives(text).map_err(|(line, msg)| ParseError::new(name, line, msg))?;
        for d in dirs {
            self.directive(&file, dir, &d)
                .map_err(|msg| ParseError::new(name, d.line, msg))?;
        }
        Ok(self)
    }

    /// Finishes loading.
    pub fn build(mut self) -> Result<RuleSet, ParseError> {
        if self.open_chain {
            let last = self
                .set
                .rules
                .last()
                .map(|r| (r.file.to_string(), r.line))
                .unwrap_or_default();
            return Err(ParseError::new(
                &last.0,
                last.1,
                "the last rule has `chain` but no rule follows",
            ));
        }
        self.set.finish();
        Ok(self.set)
    }

    fn arg(d: &lexer::Directive, i: usize) -> Result<&str, String> {
        d.args
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("{} needs {} argument(s)", d.name, i + 1))
    }

    fn directive(
        &mut self,
        file: &Arc<str>,
        dir: Option<&Path>,
        d: &lexer::Directive,
    ) -> Result<(), String> {
        let name = d.name.to_ascii_lowercase();
        if self.open_chain && name != "secrule" {
            return Err(format!(
                "{} follows a rule with `chain`; expected SecRule",
                d.name
            ));
        }
        let cfg = &mut self.set.config;
        match name.as_str() {
            "secrule" => {
                let ops = Self::arg(d, 1)?;
                let actions = d.args.get(2).map(String::as_str).unwrap_or("");
                self.add_rule(file, dir, d.line, Some((Self::arg(d, 0)?, ops)), actions)?;
            }
            "secaction" => self.add_rule(
                file,
                dir,
                d.line,
                None,
                d.args.first().map(String::as_str).unwrap_or(""),
            )?,
            "secmarker" => {
                let m = Self::arg(d, 0)?.to_string();
                self.set.rules.push(Rule {
                    id: 0,
                    phase: 0,
                    file: file.clone(),
                    line: d.line,
                    kind: RuleKind::Marker(m),
                    actions: Actions::default(),
                    transforms: vec![],
                    transform_chain: 0,
                    transform_triggers: Some(Default::default()),
                    disruptive: Disruptive::Pass,
                    log: false,
                    chain: None,
                });
            }
            "secdefaultaction" => {
                let a = Actions::parse(Self::arg(d, 0)?)?;
                let phase = a.phase.ok_or("SecDefaultAction needs a phase")?;
                if a.id.is_some() || a.msg.is_some() || !a.tags.is_empty() || a.chain {
                    return Err("SecDefaultAction must not hold id, msg, tag or chain".into());
                }
                self.defaults[(phase - 1) as usize] = Some(a);
            }
            "include" => {
                let p = Path::new(Self::arg(d, 0)?);
                let full = match dir {
                    Some(base) if p.is_relative() => base.join(p),
                    _ => p.to_path_buf(),
                };
                if self.include_depth > 16 {
                    return Err("Include nested too deeply (loop?)".into());
                }
                self.include_depth += 1;
                let r = self
                    .add_file(&full)
                    .map(|_| ())
                    .map_err(|e| format!("in Include: {e}"));
                self.include_depth -= 1;
                r?;
            }
            "secruleengine" => cfg.rule_engine = EngineMode::parse(Self::arg(d, 0)?)?,
            "secrequestbodyaccess" => cfg.request_body_access = on_off(Self::arg(d, 0)?)?,
            "secresponsebodyaccess" => cfg.response_body_access = on_off(Self::arg(d, 0)?)?,
            "secrequestbodylimit" => cfg.request_body_limit = num(Self::arg(d, 0)?)?,
            "secrequestbodynofileslimit" => {
                cfg.request_body_no_files_limit = num(Self::arg(d, 0)?)?
            }
            "secresponsebodylimit" => cfg.response_body_limit = num(Self::arg(d, 0)?)?,
            "secrequestbodylimitaction" => {
                cfg.request_body_limit_action = limit_action(Self::arg(d, 0)?)?
            }
            "secresponsebodylimitaction" => {
                cfg.response_body_limit_action = limit_action(Self::arg(d, 0)?)?
            }
            "secresponsebodymimetype" => cfg.response_body_mime_types.extend(
                d.args
                    .iter()
                    .flat_map(|a| a.split_whitespace())
                    .map(|s| s.to_ascii_lowercase()),
            ),
            "secresponsebodymimetypesclear" => cfg.response_body_mime_types.clear(),
            "secargumentseparator" => {
                let a = Self::arg(d, 0)?;
                if a.len() != 1 {
                    return Err("SecArgumentSeparator takes one character".into());
                }
                cfg.argument_separator = a.as_bytes()[0];
            }
            "seccomponentsignature" => cfg.component_signatures.push(Self::arg(d, 0)?.to_string()),
            "secauditengine" => cfg.audit_engine = Self::arg(d, 0)?.to_string(),
            "secruleremovebyid" => {
                let mut ranges = Vec::new();
                for a in &d.args {
                    ranges.extend(crate::actions::ctl::id_ranges(a)?);
                }
                self.set.rules.retain(|r| {
                    r.id == 0 || !ranges.iter().any(|(a, b)| (*a..=*b).contains(&r.id))
                });
            }
            "secruleremovebytag" => {
                let tag = Self::arg(d, 0)?;
                self.set
                    .rules
                    .retain(|r| !r.actions.tags.iter().any(|t| t == tag));
            }
            "secruleremovebymsg" => {
                let msg = Self::arg(d, 0)?;
                self.set.rules.retain(|r| {
                    r.actions
                        .msg
                        .as_ref()
                        .and_then(|m| m.literal_text())
                        .is_none_or(|m| m != msg.as_bytes())
                });
            }
            "secruleupdatetargetbyid" | "secruleupdatetargetbytag" | "secruleupdatetargetbymsg" => {
                let sel = Self::arg(d, 0)?;
                let vars = parse_list(Self::arg(d, 1)?)?;
                let ranges = if name.ends_with("byid") {
                    Some(crate::actions::ctl::id_ranges(sel)?)
                } else {
                    None
                };
                let mut found = false;
                for r in self.set.rules.iter_mut() {
                    let hit = match &ranges {
                        Some(rs) => r.id != 0 && rs.iter().any(|(a, b)| (*a..=*b).contains(&r.id)),
                        None if name.ends_with("bytag") => r.actions.tags.iter().any(|t| t == sel),
                        None => r
                            .actions
                            .msg
                            .as_ref()
                            .and_then(|m| m.literal_text())
                            .is_some_and(|m| m == sel.as_bytes()),
                    };
                    if !hit {
                        continue;
                    }
                    if let RuleKind::Rule {
                        targets,
                        exclusions,
                        ..
                    } = &mut r.kind
                    {
                        found = true;
                        for v in &vars {
                            if v.exclude {
                                exclusions.push(v.clone());
                            } else {
                                targets.push(v.clone());
                            }
                        }
                    }
                }
                let _ = found; // updating a rule that is not loaded is not an error (CRS relies on it)
            }
            "secruleupdateactionbyid" => {
                let ranges = crate::actions::ctl::id_ranges(Self::arg(d, 0)?)?;
                let upd = Actions::parse(Self::arg(d, 1)?)?;
                for r in self.set.rules.iter_mut() {
                    if r.id != 0 && ranges.iter().any(|(a, b)| (*a..=*b).contains(&r.id)) {
                        merge_update(r, &upd, &mut self.chains);
                    }
                }
            }
            // Accepted, no effect here: logging, storage and limits handled by the host.
            "seccollectiontimeout"
            | "secauditlog"
            | "secauditlogparts"
            | "secauditlogtype"
            | "secauditlogstoragedir"
            | "secauditlogrelevantstatus"
            | "secauditlogformat"
            | "secauditlogdirmode"
            | "secauditlogfilemode"
            | "secdebuglog"
            | "secdebugloglevel"
            | "sectmpdir"
            | "secdatadir"
            | "secuploaddir"
            | "secuploadkeepfiles"
            | "secuploadfilemode"
            | "secuploadfilelimit"
            | "secpcrematchlimit"
            | "secpcrematchlimitrecursion"
            | "secrequestbodyinmemorylimit"
            | "secstatusengine"
            | "secunicodemapfile"
            | "seccookieformat"
            | "secrequestbodyjsondepthlimit"
            | "secargumentslimit"
            | "secwebappid"
            | "secserversignature"
            | "sectmpsaveuploadedfiles"
            | "seccollectiontimeouts"
            | "secxmlexternalentity" => {}
            _ => return Err(format!("unknown directive {}", d.name)),
        }
        Ok(())
    }

    fn intern(&mut self, names: &[String]) -> Result<(u32, Vec<TransformFn>), String> {
        let mut fns = Vec::with_capacity(names.len());
        for n in names {
            fns.push(
                crate::transform::lookup(n)
                    .ok_or_else(|| format!("unknown transformation t:{n}"))?,
            );
        }
        let key: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let next = self.chains.len() as u32 + 1;
        let id = *self.chains.entry(key).or_insert(next);
        Ok((id, fns))
    }

    fn add_rule(
        &mut self,
        file: &Arc<str>,
        dir: Option<&Path>,
        line: usize,
        rule: Option<(&str, &str)>,
        actions: &str,
    ) -> Result<(), String> {
        let mut a = Actions::parse(actions)?;
        let is_child = self.open_chain;
        let kind = match rule {
            None => RuleKind::Action,
            Some((vars, op)) => {
                let all = parse_list(vars)?;
                let (exclusions, targets): (Vec<_>, Vec<_>) =
                    all.into_iter().partition(|v| v.exclude);
                let op = op.trim_start();
                let (negate, op) = match op.strip_prefix('!') {
                    Some(rest) => (true, rest.trim_start()),
                    None => (false, op),
                };
                let (op_name, op_arg) = match op.strip_prefix('@') {
                    Some(rest) => match rest.find(char::is_whitespace) {
                        Some(sp) => (rest[..sp].to_string(), rest[sp..].trim_start().to_string()),
                        None => (rest.to_string(), String::new()),
                    },
                    None => ("rx".to_string(), op.to_string()),
                };
                let compiled = crate::operators::build(&op_name, &op_arg, dir)?;
                RuleKind::Rule {
                    targets,
                    exclusions,
                    op: compiled,
                    op_name,
                    negate,
                }
            }
        };
        let (phase, id) = if is_child {
            let starter = self.set.rules.last().ok_or("chain without a starter")?;
            if a.id.is_some() || a.phase.is_some() {
                return Err("a chained rule must not set id or phase".into());
            }
            (starter.phase, starter.id)
        } else {
            let id = a.id.ok_or("rule has no id")?;
            if !self.ids.insert(id) {
                return Err(format!("duplicate rule id {id}"));
            }
            (a.phase.unwrap_or(2), id)
        };
        let default = self.defaults[(phase - 1) as usize].clone();
        let mut names = Vec::new();
        if !a.t_none
            && let Some(d) = &default
        {
            names.extend(d.transforms.iter().cloned());
        }
        names.extend(a.transforms.iter().cloned());
        let (transform_chain, transforms) = self.intern(&names)?;
        let transform_triggers = crate::transform::chain_exact_triggers(&transforms);
        let default_disruptive = default
            .as_ref()
            .and_then(|d| d.disruptive.clone())
            .unwrap_or(Disruptive::Pass);
        let disruptive = match &a.disruptive {
            None | Some(Disruptive::Block) => default_disruptive,
            Some(d) => d.clone(),
        };
        if a.status.is_none() {
            a.status = default.as_ref().and_then(|d| d.status);
        }
        let log = a
            .log
            .or(default.as_ref().and_then(|d| d.log))
            .unwrap_or(true);
        let chain = a.chain;
        let r = Rule {
            id,
            phase,
            file: file.clone(),
            line,
            kind,
            actions: a,
            transforms,
            transform_chain,
            transform_triggers,
            disruptive,
            log,
            chain: None,
        };
        if is_child {
            let starter = self.set.rules.last_mut().ok_or("chain without a starter")?;
            starter.last_link_mut().chain = Some(Box::new(r));
        } else {
            self.set.rules.push(r);
        }
        self.open_chain = chain;
        Ok(())
    }
}

fn merge_update(r: &mut Rule, upd: &Actions, _chains: &mut HashMap<Vec<String>, u32>) {
    if let Some(d) = &upd.disruptive {
        r.disruptive = d.clone();
        r.actions.disruptive = Some(d.clone());
    }
    if upd.msg.is_some() {
        r.actions.msg = upd.msg.clone();
    }
    if upd.logdata.is_some() {
        r.actions.logdata = upd.logdata.clone();
    }
    if upd.severity.is_some() {
        r.actions.severity = upd.severity;
    }
    if let Some(l) = upd.log {
        r.log = l;
    }
    if upd.status.is_some() {
        r.actions.status = upd.status;
    }
    r.actions.tags.extend(upd.tags.iter().cloned());
    r.actions.effects.extend(upd.effects.iter().cloned());
}

fn num(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))
}

fn limit_action(s: &str) -> Result<LimitAction, String> {
    match s.to_ascii_lowercase().as_str() {
        "reject" => Ok(LimitAction::Reject),
        "processpartial" => Ok(LimitAction::ProcessPartial),
        _ => Err(format!("expected Reject or ProcessPartial, got {s:?}")),
    }
}
