//! Hoisting: phase-1 rules whose outcome is the same for every request are
//! evaluated once per rule set instead of once per request.
//!
//! The CRS starts every request with some 25 rules that read nothing but TX
//! and set some 45 TX variables to fixed values (`&TX:x "@eq 0"` defaults,
//! `SecAction` initialisation). [`build`] walks phase 1 in order. A rule
//! whose links read only TX (targets, operator argument, macros in `setvar`,
//! `msg` and `logdata`; an operator whose answer depends only on its input
//! and argument), none of it written by an earlier rule that is not hoisted,
//! has the same outcome for every request. It is run once, on an empty
//! transaction, and hoisted when
//!
//! - its first link matched nothing (then no action of any link ran, e.g.
//!   the CRS's `deny` when `crs-setup.conf` is missing), or
//! - it writes only TX (`setvar:tx.*`), changes nothing about which rules run
//!   or how (no `skip`, `skipAfter`, `ctl`, `capture`; `pass` or `block`),
//!   and no earlier rule that is not hoisted reads or writes a key it writes.
//!
//! The first rule that is not hoisted and may change which rules run (`skip`,
//! `skipAfter`, `deny`, `drop`, `redirect`, `allow`, a `ctl` other than the
//! body ones) ends the walk.
//!
//! A transaction loads the TX the hoisted rules left when phase 1 starts; at
//! each hoisted rule's place in the list it replays what the rule did (its
//! match record, `MATCHED_VAR(S)`, severity and work counts) instead of
//! evaluating it. The rules before a hoisted one that are not hoisted read
//! none of the keys it wrote early, so every rule sees what it would have
//! seen: results, logs and TX are those of evaluating every rule
//! (`RuleSet::disable_hoisting` compares).
//!
//! **Constant rules.** A rule anywhere in any phase whose single link reads
//! only TX keys that no rule but the hoisted ones writes (the CRS's paranoia
//! gates, `TX:DETECTION_PARANOIA_LEVEL "@lt 2" ... skipAfter:...`), with no
//! action but its flow (`skip`, `skipAfter`; `pass` or `block`), has one
//! outcome for every request. It is evaluated once against the hoisted TX;
//! a transaction that has loaded that TX replays it, flow included, unless a
//! `ctl` removed targets of it. Its prefilter must not be a scan (a TX
//! comparison or none), so that replaying leaves the prefilter's state as
//! evaluating would.

use super::vars::{Key, Target};
use super::{EvalStats, Match, Transaction};
use crate::actions::{Ctl, Disruptive, Effect};
use crate::config::EngineMode;
use crate::macros::{Macro, Part};
use crate::operators::Depends;
use crate::phase::Phase;
use crate::rule::{Rule, RuleKind};
use crate::ruleset::RuleSet;
use crate::variables::{KeySel, VarKind};
use std::collections::HashSet;
use std::rc::Rc;

/// What hoisting leaves in a rule set.
#[derive(Debug, Default)]
pub(crate) struct Hoisted {
    /// Per rule (index into the rule set): what it does, when hoisted.
    pub replay: Vec<Option<Replay>>,
    /// How many rules are hoisted.
    count: usize,
    /// Per rule: its outcome, when it is constant (see the module docs).
    pub constant: Vec<Option<Replay>>,
    /// TX after every hoisted rule ran, loaded when phase 1 starts.
    pub tx: Vec<(String, Vec<u8>)>,
    /// How many replays there are (hoisted and constant; [`Replay::slot`]).
    pub slots: usize,
}

impl Hoisted {
    /// No rule hoisted.
    pub(crate) fn none(rules: usize) -> Hoisted {
        Hoisted {
            replay: (0..rules).map(|_| None).collect(),
            count: 0,
            constant: (0..rules).map(|_| None).collect(),
            tx: Vec::new(),
            slots: 0,
        }
    }

    /// How many rules are hoisted.
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// What one hoisted or constant rule did when it ran.
#[derive(Debug)]
pub(crate) struct Replay {
    /// Its index among the replays (a transaction keeps its targets there).
    slot: usize,
    /// A constant rule that matched: its flow (`skip`, `skipAfter`) applies.
    pub hit: bool,
    /// Its share of the work counts.
    stats: EvalStats,
    /// `msg` and `logdata` as expanded, when the rule matched.
    matched: Option<(String, String)>,
    /// The `MATCHED_VAR` it set, if it set one.
    var: Option<OwnedTarget>,
    /// `MATCHED_VARS` after it.
    vars: Vec<OwnedTarget>,
}

/// A replay's `MATCHED_VAR` and `MATCHED_VARS`, as a transaction shares them.
pub(crate) type ReplayedTargets<'r> = (Option<Target<'r>>, Vec<Target<'r>>);

/// A [`Target`] that outlives its transaction.
#[derive(Debug)]
struct OwnedTarget {
    kind: VarKind,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
}

impl OwnedTarget {
    fn of(t: &Target<'_>) -> OwnedTarget {
        OwnedTarget {
            kind: t.kind,
            key: t.key_bytes().map(<[u8]>::to_vec),
            value: t.value.to_vec(),
        }
    }

