//! Prefilter: skip rules that cannot match, with one scan per variable
//! instead of one operator call per (rule, value).
//!
//! At load time ([`Prefilter::build`]), every rule whose first link
//!
//! - uses an operator that knows its *required literals* (`@rx` through
//!   [`literals`], `@pm`, `@contains`, `@streq`, ... with a fixed argument),
//!   not made only of bytes ordinary values are full of, and is not negated,
//! - reads only request or response data that no rule can change
//!   (`ARGS`, `REQUEST_HEADERS`, `REQUEST_FILENAME`, ...; not `TX`, not
//!   `MATCHED_VAR`, not a count `&VAR`)
//!
//! gets a bit in the group of its transformation list (`multiMatch` rules in
//! a group of their own). A group holds one Aho-Corasick automaton over the
//! literals of its rules (ASCII-case-insensitive: a superset of every
//! operator's own matching); one global automaton holds them all.
//!
//! At run time (`transaction/prefilter.rs`) a variable's values are scanned
//! once with the global automaton per change of its data. A *slot* is one
//! (group, variable) pair, filled when a reached rule needs it: a value the
//! group's transformations leave unchanged up to case (no trigger byte in it)
//! takes its bits from the global scan; any other value is transformed (every
//! intermediate value for `multiMatch`) and scanned with the group's
//! automaton. A rule runs only when its bit is set in one of its slots;
//! otherwise none of its values can contain a required literal, its first link
//! cannot match, and skipping it changes nothing. Rules comparing one TX
//! variable with a fixed number (`TxCompare`) are tested directly. A rule
//! whose operator names its *required bytes* (literals or not) has a
//! [`ByteGate`]: it is skipped while no value it reads holds one of them or
//! a byte its transformations react to (each variable's bytes come from its
//! global scan). Every other rule runs as before.

pub(crate) mod bytes;
pub(crate) mod literals;

use crate::operators::automaton_kind;
use crate::operators::{Compare, Operator};
use crate::rule::{Rule, RuleKind};
use crate::transform::{ByteSet, Steps};
use crate::variables::{KeySel, VarKind, VarSpec};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::collections::HashMap;

/// One transformation list and the literals of the rules that use it.
#[derive(Debug)]
pub(crate) struct Group {
    /// Interned id of the transformation list.
    pub chain: u32,
    /// The transformations, in order.
    pub transforms: Steps,
    /// Bytes that can make `transforms` change a value beyond ASCII case
    /// (`None`: any value may change).
    pub triggers: Option<ByteSet>,
    /// The rules have `multiMatch`: every intermediate value is scanned.
    pub multi: bool,
    /// All literals of the group's rules.
    pub ac: AhoCorasick,
    /// Per pattern of `ac`: the rule bits it stands for.
    pub pattern_bits: Vec<Vec<u32>>,
    /// 64-bit words a slot of this group needs.
    pub words: usize,
}

/// One (group, variable) pair some rule reads.
#[derive(Debug)]
pub(crate) struct Slot {
    /// Index into [`Prefilter::groups`].
    pub group: u32,
    /// The variable whose values are scanned.
    pub kind: VarKind,
    /// First word of this slot's bits in the transaction's bit array.
    pub offset: u32,
}

/// A prefiltered rule: its bit, and the slots that may set it.
#[derive(Debug)]
pub(crate) struct RuleFilter {
    /// Bit index within the group.
    pub bit: u32,
    /// Indices into [`Prefilter::slots`].
    pub slots: Vec<u32>,
}

/// A rule whose first link compares one TX variable (or whether it exists,
/// `&TX:name`) with a fixed number and has no transformations: tested
/// directly, the full evaluation runs only when the comparison holds.
#[derive(Debug)]
pub(crate) struct TxCompare {
    /// The TX key, lower-case.
    pub key: String,
    /// `&TX:key`: compare 1 or 0 (present or not).
    pub count: bool,
    pub cmp: Compare,
    pub rhs: i64,
}

