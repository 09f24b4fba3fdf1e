//! `SecRule`, `SecAction` and `SecMarker`: rules as the builder stores them,
//! with the phase's `SecDefaultAction` folded in and chains linked.

use super::RuleSetBuilder;
use crate::actions::{Actions, Disruptive};
use crate::phase::Phase;
use crate::rule::{Rule, RuleKind};
use crate::transform::TransformFn;
use crate::variables::parse_list;
use std::path::Path;
use std::sync::Arc;

/// The target and operator part of a `SecRule`.
fn rule_kind(vars: &str, op: &str, dir: Option<&Path>) -> Result<RuleKind, String> {
    let all = parse_list(vars)?;
    let (exclusions, targets): (Vec<_>, Vec<_>) = all.into_iter().partition(|v| v.exclude);
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
    Ok(RuleKind::Rule {
        targets,
        exclusions,
        op: compiled,
        negate,
    })
}

impl RuleSetBuilder {
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

    /// The phase and id of a new rule: its own, or its chain starter's.
    fn phase_and_id(&mut self, a: &Actions, is_child: bool) -> Result<(Phase, u32), String> {
        if is_child {
            let starter = self.set.rules.last().ok_or("chain without a starter")?;
            if a.id.is_some() || a.phase.is_some() {
                return Err("a chained rule must not set id or phase".into());
            }
            return Ok((starter.phase, starter.id));
        }
        let id = a.id.ok_or("rule has no id")?;
        if !self.ids.insert(id) {
            return Err(format!("duplicate rule id {id}"));
        }
        Ok((a.phase.unwrap_or(Phase::RequestBody), id))
    }

    /// Adds a `SecRule` (`rule` holds targets and operator) or a `SecAction`.
    pub(super) fn add_rule(
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
            Some((vars, op)) => rule_kind(vars, op, dir)?,
        };
        let (phase, id) = self.phase_and_id(&a, is_child)?;
        let default = self.defaults[phase.index()].clone();
        let mut names = Vec::new();
        if !a.t_none
            && let Some(d) = &default
        {
            names.extend(d.transforms.iter().cloned());
        }
        names.extend(a.transforms.iter().cloned());
        let (transform_chain, transforms) = self.intern(&names)?;
        let transforms = crate::transform::Steps::new(transforms);
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

    /// Adds a `SecMarker` (a `skipAfter` target).
    pub(super) fn add_marker(&mut self, file: &Arc<str>, line: usize, name: &str) {
        self.set.rules.push(Rule {
            id: 0,
            phase: Phase::RequestHeaders,
            file: file.clone(),
            line,
            kind: RuleKind::Marker(name.to_string()),
            actions: Actions::default(),
            transforms: Default::default(),
            transform_chain: 0,
            disruptive: Disruptive::Pass,
            log: false,
            chain: None,
        });
    }
}
