//! The run-time half of the [`crate::prefilter`]: scanning a variable's
//! values once, filling the slots the reached rules need, and asking whether
//! a rule may match.

use super::eval::{UNCACHED_MAX, transform_uncached};
use super::vars::Target;
use super::{Bytes, FastHasher, Transaction};
use crate::operators::atoi;
use crate::prefilter::{ByteGate, Group, Prefilter, sources};
use crate::transform::ByteSet;
use crate::variables::{KeySel, VarKind};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// One value of a variable, scanned once with the automaton of all literals.
struct ScannedValue {
    value: Bytes,
    /// The bytes it holds (to tell which transformation lists leave it as is).
    bytes: ByteSet,
    /// Where the patterns of the global automaton found in it (each once)
    /// are in [`KindScan::patterns`].
    patterns: (u32, u32),
}

/// What the global scan saw in one value.
pub(crate) struct Scanned<'a> {
    scan: &'a KindScan,
    value: &'a ScannedValue,
}

impl Scanned<'_> {
    /// The bytes the value holds.
    pub(crate) fn bytes(&self) -> ByteSet {
        self.value.bytes
    }

    /// Patterns of the global automaton found in it, each once.
    fn patterns(&self) -> &[u32] {
        self.scan.patterns(self.value)
    }
}

/// A variable's scanned values, valid while its data stamp is unchanged.
/// A transaction keeps its scans' storage from one request to the next.
#[derive(Default)]
pub(crate) struct KindScan {
    stamp: u64,
    values: Vec<ScannedValue>,
    /// The patterns of every value, one range each.
    patterns: Vec<u32>,
    /// Value (by the address of its shared bytes) to its index in `values`.
    index: HashMap<usize, u32, BuildHasherDefault<FastHasher>>,
    /// Every byte the values hold (for the byte gates), and the data stamp
    /// that is true of.
    union: Option<(u64, ByteSet)>,
}

/// Empties a transaction's prefilter state: scans (keeping room for `keep`
/// values each), slot stamps and bits.
pub(crate) fn reset(
    scans: &mut [Option<KindScan>],
    stamps: &mut [u64],
    bits: &mut [u64],
    keep: usize,
) {
    scans.iter_mut().flatten().for_each(|s| s.clear(keep));
    stamps.fill(STALE);
    bits.fill(0);
}

/// Room the prefilter reuses from one scan or slot to the next: one bit
/// per pattern of the global automaton and a list of the set ones. Both
/// are left empty (all bits clear) after each use.
pub(crate) struct Scratch {
    seen: Vec<u64>,
    distinct: Vec<u32>,
}

impl Scratch {
    /// Room for `patterns` patterns (those of the global automaton).
    pub(crate) fn new(patterns: usize) -> Scratch {
        Scratch {
            seen: vec![0; patterns.div_ceil(64)],
            distinct: Vec::new(),
        }
    }

    /// Marks `p` seen; true unless it was marked since its bit was last
    /// cleared.
    #[inline]
    fn first(&mut self, p: u32) -> bool {
        let (w, m) = (p as usize / 64, 1u64 << (p % 64));
        let new = self.seen[w] & m == 0;
        self.seen[w] |= m;
        new
    }

    /// Clears the bits of `patterns`, which must hold every bit set.
    fn unsee(&mut self, patterns: &[u32]) {
        clear_words(&mut self.seen, patterns);
    }

    /// Clears `distinct` and its bits (every bit set).
    fn forget_distinct(&mut self) {
        clear_words(&mut self.seen, &self.distinct);
        self.distinct.clear();
    }
}

/// Zeroes the words of `seen` that hold the bits of `patterns`.
fn clear_words(seen: &mut [u64], patterns: &[u32]) {
    for &p in patterns {
        seen[p as usize / 64] = 0;
    }
}

/// A slot filled from more values than this gathers their patterns first
/// (see [`Transaction::fill_slot`]).
const GATHER_OVER: usize = 8;

/// No data has this stamp (stamps are sums of two `u32` counters).
const STALE: u64 = u64::MAX;

impl KindScan {
    fn patterns(&self, sv: &ScannedValue) -> &[u32] {
        &self.patterns[sv.patterns.0 as usize..sv.patterns.1 as usize]
    }

