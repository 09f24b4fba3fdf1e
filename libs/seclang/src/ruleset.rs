//! The immutable, shareable result of loading: rules in phase order plus
//! engine settings.

use crate::config::EngineConfig;
use crate::error::ParseError;
use crate::parser::RuleSetBuilder;
use crate::phase::Phase;
use crate::rule::Rule;
use std::path::Path;

/// Compiled rules. Build with [`RuleSet::from_files`], [`RuleSet::from_text`]
/// or [`RuleSetBuilder`]; share it between transactions (it is `Send + Sync`).
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    /// Engine settings from the directives.
    pub(crate) config: EngineConfig,
    /// Per phase (by [`Phase::index`]): indices into `rules`, markers included.
    pub(crate) phases: [Vec<usize>; 5],
    /// Per phase, parallel to `phases`: for a rule with `skipAfter`, the
    /// position just after its marker (or the end of the list).
    pub(crate) skip_to: [Vec<usize>; 5],
    /// Which rules can be skipped by one scan per (variable, transformations).
    pub(crate) prefilter: crate::prefilter::Prefilter,
    /// Phase-1 rules evaluated once for all requests (`transaction/hoist.rs`).
    pub(crate) hoisted: crate::transaction::hoist::Hoisted,
}

impl RuleSet {
    /// Loads files in order (names may hold globs such as `rules/*.conf`).
    pub fn from_files<P: AsRef<Path>>(files: &[P]) -> Result<RuleSet, ParseError> {
        let mut b = RuleSetBuilder::new();
        for f in files {
            b.add_file(f)?;
        }
        b.build()
    }

    /// Loads rules given as text; `name` is used in error messages.
    pub fn from_text(name: &str, text: &str) -> Result<RuleSet, ParseError> {
        let mut b = RuleSetBuilder::new();
        b.add_text(name, text)?;
        b.build()
    }

    pub(crate) fn finish(&mut self) {
        for phase in Phase::ALL {
            let p = phase.index();
            self.phases[p] = self
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.marker().is_some() || r.phase == phase)
                .map(|(i, _)| i)
                .collect();
            let list = &self.phases[p];
            self.skip_to[p] = (0..list.len())
                .map(|i| match &self.rules[list[i]].actions.skip_after {
                    Some(m) => list[i + 1..]
                        .iter()
                        .position(|&j| self.rules[j].marker() == Some(m.as_str()))
                        .map_or(list.len(), |at| i + 1 + at + 1),
                    None => list.len(),
                })
                .collect();
        }
        self.prefilter = crate::prefilter::Prefilter::build(&self.rules);
        self.hoisted = crate::transaction::hoist::build(self);
    }

    /// Turns the prefilter off: every rule runs (for comparisons and
    /// debugging; the results are the same, only slower).
    pub fn disable_prefilter(&mut self) {
        self.prefilter = crate::prefilter::Prefilter::build(&[]);
        self.prefilter.rules = (0..self.rules.len()).map(|_| None).collect();
        self.prefilter.tx_compares = (0..self.rules.len()).map(|_| None).collect();
        self.prefilter.byte_gates = (0..self.rules.len()).map(|_| None).collect();
        self.hoisted = crate::transaction::hoist::build(self);
    }

    /// Evaluates every rule for every request, including the rules whose
    /// outcome is the same for all (hoisted and constant; for comparisons:
    /// the results are the same, only slower).
    pub fn disable_hoisting(&mut self) {
        self.hoisted = crate::transaction::hoist::Hoisted::none(self.rules.len());
    }

    /// How many phase-1 rules are evaluated once for all requests.
    pub fn hoisted_rules(&self) -> usize {
        self.hoisted.count()
    }

    /// How many rules have one outcome for every request and are replayed
    /// rather than evaluated (the CRS's paranoia-level gates).
    pub fn constant_rules(&self) -> usize {
        self.hoisted.constant.iter().flatten().count()
    }

    /// How many rules the prefilter can skip without running them.
    pub fn prefiltered_rules(&self) -> usize {
        self.prefilter.filtered()
    }

    /// Number of rules (chains count once; markers excluded).
    pub fn len(&self) -> usize {
        self.rules.iter().filter(|r| r.marker().is_none()).count()
    }

    /// True when no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rules in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}