impl TxCompare {
    fn of(r: &Rule) -> Option<TxCompare> {
        let RuleKind::Rule {
            targets,
            exclusions,
            op,
            negate,
            ..
        } = &r.kind
        else {
            return None;
        };
        let [t] = targets.as_slice() else {
            return None;
        };
        let KeySel::Literal(key) = &t.key else {
            return None;
        };
        if *negate
            || !exclusions.is_empty()
            || t.kind != VarKind::Tx
            || t.exclude
            || !r.transforms.is_empty()
            || r.actions.multi_match
        {
            return None;
        }
        let (cmp, rhs) = op.numeric_compare()?;
        Some(TxCompare {
            key: key.clone(),
            count: t.count,
            cmp,
            rhs,
        })
    }
}

/// Everything the transactions need to skip rules.
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    pub groups: Vec<Group>,
    pub slots: Vec<Slot>,
    /// Per rule (index into the rule set's rules): its filter, if any.
    pub rules: Vec<Option<RuleFilter>>,
    /// Words of bits a transaction keeps for all slots.
    pub words: usize,
    /// The literals of every group in one automaton: a value that every
    /// group's transformations leave unchanged (up to ASCII case) is scanned
    /// once for all groups.
    pub global: Option<AhoCorasick>,
    /// Per pattern of `global`: the (group, bit) pairs it stands for,
    /// sorted by group.
    pub global_bits: Vec<Vec<(u32, u32)>>,
    /// Per rule: its TX comparison, if it is one.
    pub tx_compares: Vec<Option<TxCompare>>,
    /// Per rule: its byte gate, if it has one.
    pub byte_gates: Vec<Option<ByteGate>>,
}

/// A rule whose first link's operator needs one of a few bytes (`@rx`
/// patterns such as `on[a-z]+=`, `@detectXSS`, the evasion patterns of the
/// command injections; literals or not): it cannot match while no value it
/// reads holds one of them, nor a byte that can make its transformations
/// change a value (a value without one is tested as it is).
#[derive(Debug)]
pub(crate) struct ByteGate {
    /// The operator's required bytes and the transformations' trigger bytes.
    pub bytes: ByteSet,
    /// The variables the first link reads, each once: with its key when
    /// that is a single literal key (`REQUEST_HEADERS:User-Agent`), else
    /// the whole variable.
    pub targets: Vec<(VarKind, Option<KeySel>)>,
}

impl ByteGate {
    fn of(r: &Rule) -> Option<ByteGate> {
        let (targets, op) = scannable_link(r)?;
        let bytes = op.required_bytes()?.union(r.transforms.triggers()?);
        let mut gate: Vec<(VarKind, Option<KeySel>)> = Vec::new();
        for t in targets {
            let key = matches!(t.key, KeySel::Literal(_)).then(|| t.key.clone());
            if gate.iter().any(|(k, s)| *k == t.kind && s.is_none()) {
                continue;
            }
            if key.is_none() {
                gate.retain(|(k, _)| *k != t.kind);
            }
            gate.push((t.kind, key));
        }
        Some(ByteGate {
            bytes,
            targets: gate,
        })
    }
}

/// Variables whose values no rule can change, so one scan serves every rule
/// of a phase (their data only changes between phases).
fn scannable(spec: &VarSpec) -> bool {
    use VarKind::*;
    if spec.count || spec.exclude {
        return false;
    }
    match spec.kind {
        // Only the XPath forms whose values are text nodes or attributes.
        Xml => matches!(&spec.key, KeySel::XPath(x) if x == "/*" || x == "//@*"),
        Args | ArgsGet | ArgsPost | ArgsNames | ArgsGetNames | ArgsPostNames | RequestHeaders
        | RequestHeadersNames | RequestCookies | RequestCookiesNames | RequestFilename
        | RequestBasename | RequestUri | RequestUriRaw | RequestLine | RequestMethod
        | RequestProtocol | QueryString | RequestBody | Files | FilesNames
        | MultipartPartHeaders | ResponseHeaders | ResponseHeadersNames | ResponseBody
        | ResponseContentType | ResponseProtocol | StatusLine => true,
        _ => false,
    }
}

