//! Loads SecLang from files and text into a [`RuleSet`].

mod directives;
pub(crate) mod lexer;
mod refused;
mod rules;
#[cfg(test)]
mod tests;
mod update;

use crate::actions::Actions;
use crate::config::LimitAction;
use crate::error::ParseError;
use crate::ruleset::RuleSet;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Builds a [`RuleSet`] from files and text, in the order given.
#[derive(Default)]
pub struct RuleSetBuilder {
    set: RuleSet,
    /// `SecDefaultAction` per phase (by [`crate::Phase::index`]).
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
pub(crate) fn expand_glob(path: &Path) -> Result<Vec<PathBuf>, String> {
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

    /// Runs one directive: every name the parser knows is in
    /// `directives::HANDLERS` (it works) or `refused::REFUSED` (the load fails
    /// with the reason and what to use instead).
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
        let ctx = directives::Ctx { file, dir, d };
        if let Some((_, handler)) = directives::HANDLERS.iter().find(|(n, _)| *n == name) {
            // Every message names its directive: `x.conf:3: SecRuleEngine: expected On, ...`.
            return handler(self, &ctx).map_err(|msg| match msg.contains(d.name.as_str()) {
                true => msg,
                false => format!("{}: {msg}", d.name),
            });
        }
        if let Some(why) = refused::reason(&name) {
            return Err(format!("{} is not supported: {why}", d.name));
        }
        Err(format!("unknown directive {}", d.name))
    }
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
