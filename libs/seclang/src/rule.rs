//! Compiled rules: what the parser builds and the transaction evaluates.

use crate::actions::{Actions, Disruptive};
use crate::operators::Operator;
use crate::phase::Phase;
use crate::transform::Steps;
use crate::variables::VarSpec;
use std::sync::Arc;

/// What kind of directive a rule came from.
#[derive(Debug)]
pub(crate) enum RuleKind {
    /// `SecRule VARIABLES OPERATOR ACTIONS`.
    Rule {
        /// Variables to inspect.
        targets: Vec<VarSpec>,
        /// `!VAR:key` exclusions.
        exclusions: Vec<VarSpec>,
        /// The compiled operator.
        op: Box<dyn Operator>,
        /// `!@op`.
        negate: bool,
    },
    /// `SecAction ACTIONS`: matches unconditionally.
    Action,
    /// `SecMarker NAME`.
    Marker(String),
}

/// One rule (or chain link): where it came from and when it runs; what it
/// tests and does stays inside the engine.
#[derive(Debug)]
pub struct Rule {
    /// Rule id (the chain starter's id for chain links; 0 for markers).
    pub id: u32,
    /// When the rule runs (markers sit in every phase's list; theirs is
    /// `RequestHeaders` and unused).
    pub phase: Phase,
    /// File the rule came from.
    pub file: Arc<str>,
    /// Line the rule starts on.
    pub line: usize,
    /// Directive kind.
    pub(crate) kind: RuleKind,
    /// Parsed actions (with SecDefaultAction merged in).
    pub(crate) actions: Actions,
    /// Resolved transformations.
    pub(crate) transforms: Steps,
    /// Interned id of the transformation list (for the per-transaction cache).
    pub(crate) transform_chain: u32,
    /// The disruptive action in effect (`block` and none resolved to the phase default).
    pub(crate) disruptive: Disruptive,
    /// Log when matched.
    pub(crate) log: bool,
    /// The next chain link.
    pub(crate) chain: Option<Box<Rule>>,
}

impl Rule {
    /// The marker name, for `SecMarker`.
    pub(crate) fn marker(&self) -> Option<&str> {
        match &self.kind {
            RuleKind::Marker(m) => Some(m),
            _ => None,
        }
    }

    /// The last link of this rule's chain.
    pub(crate) fn last_link_mut(&mut self) -> &mut Rule {
        match self.chain {
            Some(ref mut c) => c.last_link_mut(),
            None => self,
        }
    }
}