    /// Forgets the values (they hold request data), keeping room for at
    /// most `keep` of them.
    pub(crate) fn clear(&mut self, keep: usize) {
        self.stamp = STALE;
        self.values.clear();
        self.values.shrink_to(keep);
        self.patterns.clear();
        self.patterns.shrink_to(keep);
        self.index.clear();
        self.index.shrink_to(keep);
        self.union = None;
    }
}

impl Transaction<'_> {
    /// False when the prefilter shows that the first link of rule `idx`
    /// (index into the rule set) cannot match the current data.
    pub(crate) fn may_match(&mut self, idx: usize) -> bool {
        let rs = self.rs;
        if let Some(c) = &rs.prefilter.tx_compares[idx] {
            let v = self.tx.get(c.key.as_str());
            let left = match (c.count, v) {
                (true, v) => i64::from(v.is_some()),
                (false, Some(v)) => atoi(v),
                (false, None) => return false,
            };
            return c.cmp.holds(left, c.rhs);
        }
        if let Some(Some(gate)) = rs.prefilter.byte_gates.get(idx)
            && !self.gate_open(gate)
        {
            return false;
        }
        let Some(f) = &rs.prefilter.rules[idx] else {
            return true;
        };
        let word = (f.bit / 64) as usize;
        let mask = 1u64 << (f.bit % 64);
        f.slots.iter().any(|&s| {
            self.fill_slot(s as usize);
            let off = rs.prefilter.slots[s as usize].offset as usize;
            self.pf_bits[off + word] & mask != 0
        })
    }

    /// `value` (of variable `kind`) as the last global scan of the variable
    /// saw it, if it did. What a scan found in a value stays true of it
    /// after the variable's data changed: values are immutable, and the
    /// scan holds a reference to each (so an address is not reused).
    pub(crate) fn scanned(&self, kind: VarKind, value: &Bytes) -> Option<Scanned<'_>> {
        let scan = self.pf_scans[kind as usize].as_ref()?;
        let &i = scan.index.get(&(value.as_ptr() as usize))?;
        let sv = &scan.values[i as usize];
        Bytes::ptr_eq(&sv.value, value).then_some(Scanned { scan, value: sv })
    }

    /// True when the prefilter shows that scanned value `sv` (before
    /// transformations) cannot match the first link of prefiltered rule
    /// `idx`: the rule's transformations leave it unchanged up to case and
    /// the global scan found none of the rule's literals in it. False when
    /// that is not known.
    pub(crate) fn value_lacks_literals(&self, idx: usize, sv: &Scanned<'_>) -> bool {
        let pf = &self.rs.prefilter;
        let Some(f) = &pf.rules[idx] else {
            return false;
        };
        let group = pf.slots[f.slots[0] as usize].group;
        let unchanged = pf.groups[group as usize]
            .triggers
            .is_some_and(|t| !t.intersects(sv.bytes()));
        unchanged
            && !sv.patterns().iter().any(|&p| {
                pf.global_bits[p as usize]
                    .binary_search(&(group, f.bit))
                    .is_ok()
            })
    }

    /// The data stamp of a variable: changes whenever its sources change.
    fn stamp(&self, kind: VarKind) -> u64 {
        let (a, b) = sources(kind);
        let mut s = u64::from(self.kind_gen[a as usize]);
        if let Some(b) = b {
            s += u64::from(self.kind_gen[b as usize]);
        }
        s
    }

    /// True when a value the gated rule reads holds one of the gate's bytes.
    fn gate_open(&mut self, gate: &ByteGate) -> bool {
        gate.targets.iter().any(|(kind, key)| {
            let bytes = match key {
                None => self.kind_bytes(*kind),
                Some(key) => self
                    .entries(*kind, key)
                    .iter()
                    .fold(ByteSet::default(), |b, t| b.union(ByteSet::of(&t.value))),
            };
            bytes.intersects(gate.bytes)
        })
    }

    /// Drops from the first link's `values` of gated rule `idx` those of
    /// every variable it reads whole whose values hold none of the gate's
    /// bytes: none of them can match (another variable opened the gate).
    pub(crate) fn drop_closed_kinds(&mut self, idx: usize, values: &mut Vec<Target<'_>>) {
        let Some(Some(gate)) = self.rs.prefilter.byte_gates.get(idx) else {
            return;
        };
        // One bit per variable (fewer than 128 of them): no allocation here.
        const _: () = assert!(VarKind::COUNT <= 128);
        let mut closed = 0u128;
        for (kind, key) in &gate.targets {
            if key.is_none() && !self.kind_bytes(*kind).intersects(gate.bytes) {
                closed |= 1 << *kind as u32;
            }
        }
        if closed != 0 {
            values.retain(|t| closed & (1 << t.kind as u32) == 0);
        }
    }

    /// Every byte the values of `kind` hold (all its keys; XML: text nodes
    /// and attribute values), worked out once per change of its data.
    fn kind_bytes(&mut self, kind: VarKind) -> ByteSet {
        let stamp = self.stamp(kind);
        if let Some(scan) = &self.pf_scans[kind as usize]
            && let Some((s, bytes)) = scan.union
            && s == stamp
        {
            return bytes;
        }
        self.scan_kind(kind, stamp);
        let scan = self.pf_scans[kind as usize]
            .as_mut()
            .expect("scanned above");
        let bytes = scan
            .values
            .iter()
            .fold(ByteSet::default(), |b, v| b.union(v.bytes));
        scan.union = Some((stamp, bytes));
        bytes
    }

    /// Scans the values of `kind` with the global automaton, unless done for
    /// its current data.
    fn scan_kind(&mut self, kind: VarKind, stamp: u64) {
        if self.pf_scans[kind as usize]
            .as_ref()
            .is_some_and(|s| s.stamp == stamp)
        {
            return;
        }
        self.stats.slots_filled += 1;
        let key = all_values(kind);
        let entries = self.entries(kind, &key);
        let mut scan = self.pf_scans[kind as usize].take().unwrap_or_default();
        scan.clear(usize::MAX);
        scan.stamp = stamp;
        let pf = &self.rs.prefilter;
        let seen = &mut self.pf_scratch;
        for t in entries {
            let from = scan.patterns.len();
            if let Some(global) = &pf.global {
                for m in global.find_overlapping_iter(&t.value[..]) {
                    let p = m.pattern().as_usize() as u32;
                    if seen.first(p) {
                        scan.patterns.push(p);
                    }
                }
                seen.unsee(&scan.patterns[from..]);
            }
            let i = scan.values.len() as u32;
            scan.index.insert(t.value.as_ptr() as usize, i);
            scan.values.push(ScannedValue {
                bytes: ByteSet::of(&t.value),
                value: t.value,
                patterns: (from as u32, scan.patterns.len() as u32),
            });
        }
        self.pf_scans[kind as usize] = Some(scan);
    }

    /// Fills slot `s` (one group, one variable) unless done for its data.
    ///
    /// A value that the group's transformations leave unchanged up to ASCII
    /// case (no trigger byte in it, or equal after transforming) takes its
    /// bits from the variable's global scan; any other value is transformed
    /// (every intermediate value for `multiMatch`) and scanned with the
    /// group's own automaton.
    fn fill_slot(&mut self, s: usize) {
        let pf = &self.rs.prefilter;
        let slot = &pf.slots[s];
        let stamp = self.stamp(slot.kind);
        if self.pf_slot_stamp[s] == stamp {
            return;
        }
        self.pf_slot_stamp[s] = stamp;
        self.scan_kind(slot.kind, stamp);
        let g = slot.group;
        let group = &pf.groups[g as usize];
        let off = slot.offset as usize;
        self.pf_bits[off..off + group.words].fill(0);
        let scan = self.pf_scans[slot.kind as usize]
            .take()
            .expect("scanned above");
        self.stats.slot_fills += 1;
        self.stats.slot_values += scan.values.len() as u32;
        // Over many values (a JSON body's), the global scan's patterns of
        // those taken as they are are gathered first, each once: the values
        // share most of theirs, and a pattern's bits in this group are looked
        // up once. Over a few, marking them costs more than it saves.
        let gather = scan.values.len() > GATHER_OVER;
        for sv in &scan.values {
            let unchanged = group.triggers.is_some_and(|t| !t.intersects(sv.bytes))
                || (!group.multi && self.transformed_unchanged(group, off, &sv.value, sv.bytes));
            if !unchanged {
                self.stats.slot_rescans += 1;
            }
            // The value itself, as the global scan found it: all there is to
            // scan when it is unchanged, the first of multiMatch's values.
            // (A changed value without multiMatch was scanned above.)
            if unchanged || group.multi {
                if gather {
                    let seen = &mut self.pf_scratch;
                    for &p in scan.patterns(sv) {
                        if seen.first(p) {
                            seen.distinct.push(p);
                        }
                    }
                } else {
                    set_global_bits(pf, g, scan.patterns(sv), &mut self.pf_bits[off..]);
                }
            }
            if !unchanged && group.multi {
                let bits = &mut self.pf_bits[off..];
                group.transforms.run(&sv.value, Some(sv.bytes), |step| {
                    scan_group(group, step, bits);
                });
            }
        }
        set_global_bits(pf, g, &self.pf_scratch.distinct, &mut self.pf_bits[off..]);
        self.pf_scratch.forget_distinct();
        self.pf_scans[slot.kind as usize] = Some(scan);
    }

    /// A group without multiMatch: true when its transformations leave `value` unchanged up
    /// to ASCII case (its bits then come from the global scan); otherwise the transformed
    /// value is scanned with the group's automaton into the slot's bits at `off`. `bytes`:
    /// the bytes `value` holds.
    fn transformed_unchanged(
        &mut self,
        group: &Group,
        off: usize,
        value: &Bytes,
        bytes: ByteSet,
    ) -> bool {
        let long;
        let short;
        let t: &[u8] = if value.len() <= UNCACHED_MAX {
            short = transform_uncached(&group.transforms, value, Some(bytes));
            short.as_deref().unwrap_or(value)
        } else {
            long = self.transform_with(group.chain, &group.transforms, value, Some(bytes));
            &long
        };
        if t.eq_ignore_ascii_case(value) {
            return true;
        }
        scan_group(group, t, &mut self.pf_bits[off..]);
        false
    }
}