    fn target<'r>(&self) -> Target<'r> {
        Target {
            kind: self.kind,
            key: match &self.key {
                Some(k) => Key::Bytes(Rc::from(&k[..])),
                None => Key::None,
            },
            value: Rc::from(&self.value[..]),
        }
    }
}

/// A set of TX keys: some keys, the keys that start with some prefixes
/// (`setvar:tx.header_name_%{tx.0}`), or all of them.
#[derive(Debug, Default)]
struct Keys {
    all: bool,
    keys: HashSet<String>,
    prefixes: Vec<String>,
}

impl Keys {
    fn add(&mut self, key: &str) {
        if !self.all {
            self.keys.insert(key.to_string());
        }
    }

    /// Every key that starts with `prefix` (lower-case).
    fn add_prefix(&mut self, prefix: &str) {
        if prefix.is_empty() {
            self.add_all();
        } else if !self.all && !self.prefixes.iter().any(|p| p == prefix) {
            self.prefixes.push(prefix.to_string());
        }
    }

    fn add_all(&mut self) {
        self.all = true;
        self.keys.clear();
        self.prefixes.clear();
    }

    fn extend(&mut self, other: &Keys) {
        if other.all {
            self.add_all();
            return;
        }
        for k in &other.keys {
            self.add(k);
        }
        for p in &other.prefixes {
            self.add_prefix(p);
        }
    }

    fn is_empty(&self) -> bool {
        !self.all && self.keys.is_empty() && self.prefixes.is_empty()
    }

    /// True when `key` is in the set.
    fn holds(&self, key: &str) -> bool {
        self.all || self.keys.contains(key) || self.prefixes.iter().any(|p| key.starts_with(p))
    }

