//! Compiled rules: what the parser builds and the transaction evaluates.

use crate::actions::{Actions, Disruptive};
use crate::operators::Operator;
use crate::phase::Phase;
use crate::transform::TransformFn;
use crate::variables::VarSpec;
use std::sync::Arc;

/// What kind of directive a rule came from.
#[derive(Debug)]
pub enum RuleKind {
    /// `SecRule VARIABLES OPERATOR ACTIONS`.
    Rule {
        /// Variables to inspect.
        targets: Vec<VarSpec>,
        /// `!VAR:key` exclusions.
        exclusions: Vec<VarSpec>,
        /// The compiled operator.
        op: Box<dyn Operator>,
        /// Operator name as written (for logs).
        op_name: String,
        /// `!@op`.
        negate: bool,
    },
    /// `SecAction ACTIONS`: matches unconditionally.
    Action,
    /// `SecMarker NAME`.
    Marker(String),
}

/// One rule (or chain link).
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
    pub kind: RuleKind,
    /// Parsed actions (with SecDefaultAction merged in).
    pub actions: Actions,
    /// Resolved transformations.
    pub transforms: Vec<TransformFn>,
    /// Interned id of the transformation list (for the per-transaction cache).
    pub transform_chain: u32,
    /// Bytes that can make `transforms` change a value at all (`None`: any
    /// value may change); a value without them skips the transformations.
    pub transform_triggers: Option<crate::transform::ByteSet>,
    /// The disruptive action in effect (`block` and none resolved to the phase default).
    pub disruptive: Disruptive,
    /// Log when matched.
    pub log: bool,
    /// The next chain link.
    pub chain: Option<Box<Rule>>,
}

impl Rule {
    /// The marker name, for `SecMarker`.
    pub fn marker(&self) -> Option<&str> {
        match &self.kind {
            RuleKind::Marker(m) => Some(m),
            _ => None,
        }
    }

    /// The last link of this rule's chain.
    pub fn last_link_mut(&mut self) -> &mut Rule {
        match self.chain {
            Some(ref mut c) => c.last_link_mut(),
            None => self,
        }
    }
}