/// The selector of every value of `kind`. XML: text nodes and attribute
/// values together (a slot serves both `XML:/*` and `XML://@*`).
fn all_values(kind: VarKind) -> KeySel {
    if kind == VarKind::Xml {
        KeySel::XPath(String::new())
    } else {
        KeySel::All
    }
}

fn set_bit(bits: &mut [u64], bit: u32) {
    bits[(bit / 64) as usize] |= 1 << (bit % 64);
}

/// Sets in `bits` the rule bits of every literal of `group` found in `value`.
fn scan_group(group: &Group, value: &[u8], bits: &mut [u64]) {
    for m in group.ac.find_overlapping_iter(value) {
        for &bit in &group.pattern_bits[m.pattern().as_usize()] {
            set_bit(bits, bit);
        }
    }
}

/// Sets in `bits` the rule bits of group `g` that the global scan's
/// `patterns` (found in one value) stand for.
fn set_global_bits(pf: &Prefilter, g: u32, patterns: &[u32], bits: &mut [u64]) {
    for &p in patterns {
        let hits = &pf.global_bits[p as usize];
        let from = hits.partition_point(|&(hg, _)| hg < g);
        for &(_, bit) in hits[from..].iter().take_while(|&&(hg, _)| hg == g) {
            set_bit(bits, bit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Scratch;

    #[test]
    fn scratch_marks_each_pattern_once_and_is_left_clear() {
        let mut s = Scratch::new(200);
        let found = [3, 130, 3, 64, 130, 199];
        let firsts: Vec<bool> = found.iter().map(|&p| s.first(p)).collect();
        assert_eq!(firsts, [true, true, false, true, false, true]);
        s.unsee(&[3, 130, 64, 199]);
        assert!(s.seen.iter().all(|&w| w == 0), "clear after unsee");
        for p in [7, 7, 150] {
            if s.first(p) {
                s.distinct.push(p);
            }
        }
        assert_eq!(s.distinct, [7, 150]);
        s.forget_distinct();
        assert!(s.distinct.is_empty() && s.seen.iter().all(|&w| w == 0));
    }
}
