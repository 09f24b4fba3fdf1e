//! The run-time half of the [`crate::prefilter`]: filling slots and asking
//! whether a rule may match.

use super::{Bytes, Transaction};
use crate::operators::atoi;
use crate::prefilter::sources;
use crate::transform::ByteSet;
use crate::variables::{KeySel, VarKind};

impl Transaction<'_> {
    /// False when the prefilter shows that the first link of rule `idx`
    /// (index into the rule set) cannot match the current data.
    pub(crate) fn may_match(&mut self, idx: usize) -> bool {
        let rs = self.rs;
        if let Some(c) = &rs.prefilter.tx_compares[idx] {
            let v = self.tx.get(&c.key);
            let left = match (c.count, v) {
                (true, v) => i64::from(v.is_some()),
                (false, Some(v)) => atoi(v),
                (false, None) => return false,
            };
            return c.cmp.holds(left, c.rhs);
        }
        let Some(f) = &rs.prefilter.rules[idx] else {
            return true;
        };
        let word = (f.bit / 64) as usize;
        let mask = 1u64 << (f.bit % 64);
        f.slots.iter().any(|&s| {
            let slot = &rs.prefilter.slots[s as usize];
            self.fill(slot.kind);
            self.pf_bits[slot.offset as usize + word] & mask != 0
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

    /// Fills every slot of `kind` if its data changed since the last fill.
    ///
    /// Each value is scanned once with the automaton of all literals; a group
    /// whose transformations leave the value unchanged (up to ASCII case,
    /// which the scan ignores) takes its bits from that scan, the others scan
    /// their own transformed value.
    fn fill(&mut self, kind: VarKind) {
        let stamp = self.stamp(kind);
        if self.pf_stamp[kind as usize] == stamp {
            return;
        }
        self.pf_stamp[kind as usize] = stamp;
        self.stats.slots_filled += 1;
        let pf = &self.rs.prefilter;
        let slots = &pf.kind_slots[kind as usize];
        for &(g, s) in slots {
            let off = pf.slots[s as usize].offset as usize;
            let words = pf.groups[g as usize].words;
            self.pf_bits[off..off + words].fill(0);
        }
        // XML: text nodes and attribute values together (the slot serves
        // both `XML:/*` and `XML://@*`).
        let key = if kind == VarKind::Xml {
            KeySel::XPath(String::new())
        } else {
            KeySel::All
        };
        // Per value: the bits of every group as the global scan found them.
        let mut scratch = vec![0u64; pf.group_words];
        // Patterns seen in the value (each fans out to its rules once).
        let mut seen = vec![0u64; pf.global_bits.len().div_ceil(64)];
        let mut seen_list: Vec<usize> = Vec::new();
        for target in self.entries(kind, &key) {
            let v = target.value;
            scratch.fill(0);
            if let Some(global) = &pf.global {
                for m in global.find_overlapping_iter(&v[..]) {
                    let p = m.pattern().as_usize();
                    if seen[p / 64] & (1 << (p % 64)) == 0 {
                        seen[p / 64] |= 1 << (p % 64);
                        seen_list.push(p);
                    }
                }
                for p in seen_list.drain(..) {
                    seen[p / 64] = 0;
                    for &(g, bit) in &pf.global_bits[p] {
                        let at = pf.groups[g as usize].scratch + (bit / 64) as usize;
                        scratch[at] |= 1 << (bit % 64);
                    }
                }
            }
            let bytes = ByteSet::of(&v);
            for &(g, s) in slots {
                let group = &pf.groups[g as usize];
                let off = pf.slots[s as usize].offset as usize;
                // Unchanged up to case when no trigger byte is present (no
                // need to run the transformations), else compare.
                let unchanged = group.triggers.is_some_and(|t| !t.intersects(bytes)) || {
                    let t: Bytes = self.transform_with(group.chain, &group.transforms, &v);
                    if t.eq_ignore_ascii_case(&v) {
                        true
                    } else {
                        for m in group.ac.find_overlapping_iter(&t[..]) {
                            for &bit in &group.pattern_bits[m.pattern().as_usize()] {
                                self.pf_bits[off + (bit / 64) as usize] |= 1 << (bit % 64);
                            }
                        }
                        false
                    }
                };
                if unchanged {
                    let from = &scratch[group.scratch..group.scratch + group.words];
                    for (w, x) in self.pf_bits[off..off + group.words].iter_mut().zip(from) {
                        *w |= x;
                    }
                }
            }
        }
    }
}