/// The targets and operator of a rule's first link when a prefilter can
/// reason about it: not negated, reading only [`scannable`] variables.
fn scannable_link(r: &Rule) -> Option<(&[VarSpec], &dyn Operator)> {
    let RuleKind::Rule {
        targets,
        op,
        negate,
        ..
    } = &r.kind
    else {
        return None;
    };
    if *negate || targets.is_empty() || !targets.iter().all(scannable) {
        return None;
    }
    Some((targets, op.as_ref()))
}

/// The prefiltered rules of one transformation list (and multiMatch or
/// not): each rule's index with its required literals.
struct ChainMembers {
    chain: u32,
    multi: bool,
    transforms: Steps,
    members: Vec<(usize, Vec<Vec<u8>>)>,
}

/// The required literals of a rule the prefilter can skip: not negated, only
/// scannable targets, an operator that knows its literals and none of them
/// made only of bytes ordinary values are full of.
fn prefilter_literals(r: &Rule) -> Option<Vec<Vec<u8>>> {
    let (_, op) = scannable_link(r)?;
    let lits = op.required_literals()?;
    // A set holding a byte that ordinary values are full of would pass
    // nearly every value while slowing every scan: the rule just runs.
    if lits.iter().any(|l| literals::rarity(l) == 0) {
        return None;
    }
    Some(lits)
}

/// The prefiltered rules grouped by (transformation list, multiMatch), in
/// the order the lists first appear.
fn chain_members(rules: &[Rule]) -> Vec<ChainMembers> {
    let mut by_chain: Vec<ChainMembers> = Vec::new();
    let mut chain_pos: HashMap<(u32, bool), usize> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        let Some(lits) = prefilter_literals(r) else {
            continue;
        };
        let multi = r.actions.multi_match;
        let pos = *chain_pos
            .entry((r.transform_chain, multi))
            .or_insert_with(|| {
                by_chain.push(ChainMembers {
                    chain: r.transform_chain,
                    multi,
                    transforms: r.transforms.clone(),
                    members: Vec::new(),
                });
                by_chain.len() - 1
            });
        by_chain[pos].members.push((i, lits));
    }
    by_chain
}

/// A group's distinct literals, and per literal the bits (members) that
/// require it.
fn group_patterns(members: &[(usize, Vec<Vec<u8>>)]) -> (Vec<Vec<u8>>, Vec<Vec<u32>>) {
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    let mut pattern_bits: Vec<Vec<u32>> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    for (bit, (_, lits)) in members.iter().enumerate() {
        for l in lits {
            let p = *index.entry(l.clone()).or_insert_with(|| {
                patterns.push(l.clone());
                pattern_bits.push(Vec::new());
                patterns.len() - 1
            });
            pattern_bits[p].push(bit as u32);
        }
    }
    (patterns, pattern_bits)
}

/// An ASCII-case-insensitive automaton over `patterns` (`None`: too big).
fn automaton(patterns: &[Vec<u8>]) -> Option<AhoCorasick> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(automaton_kind(patterns))
        .build(patterns)
        .ok()
}

/// The prefilter while its groups are added.
struct Builder {
    pf: Prefilter,
    global_patterns: Vec<Vec<u8>>,
    global_index: HashMap<Vec<u8>, usize>,
    slot_of: HashMap<(u32, VarKind), u32>,
}

