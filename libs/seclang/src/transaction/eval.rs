//! Evaluating rules: phases, chains, transformations (cached), operators,
//! side effects, logging and disruptive actions.

use super::vars::Target;
use super::{Bytes, Intervention, Match, RemoveSel, Transaction};
use crate::actions::{AllowScope, Ctl, Disruptive, Effect, SetOp, SetVar};
use crate::config::EngineMode;
use crate::operators::{OpContext, Operator, atoi};
use crate::phase::Phase;
use crate::rule::{Rule, RuleKind};
use crate::transform::{ByteSet, Steps};
use std::rc::Rc;

/// Values up to this length are transformed afresh instead of cached.
pub(crate) const UNCACHED_MAX: usize = 64;

/// Longest logdata kept, as ModSecurity does.
const LOGDATA_MAX: usize = 512;

/// A link's test: its operator, negated or not, and the bytes one of which
/// a value must hold to match (when the operator knows them).
struct LinkTest<'o> {
    op: &'o dyn Operator,
    negate: bool,
    need: Option<ByteSet>,
}

impl<'r> Transaction<'r> {
    /// Runs one phase's rules (once per phase; logging may run again).
    pub(crate) fn run_phase(&mut self, phase: Phase) {
        let logging = phase == Phase::Logging;
        if !logging && self.last_phase.is_some_and(|last| phase <= last) {
            return;
        }
        self.last_phase = Some(phase);
        if self.engine == EngineMode::Off {
            return;
        }
        if self.intervention.is_some() && !logging {
            return;
        }
        match self.allow {
            Some(AllowScope::All) if !logging => return,
            Some(AllowScope::Request) if phase <= Phase::RequestBody => return,
            _ => {}
        }
        let rs = self.rs;
        let hoisted = phase == Phase::RequestHeaders && rs.hoisted.count() > 0;
        if hoisted {
            self.load_hoisted();
        }
        if phase == Phase::RequestHeaders {
            self.constants = true;
        }
        let list = &rs.phases[phase.index()];
        let mut i = 0;
        let mut skip = 0u32;
        while i < list.len() {
            let idx = list[i];
            let rule = &rs.rules[idx];
            i += 1;
            if rule.marker().is_some() {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if self.removed.iter().any(|s| self.selects(s, rule)) {
                continue;
            }
            if hoisted && let Some(r) = &rs.hoisted.replay[idx] {
                self.replay(idx, rule, r, phase);
                continue;
            }
            let hit = match &rs.hoisted.constant[idx] {
                Some(r) if self.constants && !self.targets_removed(rule) => {
                    self.replay(idx, rule, r, phase);
                    r.hit
                }
                _ => self.try_rule(idx, rule, phase),
            };
            if !hit {
                continue;
            }
            if rule.actions.skip_after.is_some() {
                i = rs.skip_to[phase.index()][i - 1];
            } else if rule.actions.skip > 0 {
                skip = rule.actions.skip;
            }
            if self.intervention.is_some() && !logging {
                break;
            }
            if self.allow.is_some() && !logging {
                break;
            }
        }
        if self.allow == Some(AllowScope::Phase) {
            self.allow = None;
        }
        self.current = None;
    }

    /// Rule `idx` of the rule set, unless the prefilter shows it cannot
    /// match; true when it matched.
    pub(crate) fn try_rule(&mut self, idx: usize, rule: &'r Rule, phase: Phase) -> bool {
        self.stats.rules_seen += 1;
        if !self.may_match(idx) {
            self.stats.rules_skipped += 1;
            // As a rule that ran and did not match.
            self.current = Some(rule);
            self.matched_vars.clear();
            return false;
        }
        self.current_idx = idx;
        self.eval_rule(rule, phase)
    }

    /// Evaluates a rule with its chain; true when the whole chain matched.
    fn eval_rule(&mut self, rule: &'r Rule, phase: Phase) -> bool {
        self.stats.rules_run += 1;
        self.current = Some(rule);
        self.matched_vars.clear();
        let mut link = rule;
        loop {
            if !self.eval_link(rule, link) {
                return false;
            }
            match &link.chain {
                Some(next) => link = next,
                None => break,
            }
        }
        self.record_match(rule, phase);
        true
    }

    fn record_match(&mut self, rule: &'r Rule, phase: Phase) {
        let a = &rule.actions;
        let msg = a
            .msg
            .as_ref()
            .map(|m| lossy(&self.expand(m)))
            .unwrap_or_default();
        let mut logdata = a
            .logdata
            .as_ref()
            .map(|m| lossy(&self.expand(m)))
            .unwrap_or_default();
        if logdata.len() > LOGDATA_MAX {
            let mut end = LOGDATA_MAX;
            while !logdata.is_char_boundary(end) {
                end -= 1;
            }
            logdata.truncate(end);
        }
        if let Some(s) = a.severity {
            self.highest_severity = self.highest_severity.min(s);
        }
        let enforce = self.engine == EngineMode::On && phase != Phase::Logging;
        let mut disruptive = false;
        if enforce {
            match &rule.disruptive {
                Disruptive::Deny | Disruptive::Drop => {
                    let drop = matches!(rule.disruptive, Disruptive::Drop);
                    self.intervention = Some(Intervention {
                        status: a.status.unwrap_or(403),
                        action: if drop { "drop" } else { "deny" }.into(),
                        url: None,
                        rule_id: rule.id,
                    });
                    disruptive = true;
                }
                Disruptive::Redirect(m) => {
                    let url = lossy(&self.expand(m));
                    let status = a
                        .status
                        .filter(|s| matches!(s, 301 | 302 | 303 | 307 | 308))
                        .unwrap_or(302);
                    self.intervention = Some(Intervention {
                        status,
                        action: "redirect".into(),
                        url: Some(url),
                        rule_id: rule.id,
                    });
                    disruptive = true;
                }
                Disruptive::Allow(scope) => self.allow = Some(*scope),
                Disruptive::Pass | Disruptive::Block => {}
            }
        }
        self.matched.push(Match {
            rule,
            phase,
            msg,
            logdata,
            var: self.matched_var.clone(),
            disruptive,
        });
    }

    /// Evaluates one chain link; runs its side effects once per matched value.
    fn eval_link(&mut self, starter: &'r Rule, link: &'r Rule) -> bool {
        let (targets, exclusions, op, negate) = match &link.kind {
            RuleKind::Marker(_) => return false,
            RuleKind::Action => {
                self.run_effects(link);
                return true;
            }
            RuleKind::Rule {
                targets,
                exclusions,
                op,
                negate,
                ..
            } => (targets, exclusions, op.as_ref(), *negate),
        };
        let mut values = std::mem::take(&mut self.targets_buf);
        values.clear();
        self.resolve_targets(starter, targets, exclusions, &mut values);
        let mut found: Vec<Target<'r>> = Vec::new();
        let first = std::ptr::eq(starter, link);
        if first {
            self.drop_closed_kinds(self.current_idx, &mut values);
        }
        let test = LinkTest {
            op,
            negate,
            need: op.required_bytes(),
        };
        for t in &values {
            let scanned = self.scanned(t.kind, &t.value);
            // The first link of a prefiltered rule: values that cannot hold
            // one of its literals are not transformed nor tested.
            if first
                && scanned
                    .as_ref()
                    .is_some_and(|sv| self.value_lacks_literals(self.current_idx, sv))
            {
                continue;
            }
            // The bytes of the value, once for the transformations' triggers
            // and the operator's required bytes.
            let raw = scanned.map_or_else(|| ByteSet::of(&t.value), |sv| sv.bytes());
            self.eval_value(link, &test, t, raw, &mut found);
        }
        values.clear();
        self.targets_buf = values;
        if found.is_empty() {
            return false;
        }
        self.matched_vars = found;
        true
    }

    /// One value of a link: transformed (every step with multiMatch), then
    /// tested; each match goes to `found` and runs the link's side effects.
    /// `raw`: the bytes the value holds.
    #[inline(always)]
    fn eval_value(
        &mut self,
        link: &'r Rule,
        test: &LinkTest<'_>,
        t: &Target<'r>,
        raw: ByteSet,
        found: &mut Vec<Target<'r>>,
    ) {
        let single;
        let steps;
        let candidates: &[Bytes] = if link.actions.multi_match {
            steps = self.transform_steps(link, &t.value, raw);
            &steps
        } else {
            single = [self.transform(link, &t.value, raw)];
            &single
        };
        for v in candidates {
            // A value without any byte the operator requires cannot match.
            if let Some(need) = test.need {
                let bytes = if Bytes::ptr_eq(v, &t.value) {
                    raw
                } else {
                    ByteSet::of(v)
                };
                if !need.intersects(bytes) {
                    self.stats.bytes_skipped += 1;
                    if !test.negate {
                        continue;
                    }
                }
            }
            let (hit, caps) = self.run_operator(link, test, v);
            self.stats.operator_calls += 1;
            if !hit {
                continue;
            }
            if link.actions.capture && !caps.is_empty() {
                self.store_captures(&caps);
            }
            let m = Target {
                kind: t.kind,
                key: t.key.clone(),
                value: v.clone(),
            };
            self.matched_var = Some(m.clone());
            found.push(m);
            self.run_effects(link);
            if !link.actions.multi_match {
                break;
            }
        }
    }

    /// The link's operator on `v` (negated with `!`): whether it matched,
    /// and the groups it captured when the link has `capture`.
    #[inline(always)]
    fn run_operator(&self, link: &Rule, test: &LinkTest<'_>, v: &Bytes) -> (bool, Vec<Vec<u8>>) {
        let mut expand = |m: &crate::macros::Macro| self.expand_shared(m);
        let mut ctx = OpContext {
            capture: link.actions.capture,
            captures: Vec::new(),
            expand: &mut expand,
        };
        let hit = test.op.evaluate(&mut ctx, v) != test.negate;
        (hit, ctx.captures)
    }

    /// `capture`: TX.0 to TX.9 become the groups of the last match.
    fn store_captures(&mut self, caps: &[Vec<u8>]) {
        const KEYS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
        for (i, key) in KEYS.iter().enumerate() {
            match caps.get(i) {
                Some(c) => {
                    let v: Bytes = Rc::from(c.as_slice());
                    match self.tx.get_mut(*key) {
                        Some(slot) => *slot = v,
                        None => {
                            self.tx.insert(Rc::from(*key), v);
                        }
                    }
                }
                None => {
                    self.tx.remove(*key);
                }
            }
        }
    }

    /// Applies the link's transformations, cached per (transformation list,
    /// value); `raw` is the bytes `value` holds.
    fn transform(&mut self, link: &Rule, value: &Bytes, raw: ByteSet) -> Bytes {
        if link
            .transforms
            .triggers()
            .is_some_and(|t| !t.intersects(raw))
        {
            return value.clone();
        }
        self.transform_with(link.transform_chain, &link.transforms, value, Some(raw))
    }

    /// Applies `transforms` (interned as `chain`), cached per (chain, value);
    /// `raw` is the bytes `value` holds, when known.
    pub(crate) fn transform_with(
        &mut self,
        chain: u32,
        transforms: &Steps,
        value: &Bytes,
        raw: Option<ByteSet>,
    ) -> Bytes {
        if transforms.is_empty() {
            return value.clone();
        }
        // Short values: recomputing is cheaper than a cache probe (most
        // transformations return their input untouched, allocating nothing).
        let key = (value.len() > UNCACHED_MAX).then_some((chain, value.as_ptr() as usize));
        if let Some(key) = key
            && let Some((orig, v)) = self.cache.get(&key)
            && orig.len() == value.len()
        {
            return v.clone();
        }
        let out =
            transform_uncached(transforms, value, raw).map_or_else(|| value.clone(), Rc::from);
        if let Some(key) = key {
            self.cache.insert(key, (value.clone(), out.clone()));
        }
        out
    }

    /// multiMatch: the value before and after each transformation that changed it.
    fn transform_steps(&mut self, link: &Rule, value: &Bytes, raw: ByteSet) -> Vec<Bytes> {
        if link
            .transforms
            .triggers()
            .is_some_and(|t| !t.intersects(raw))
        {
            return vec![value.clone()];
        }
        let mut out = vec![value.clone()];
        link.transforms
            .run(value, Some(raw), |step| out.push(Rc::from(step)));
        out
    }

    fn run_effects(&mut self, link: &Rule) {
        for e in &link.actions.effects {
            match e {
                Effect::SetVar(sv) => self.set_var(sv),
                Effect::Ctl(c) => self.apply_ctl(c),
                Effect::InitCol => {}
            }
        }
    }

    /// `setvar`: sets, adds to, subtracts from or deletes a collection's key.
    fn set_var(&mut self, sv: &SetVar) {
        let raw_key;
        let lower;
        let key: &str = match &sv.literal_key {
            Some(k) => k,
            None => {
                raw_key = self.expand_cow(&sv.key);
                match std::str::from_utf8(&raw_key) {
                    Ok(k) if !k.bytes().any(|c| c.is_ascii_uppercase()) => k,
                    _ => {
                        lower = lossy(&raw_key).to_ascii_lowercase();
                        &lower
                    }
                }
            }
        };
        let value = self.expand_cow(&sv.value);
        let coll = if sv.collection == "tx" {
            &mut self.tx
        } else {
            self.persistent.entry(sv.collection.clone()).or_default()
        };
        let new: Option<Bytes> = match sv.op {
            SetOp::Set => Some(Rc::from(&value[..])),
            SetOp::Add | SetOp::Sub => {
                let cur = coll.get(key).map(|v| atoi(v)).unwrap_or(0);
                let d = atoi(&value);
                let n = if sv.op == SetOp::Add {
                    cur.saturating_add(d)
                } else {
                    cur.saturating_sub(d)
                };
                let mut digits = [0u8; 24];
                Some(Rc::from(decimal(n, &mut digits)))
            }
            SetOp::Delete => None,
        };
        match (new, coll.get_mut(key)) {
            (Some(v), Some(slot)) => *slot = v,
            (Some(v), None) => {
                coll.insert(Rc::from(key), v);
            }
            (None, _) => {
                coll.remove(key);
            }
        }
    }

    fn apply_ctl(&mut self, c: &Ctl) {
        match c {
            Ctl::RuleRemoveById(r) => self.removed.push(RemoveSel::Ids(r.clone())),
            Ctl::RuleRemoveByTag(t) => self.removed.push(RemoveSel::Tag(t.clone())),
            Ctl::RuleRemoveByMsg(m) => self.removed.push(RemoveSel::Msg(m.clone())),
            Ctl::RuleRemoveTargetById(r, v) => self
                .removed_targets
                .push((RemoveSel::Ids(r.clone()), v.clone())),
            Ctl::RuleRemoveTargetByTag(t, v) => self
                .removed_targets
                .push((RemoveSel::Tag(t.clone()), v.clone())),
            Ctl::RuleRemoveTargetByMsg(m, v) => self
                .removed_targets
                .push((RemoveSel::Msg(m.clone()), v.clone())),
            Ctl::RuleEngine(m) => self.engine = *m,
            Ctl::RequestBodyProcessor(p) => {
                self.body_processor = Some(p.clone());
                self.set(crate::variables::VarKind::ReqbodyProcessor, p.as_bytes());
            }
            Ctl::RequestBodyAccess(b) => self.request_body_access = *b,
            Ctl::ResponseBodyAccess(b) => self.response_body_access = *b,
            Ctl::ForceRequestBodyVariable(b) => self.force_request_body = *b,
            Ctl::RequestBodyLimit | Ctl::Audit => {}
        }
    }
}

/// `transforms` applied to `value` (`raw`: the bytes it holds, when known)
/// without the cache: `None` when they leave it as it is.
pub(crate) fn transform_uncached(
    transforms: &Steps,
    value: &[u8],
    raw: Option<ByteSet>,
) -> Option<Vec<u8>> {
    transforms
        .run(value, raw, |_| {})
        .filter(|v| v.as_slice() != value)
}

/// `n` in decimal, written at the end of `buf` (no allocation).
fn decimal(n: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimal_writes_as_to_string_does() {
        for n in [
            0,
            7,
            -7,
            10,
            1_000,
            -1_000,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut buf = [0u8; 24];
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }
}