    /// True when the two sets share a key.
    fn meets(&self, other: &Keys) -> bool {
        if self.is_empty() || other.is_empty() {
            return false;
        }
        self.all
            || other.all
            || self.keys.iter().any(|k| other.holds(k))
            || other.keys.iter().any(|k| self.holds(k))
            || (self.prefixes.iter()).any(|p| {
                other
                    .prefixes
                    .iter()
                    .any(|q| p.starts_with(q) || q.starts_with(p))
            })
    }
}

/// The keys a `setvar` with a macro in its key may write: those that start
/// with the key's leading text, lower-cased as the transaction stores keys
/// (all keys when it has none, or when it is not ASCII).
fn dynamic_key_prefix(key: &Macro) -> String {
    match key.parts().first() {
        Some(Part::Lit(l)) if l.is_ascii() => String::from_utf8_lossy(l).to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// What a rule (all its links) reads, writes and may change.
#[derive(Debug, Default)]
struct Summary {
    reads: Keys,
    writes: Keys,
    /// Reads something other than TX (or rule metadata), or has an operator
    /// whose answer may depend on more than its input and argument.
    not_tx_reads: bool,
    /// Does more than `setvar:tx.*`: another collection, a `ctl` or
    /// `capture` (never hoisted, even when harmless).
    other_effects: bool,
    /// May change which rules run or how (see the module docs).
    flow: bool,
}

impl Summary {
    fn of(rule: &Rule) -> Summary {
        let mut s = Summary::default();
        let mut link = Some(rule);
        while let Some(l) = link {
            s.link(l);
            link = l.chain.as_deref();
        }
        s
    }

    fn hoistable(&self) -> bool {
        !self.not_tx_reads && !self.other_effects && !self.flow
    }

    fn link(&mut self, l: &Rule) {
        let a = &l.actions;
        if a.skip > 0 || a.skip_after.is_some() {
            self.flow = true;
        }
        if !matches!(l.disruptive, Disruptive::Pass | Disruptive::Block) {
            self.flow = true;
        }
        if a.capture {
            self.other_effects = true;
            for k in 0..10 {
                self.writes.add(&k.to_string());
            }
        }
        for m in [&a.msg, &a.logdata].into_iter().flatten() {
            self.macro_reads(m);
        }
        if let Disruptive::Redirect(m) = &l.disruptive {
            self.macro_reads(m);
        }
        for e in &a.effects {
            self.effect(e);
        }
        if let RuleKind::Rule { targets, op, .. } = &l.kind {
            for t in targets {
                match (&t.kind, &t.key) {
                    (VarKind::Tx, KeySel::Literal(k)) => self.reads.add(k),
                    (VarKind::Tx, _) => self.reads.add_all(),
                    _ => self.not_tx_reads = true,
                }
            }
            match op.depends() {
                Depends::Nothing => {}
                Depends::Arg(m) => self.macro_reads(m),
                Depends::Unknown => {
                    self.not_tx_reads = true;
                    self.reads.add_all();
                }
            }
        }
    }

    fn effect(&mut self, e: &Effect) {
        match e {
            Effect::SetVar(sv) => {
                self.macro_reads(&sv.key);
                self.macro_reads(&sv.value);
                if sv.collection != "tx" {
                    self.other_effects = true;
                } else if let Some(k) = &sv.literal_key {
                    self.writes.add(k);
                } else {
                    self.writes.add_prefix(&dynamic_key_prefix(&sv.key));
                }
            }
            Effect::Ctl(c) => {
                self.other_effects = true;
                // The body ctls act after phase 1's rules; the others change
                // which rules run or what they see.
                if !matches!(
                    c,
                    Ctl::RequestBodyProcessor(_)
                        | Ctl::RequestBodyAccess(_)
                        | Ctl::ResponseBodyAccess(_)
                        | Ctl::ForceRequestBodyVariable(_)
                        | Ctl::RequestBodyLimit
                        | Ctl::Audit
                ) {
                    self.flow = true;
                }
            }
            Effect::InitCol => {}
        }
    }

    fn macro_reads(&mut self, m: &Macro) {
        for p in m.parts() {
            match p {
                Part::Lit(_) => {}
                Part::Var { name, key } => match (name.as_str(), key) {
                    ("tx", Some(k)) => self.reads.add(k),
                    ("tx", None) => self.reads.add_all(),
                    ("rule", _) => {}
                    _ => self.not_tx_reads = true,
                },
            }
        }
    }
}

/// Runs the phase-1 rules of `rs` whose outcome is the same for every
/// request once, and keeps what they did.
pub(crate) fn build(rs: &RuleSet) -> Hoisted {
    let mut h = Hoisted::none(rs.rules.len());
    if rs.config.rule_engine == EngineMode::Off {
        return h;
    }
    let mut t = Transaction::new(rs, "");
    let summaries: Vec<Summary> = rs.rules.iter().map(Summary::of).collect();
    // TX keys read and written by the rules so far that are not hoisted.
    let mut read = Keys::default();
    let mut written = Keys::default();
    for &idx in &rs.phases[Phase::RequestHeaders.index()] {
        let rule = &rs.rules[idx];
        if rule.marker().is_some() {
            continue;
        }
        let s = &summaries[idx];
        if !s.not_tx_reads && !written.meets(&s.reads) {
            // The same outcome for every request: run it to see what it does.
            let (before, n, tx) = (t.stats, t.matched.len(), t.tx.clone());
            t.matched_var = None;
            t.try_rule(idx, rule, Phase::RequestHeaders);
            // A first link that tested values and matched none (it sets
            // MATCHED_VAR on a match) ran no action of any link.
            let inert = matches!(rule.kind, RuleKind::Rule { .. }) && t.matched_var.is_none();
            if inert || (s.hoistable() && !read.meets(&s.writes) && !written.meets(&s.writes)) {
                h.replay[idx] = Some(Replay::of(&t, before, n, h.slots, false));
                h.slots += 1;
                continue;
            }
            // Not hoisted after all: what it did is not kept.
            t.tx = tx;
            t.matched.truncate(n);
        }
        if s.flow {
            break;
        }
        read.extend(&s.reads);
        written.extend(&s.writes);
    }
    let mut tx: Vec<(String, Vec<u8>)> =
        t.tx.iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
    tx.sort();
    h.tx = tx;
    h.count = h.replay.iter().flatten().count();
    constants(rs, &summaries, &mut t, &mut h);
    h
}

impl Replay {
    /// What the rule `t` just ran did: work counts since `before`, the match
    /// record after the first `n`, `MATCHED_VAR(S)`.
    fn of(t: &Transaction<'_>, before: EvalStats, n: usize, slot: usize, hit: bool) -> Replay {
        let m: Option<&Match<'_>> = t.matched.get(n);
        Replay {
            slot,
            hit,
            stats: delta(t.stats, before),
            matched: m.map(|m| (m.msg.clone(), m.logdata.clone())),
            var: t.matched_var.as_ref().map(OwnedTarget::of),
            vars: t.matched_vars.iter().map(OwnedTarget::of).collect(),
        }
    }
}

/// Finds the constant rules (see the module docs; `summaries` per rule)
/// and evaluates each once on `t`, which holds the hoisted TX.
fn constants<'r>(rs: &'r RuleSet, summaries: &[Summary], t: &mut Transaction<'r>, h: &mut Hoisted) {
    // What the rules that are not hoisted may write, in any phase.
    let mut written = Keys::default();
    for (idx, s) in summaries.iter().enumerate() {
        if h.replay[idx].is_none() {
            written.extend(&s.writes);
        }
    }
    for list in &rs.phases {
        for &idx in list {
            let rule = &rs.rules[idx];
            if h.replay[idx].is_some() || !constant(rs, idx, &summaries[idx], &written) {
                continue;
            }
            let (before, n) = (t.stats, t.matched.len());
            t.matched_var = None;
            let hit = t.try_rule(idx, rule, rule.phase);
            h.constant[idx] = Some(Replay::of(t, before, n, h.slots, hit));
            h.slots += 1;
            t.matched.truncate(n);
        }
    }
}

/// True when rule `idx` (summed up in `s`) is constant: one link reading
/// only TX keys that `written` lacks, no action but its flow (no effects, no
/// `capture`), no prefilter scan.
fn constant(rs: &RuleSet, idx: usize, s: &Summary, written: &Keys) -> bool {
    let rule = &rs.rules[idx];
    rule.marker().is_none()
        && rule.chain.is_none()
        && rule.actions.effects.is_empty()
        && !rule.actions.capture
        && matches!(rule.disruptive, Disruptive::Pass | Disruptive::Block)
        && rs.prefilter.rules[idx].is_none()
        && !s.not_tx_reads
        && !s.reads.all
        && !written.meets(&s.reads)
}

fn delta(after: EvalStats, before: EvalStats) -> EvalStats {
    EvalStats {
        rules_seen: after.rules_seen - before.rules_seen,
        rules_skipped: after.rules_skipped - before.rules_skipped,
        rules_run: after.rules_run - before.rules_run,
        operator_calls: after.operator_calls - before.operator_calls,
        bytes_skipped: after.bytes_skipped - before.bytes_skipped,
        slots_filled: after.slots_filled - before.slots_filled,
        slot_fills: after.slot_fills - before.slot_fills,
        slot_values: after.slot_values - before.slot_values,
        slot_rescans: after.slot_rescans - before.slot_rescans,
    }
}

fn add(to: &mut EvalStats, d: &EvalStats) {
    to.rules_seen += d.rules_seen;
    to.rules_skipped += d.rules_skipped;
    to.rules_run += d.rules_run;
    to.operator_calls += d.operator_calls;
    to.bytes_skipped += d.bytes_skipped;
    to.slots_filled += d.slots_filled;
    to.slot_fills += d.slot_fills;
    to.slot_values += d.slot_values;
    to.slot_rescans += d.slot_rescans;
}

impl<'r> Transaction<'r> {
    /// Phase 1 starts: TX as the hoisted rules leave it.
    pub(crate) fn load_hoisted(&mut self) {
        if self.hoisted_tx.is_empty() {
            self.hoisted_tx = (self.rs.hoisted.tx.iter())
                .map(|(k, v)| (Rc::from(k.as_str()), Rc::from(&v[..])))
                .collect();
        }
        for (k, v) in &self.hoisted_tx {
            self.tx.insert(k.clone(), v.clone());
        }
    }

    /// At a hoisted or constant rule's place in `phase`: what evaluating it
    /// would have done, but TX (already loaded) and the flow (the caller's).
    pub(crate) fn replay(&mut self, idx: usize, rule: &'r Rule, r: &Replay, phase: Phase) {
        add(&mut self.stats, &r.stats);
        self.current = Some(rule);
        self.current_idx = idx;
        // Its targets as shared values, made once per transaction.
        let (var, vars) = self.replayed[r.slot].get_or_insert_with(|| {
            let var = r.var.as_ref().map(OwnedTarget::target);
            (var, r.vars.iter().map(OwnedTarget::target).collect())
        });
        self.matched_vars.clear();
        self.matched_vars.extend(vars.iter().cloned());
        if let Some(v) = var {
            self.matched_var = Some(v.clone());
        }
        if let Some((msg, logdata)) = &r.matched {
            if let Some(s) = rule.actions.severity {
                self.highest_severity = self.highest_severity.min(s);
            }
            self.matched.push(Match {
                rule,
                phase,
                msg: msg.clone(),
                logdata: logdata.clone(),
                var: self.matched_var.clone(),
                disruptive: false,
            });
        }
    }
}