impl Builder {
    /// Adds one group (skipped when its automaton would be too big: its
    /// rules just run).
    fn add_group(&mut self, rules: &[Rule], cm: ChainMembers) {
        let (patterns, pattern_bits) = group_patterns(&cm.members);
        let Some(ac) = automaton(&patterns) else {
            return;
        };
        let group = self.pf.groups.len() as u32;
        let words = cm.members.len().div_ceil(64);
        for (p, bits) in patterns.iter().zip(&pattern_bits) {
            let g = *self.global_index.entry(p.clone()).or_insert_with(|| {
                self.global_patterns.push(p.clone());
                self.pf.global_bits.push(Vec::new());
                self.global_patterns.len() - 1
            });
            self.pf.global_bits[g].extend(bits.iter().map(|&b| (group, b)));
        }
        self.pf.groups.push(Group {
            chain: cm.chain,
            triggers: crate::transform::chain_identity_triggers(cm.transforms.fns()),
            transforms: cm.transforms,
            ac,
            pattern_bits,
            words,
            multi: cm.multi,
        });
        for (bit, (rule, _)) in cm.members.iter().enumerate() {
            let RuleKind::Rule { targets, .. } = &rules[*rule].kind else {
                continue;
            };
            let slots = self.slots_for(group, words, targets);
            self.pf.rules[*rule] = Some(RuleFilter {
                bit: bit as u32,
                slots,
            });
        }
    }

    /// The slots of a rule's targets in `group`, each (group, variable) slot
    /// made once.
    fn slots_for(&mut self, group: u32, words: usize, targets: &[VarSpec]) -> Vec<u32> {
        let mut slots = Vec::new();
        for t in targets {
            let s = *self.slot_of.entry((group, t.kind)).or_insert_with(|| {
                self.pf.slots.push(Slot {
                    group,
                    kind: t.kind,
                    offset: self.pf.words as u32,
                });
                self.pf.words += words;
                self.pf.slots.len() as u32 - 1
            });
            if !slots.contains(&s) {
                slots.push(s);
            }
        }
        slots
    }
}

impl Prefilter {
    /// Builds the groups and slots for `rules`.
    pub(crate) fn build(rules: &[Rule]) -> Prefilter {
        let mut b = Builder {
            pf: Prefilter {
                rules: (0..rules.len()).map(|_| None).collect(),
                ..Prefilter::default()
            },
            global_patterns: Vec::new(),
            global_index: HashMap::new(),
            slot_of: HashMap::new(),
        };
        for cm in chain_members(rules) {
            b.add_group(rules, cm);
        }
        let mut pf = b.pf;
        for bits in &mut pf.global_bits {
            bits.sort_unstable();
        }
        pf.tx_compares = rules.iter().map(TxCompare::of).collect();
        pf.byte_gates = rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                pf.tx_compares[i]
                    .is_none()
                    .then(|| ByteGate::of(r))
                    .flatten()
            })
            .collect();
        pf.global = automaton(&b.global_patterns);
        if pf.global.is_none() {
            // Slots take the bits of unchanged values from the global scan:
            // without it no rule can be skipped, so none is filtered.
            pf.rules.iter_mut().for_each(|r| *r = None);
        }
        pf
    }

    /// How many rules have a filter (literals, a TX comparison or a byte
    /// gate).
    pub(crate) fn filtered(&self) -> usize {
        self.rules
            .iter()
            .zip(&self.tx_compares)
            .zip(&self.byte_gates)
            .filter(|((r, c), g)| r.is_some() || c.is_some() || g.is_some())
            .count()
    }
}

/// The variables whose data a variable's values come from (a slot is stale
/// when any of them changed): one, or two for `ARGS` and `ARGS_NAMES`.
#[inline]
pub(crate) fn sources(kind: VarKind) -> (VarKind, Option<VarKind>) {
    use VarKind::*;
    match kind {
        Args | ArgsNames => (ArgsGet, Some(ArgsPost)),
        ArgsGetNames => (ArgsGet, None),
        ArgsPostNames => (ArgsPost, None),
        RequestHeadersNames => (RequestHeaders, None),
        RequestCookiesNames => (RequestCookies, None),
        ResponseHeadersNames => (ResponseHeaders, None),
        FilesNames => (Files, None),
        other => (other, None),
    }
}
