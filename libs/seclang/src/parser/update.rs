//! Directives that change rules loaded before them: `SecRuleRemoveBy*`,
//! `SecRuleUpdateTargetBy*` and `SecRuleUpdateActionById`.

use super::RuleSetBuilder;
use crate::actions::Actions;
use crate::actions::ctl::id_ranges;
use crate::rule::{Rule, RuleKind};
use crate::variables::parse_list;

/// Which rules an update or removal selects.
pub(super) enum Selector<'a> {
    /// `...ById`: ids and ranges (`942100`, `942100-942199`).
    Ids(Vec<(u32, u32)>),
    /// `...ByTag`.
    Tag(&'a str),
    /// `...ByMsg`: a literal `msg`.
    Msg(&'a str),
}

impl Selector<'_> {
    /// Ids from one or more arguments.
    pub(super) fn ids(args: &[String]) -> Result<Selector<'static>, String> {
        let mut ranges = Vec::new();
        for a in args {
            ranges.extend(id_ranges(a)?);
        }
        Ok(Selector::Ids(ranges))
    }

    fn selects(&self, r: &Rule) -> bool {
        match self {
            Selector::Ids(rs) => r.id != 0 && rs.iter().any(|(a, b)| (*a..=*b).contains(&r.id)),
            Selector::Tag(t) => r.actions.tags.iter().any(|x| x == t),
            Selector::Msg(m) => r
                .actions
                .msg
                .as_ref()
                .and_then(|x| x.literal_text())
                .is_some_and(|x| x == m.as_bytes()),
        }
    }
}

impl RuleSetBuilder {
    /// `SecRuleRemoveBy*`: drops the selected rules (markers stay).
    pub(super) fn remove_rules(&mut self, sel: &Selector<'_>) {
        self.set.rules.retain(|r| r.id == 0 || !sel.selects(r));
    }

    /// `SecRuleUpdateTargetBy*`: adds targets and exclusions to the selected
    /// rules. Selecting no loaded rule is not an error (the CRS relies on it).
    pub(super) fn update_targets(&mut self, sel: &Selector<'_>, vars: &str) -> Result<(), String> {
        let vars = parse_list(vars)?;
        for r in self.set.rules.iter_mut().filter(|r| sel.selects(r)) {
            if let RuleKind::Rule {
                targets,
                exclusions,
                ..
            } = &mut r.kind
            {
                for v in &vars {
                    if v.exclude {
                        exclusions.push(v.clone());
                    } else {
                        targets.push(v.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// `SecRuleUpdateActionById`: merges actions into the selected rules.
    pub(super) fn update_actions(
        &mut self,
        sel: &Selector<'_>,
        actions: &str,
    ) -> Result<(), String> {
        let upd = Actions::parse(actions)?;
        for r in self.set.rules.iter_mut().filter(|r| sel.selects(r)) {
            merge_update(r, &upd);
        }
        Ok(())
    }
}

fn merge_update(r: &mut Rule, upd: &Actions) {
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
