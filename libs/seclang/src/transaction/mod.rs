//! A transaction: one request/response pair evaluated against a [`RuleSet`].
//!
//! Call order (the five phases, [`Phase`]):
//! 1. [`Transaction::process_connection`], [`Transaction::process_uri`],
//!    [`Transaction::add_request_header`]...
//! 2. [`Transaction::process_request_headers`] — phase 1.
//! 3. [`Transaction::append_request_body`], then
//!    [`Transaction::process_request_body`] — body processor, phase 2.
//! 4. [`Transaction::add_response_header`]..., [`Transaction::process_response_headers`] — phase 3.
//! 5. [`Transaction::append_response_body`], [`Transaction::process_response_body`] — phase 4.
//! 6. [`Transaction::process_logging`] — phase 5, always runs.
//!
//! Results: [`Transaction::matched_rules`] (the rules that matched, with
//! `logged` telling which would be logged), [`Transaction::intervention`] and
//! [`Transaction::tx_var`] (for anomaly scores).

mod derived;
mod eval;
pub(crate) mod hoist;
mod prefilter;
mod request;
mod vars;

use crate::actions::AllowScope;
use crate::config::EngineMode;
use crate::phase::Phase;
use crate::ruleset::RuleSet;
use crate::variables::{VarKind, VarSpec};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// A fast, non-cryptographic hasher for the per-transaction transformation
/// cache (keys are request data, but the cache lives for one request and is
/// bounded by the request's size, so collisions cost an attacker's own request
/// time only).
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // Final avalanche (MurmurHash3's fmix64): the table indexes by the low
        // bits, which the multiply alone leaves depending on few input bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
}

/// One slot per variable, indexed by `VarKind as usize` (no hashing).
pub(crate) struct ByKind<T>(Vec<T>);

impl<T: Default> ByKind<T> {
    fn new() -> Self {
        ByKind((0..VarKind::COUNT).map(|_| T::default()).collect())
    }

    fn get_mut(&mut self, k: VarKind) -> &mut T {
        &mut self.0[k as usize]
    }
}

impl ByKind<Option<Bytes>> {
    /// The scalar's value, if set.
    pub(crate) fn get(&self, k: &VarKind) -> Option<&Bytes> {
        self.0[*k as usize].as_ref()
    }
}

impl ByKind<Coll> {
    /// The collection (empty when nothing was added).
    pub(crate) fn get(&self, k: &VarKind) -> Option<&Coll> {
        Some(&self.0[*k as usize])
    }
}

/// TX and the other named collections: keys lower-case, and shared, so that
/// loading the hoisted TX into a transaction copies no key.
pub(crate) type VarMap = HashMap<Rc<str>, Bytes, BuildHasherDefault<FastHasher>>;

/// Bytes shared cheaply inside a transaction.
pub(crate) type Bytes = Rc<[u8]>;

/// An ordered list of key/value pairs (keys compared case-insensitively).
pub(crate) type Coll = Vec<(Bytes, Bytes)>;

/// A rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    /// Rule id.
    pub id: u32,
    /// Phase it ran in.
    pub phase: Phase,
    /// Expanded msg.
    pub msg: String,
    /// Expanded logdata.
    pub logdata: String,
    /// Severity 0-7, if set.
    pub severity: Option<u8>,
    /// Tags.
    pub tags: Vec<String>,
    /// The value that matched last.
    pub matched_data: String,
    /// Its variable name, e.g. `ARGS:id`.
    pub matched_var_name: String,
    /// True unless the rule has `nolog`.
    pub logged: bool,
    /// True when the rule's disruptive action was enforced.
    pub disruptive: bool,
}

/// Counts of the work a transaction did (for profiling and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvalStats {
    /// Rules (chain starters) reached in a phase's list.
    pub rules_seen: u32,
    /// Rules the prefilter showed could not match (not run).
    pub rules_skipped: u32,
    /// Rules whose first link ran.
    pub rules_run: u32,
    /// Operator calls.
    pub operator_calls: u32,
    /// Values not given to an operator: they hold none of its required bytes.
    pub bytes_skipped: u32,
    /// Variables whose values the prefilter scanned (once per change of their data).
    pub slots_filled: u32,
    /// Prefilter slots (transformation list, variable) filled.
    pub slot_fills: u32,
    /// Values those slot fills went through.
    pub slot_values: u32,
    /// Of those, values transformed and scanned again (not unchanged).
    pub slot_rescans: u32,
}

/// A rule that matched, as recorded during evaluation (what it costs to
/// build a [`MatchedRule`] is paid only when one is asked for).
pub(crate) struct Match<'r> {
    pub rule: &'r crate::rule::Rule,
    pub phase: Phase,
    pub msg: String,
    pub logdata: String,
    pub var: Option<vars::Target<'r>>,
    pub disruptive: bool,
}

impl Match<'_> {
    fn to_matched_rule(&self) -> MatchedRule {
        let a = &self.rule.actions;
        MatchedRule {
            id: self.rule.id,
            phase: self.phase,
            msg: self.msg.clone(),
            logdata: self.logdata.clone(),
            severity: a.severity,
            tags: a.tags.clone(),
            matched_data: self
                .var
                .as_ref()
                .map(|v| String::from_utf8_lossy(&v.value).into_owned())
                .unwrap_or_default(),
            matched_var_name: self.var.as_ref().map(|v| v.name()).unwrap_or_default(),
            logged: self.rule.log,
            disruptive: self.disruptive,
        }
    }
}

/// What the engine decided to do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervention {
    /// HTTP status to answer with.
    pub status: u16,
    /// `deny`, `drop` or `redirect`.
    pub action: String,
    /// Redirect target.
    pub url: Option<String>,
    /// The rule that decided.
    pub rule_id: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum RemoveSel {
    Ids(Vec<(u32, u32)>),
    Tag(String),
    Msg(String),
}

/// One transaction. Not shareable between threads; cheap to create.
pub struct Transaction<'r> {
    pub(crate) rs: &'r RuleSet,
    pub(crate) engine: EngineMode,
    pub(crate) request_body_access: bool,
    pub(crate) response_body_access: bool,
    pub(crate) force_request_body: bool,
    pub(crate) body_processor: Option<String>,
    pub(crate) scalars: ByKind<Option<Bytes>>,
    pub(crate) colls: ByKind<Coll>,
    pub(crate) xml_text: Vec<Bytes>,
    pub(crate) xml_attrs: Vec<Bytes>,
    pub(crate) xml_elements: Vec<crate::bodyprocessors::xml::XmlElement>,
    pub(crate) tx: VarMap,
    /// The TX the hoisted rules leave, shared (made at the first load).
    pub(crate) hoisted_tx: Vec<(Rc<str>, Bytes)>,
    /// Per replay slot of the rule set: the targets it sets, made at its
    /// first replay (the rule set's, the same for every request).
    pub(crate) replayed: Vec<Option<hoist::ReplayedTargets<'r>>>,
    /// Phase 1 has started (the hoisted TX is loaded): constant rules may
    /// be replayed.
    pub(crate) constants: bool,
    pub(crate) persistent: HashMap<String, VarMap>,
    pub(crate) request_body: Vec<u8>,
    pub(crate) response_body: Vec<u8>,
    pub(crate) matched_var: Option<vars::Target<'r>>,
    pub(crate) matched_vars: Vec<vars::Target<'r>>,
    /// Reused buffer for a rule link's values.
    pub(crate) targets_buf: Vec<vars::Target<'r>>,
    pub(crate) removed: Vec<RemoveSel>,
    pub(crate) removed_targets: Vec<(RemoveSel, Vec<VarSpec>)>,
    /// Transformation results per (transformation list, value identity). The
    /// original value is kept alive in the entry, so its address cannot be
    /// reused by another value while the transaction lives.
    pub(crate) cache: HashMap<(u32, usize), (Bytes, Bytes), BuildHasherDefault<FastHasher>>,
    pub(crate) matched: Vec<Match<'r>>,
    pub(crate) intervention: Option<Intervention>,
    pub(crate) allow: Option<AllowScope>,
    /// The last phase run (`None`: none yet).
    pub(crate) last_phase: Option<Phase>,
    pub(crate) highest_severity: u8,
    pub(crate) current: Option<&'r crate::rule::Rule>,
    /// Index of `current` in the rule set.
    pub(crate) current_idx: usize,
    /// Per variable: bumped whenever its data changes (prefilter slots are
    /// stale when a source's count moved).
    pub(crate) kind_gen: [u32; VarKind::COUNT],
    /// Per variable: its values as the prefilter's global scan saw them.
    pub(crate) pf_scans: Vec<Option<prefilter::KindScan>>,
    /// Per prefilter slot: the data stamp its bits were filled for
    /// (`u64::MAX`: not yet).
    pub(crate) pf_slot_stamp: Vec<u64>,
    /// The prefilter slots' bits.
    pub(crate) pf_bits: Vec<u64>,
    /// Room the prefilter reuses (always left empty).
    pub(crate) pf_scratch: prefilter::Scratch,
    pub(crate) stats: EvalStats,
    /// When the transaction started (DURATION).
    pub(crate) started: std::time::Instant,
}

/// Most body buffer capacity [`Transaction::reset`] keeps.
const KEEP_BODY_BYTES: usize = 64 * 1024;

/// Most entries of a list or table (a collection, TX, the transformation
/// cache, ...) [`Transaction::reset`] keeps room for.
const KEEP_ENTRIES: usize = 1024;

/// Empties `v`, keeping room for at most `keep` items: a request with a large
/// body or thousands of arguments does not leave its memory to every later one.
fn clear_keeping<T>(v: &mut Vec<T>, keep: usize) {
    v.clear();
    v.shrink_to(keep);
}

/// Empties `m`, keeping room for at most [`KEEP_ENTRIES`] entries.
fn clear_map<K: Eq + std::hash::Hash, V, S: std::hash::BuildHasher>(m: &mut HashMap<K, V, S>) {
    m.clear();
    m.shrink_to(KEEP_ENTRIES);
}

fn rc(b: &[u8]) -> Bytes {
    Rc::from(b)
}

impl<'r> Transaction<'r> {
    /// A new transaction; `unique_id` becomes UNIQUE_ID.
    pub fn new(rs: &'r RuleSet, unique_id: &str) -> Self {
        let c = &rs.config;
        let mut t = Transaction {
            rs,
            engine: c.rule_engine,
            request_body_access: c.request_body_access,
            response_body_access: c.response_body_access,
            force_request_body: false,
            body_processor: None,
            scalars: ByKind::new(),
            colls: ByKind::new(),
            xml_text: Vec::new(),
            xml_attrs: Vec::new(),
            xml_elements: Vec::new(),
            // The CRS sets some 100 TX variables per request: no rehashing.
            tx: VarMap::with_capacity_and_hasher(128, Default::default()),
            hoisted_tx: Vec::new(),
            replayed: (0..rs.hoisted.slots).map(|_| None).collect(),
            constants: false,
            persistent: HashMap::new(),
            request_body: Vec::new(),
            response_body: Vec::new(),
            matched_var: None,
            matched_vars: Vec::new(),
            targets_buf: Vec::new(),
            removed: Vec::new(),
            removed_targets: Vec::new(),
            cache: HashMap::default(),
            matched: Vec::new(),
            intervention: None,
            allow: None,
            last_phase: None,
            highest_severity: 255,
            current: None,
            current_idx: 0,
            kind_gen: [0; VarKind::COUNT],
            pf_scans: (0..VarKind::COUNT).map(|_| None).collect(),
            pf_slot_stamp: vec![u64::MAX; rs.prefilter.slots.len()],
            pf_bits: vec![0; rs.prefilter.words],
            pf_scratch: prefilter::Scratch::new(rs.prefilter.global_bits.len()),
            stats: EvalStats::default(),
            started: std::time::Instant::now(),
        };
        t.set(VarKind::UniqueId, unique_id.as_bytes());
        t
    }

    /// Makes this transaction a new one for `unique_id`, as
    /// [`Transaction::new`] would, keeping the memory it had (its tables and
    /// lists keep their capacity): cheaper than a new transaction per request.
    pub fn reset(&mut self, unique_id: &str) {
        // Every field by name, so a new field cannot be forgotten here.
        let Transaction {
            rs,
            engine,
            request_body_access,
            response_body_access,
            force_request_body,
            body_processor,
            scalars,
            colls,
            xml_text,
            xml_attrs,
            xml_elements,
            tx,
            hoisted_tx: _, // the rule set's, the same for every request
            replayed: _,   // likewise
            constants,
            persistent,
            request_body,
            response_body,
            matched_var,
            matched_vars,
            targets_buf,
            removed,
            removed_targets,
            cache,
            matched,
            intervention,
            allow,
            last_phase,
            highest_severity,
            current,
            current_idx,
            kind_gen,
            pf_scans,
            pf_slot_stamp,
            pf_bits,
            pf_scratch: _, // left empty after each use
            stats,
            started,
        } = self;
        let c = &rs.config;
        *engine = c.rule_engine;
        *request_body_access = c.request_body_access;
        *response_body_access = c.response_body_access;
        *force_request_body = false;
        *body_processor = None;
        scalars.0.iter_mut().for_each(|v| *v = None);
        colls
            .0
            .iter_mut()
            .for_each(|c| clear_keeping(c, KEEP_ENTRIES));
        clear_keeping(xml_text, KEEP_ENTRIES);
        clear_keeping(xml_attrs, KEEP_ENTRIES);
        clear_keeping(xml_elements, KEEP_ENTRIES);
        clear_map(tx);
        *constants = false;
        persistent.clear();
        clear_keeping(request_body, KEEP_BODY_BYTES);
        clear_keeping(response_body, KEEP_BODY_BYTES);
        *matched_var = None;
        clear_keeping(matched_vars, KEEP_ENTRIES);
        clear_keeping(targets_buf, KEEP_ENTRIES);
        removed.clear();
        removed_targets.clear();
        clear_map(cache);
        clear_keeping(matched, KEEP_ENTRIES);
        *intervention = None;
        *allow = None;
        *last_phase = None;
        *highest_severity = 255;
        *current = None;
        *current_idx = 0;
        *kind_gen = [0; VarKind::COUNT];
        prefilter::reset(pf_scans, pf_slot_stamp, pf_bits, KEEP_ENTRIES);
        *stats = EvalStats::default();
        *started = std::time::Instant::now();
        self.set(VarKind::UniqueId, unique_id.as_bytes());
    }

    pub(crate) fn set(&mut self, k: VarKind, v: &[u8]) {
        self.kind_gen[k as usize] += 1;
        *self.scalars.get_mut(k) = Some(rc(v));
    }

    fn push(&mut self, k: VarKind, key: &[u8], v: &[u8]) {
        self.kind_gen[k as usize] += 1;
        self.colls.get_mut(k).push((rc(key), rc(v)));
    }

    /// Adds a response header.
    pub fn add_response_header(&mut self, name: &str, value: &[u8]) {
        self.push(VarKind::ResponseHeaders, name.as_bytes(), value);
        if name.eq_ignore_ascii_case("content-type") {
            self.set(VarKind::ResponseContentType, value);
        }
        if name.eq_ignore_ascii_case("content-length") {
            self.set(VarKind::ResponseContentLength, value);
        }
    }

    /// Runs phase 3 (response headers).
    pub fn process_response_headers(&mut self, status: u16, protocol: &str) {
        self.set(VarKind::ResponseStatus, status.to_string().as_bytes());
        self.set(VarKind::ResponseProtocol, protocol.as_bytes());
        self.set(
            VarKind::StatusLine,
            format!("{protocol} {status}").as_bytes(),
        );
        self.run_phase(Phase::ResponseHeaders);
    }

    /// Appends response body bytes.
    pub fn append_response_body(&mut self, data: &[u8]) {
        self.response_body.extend_from_slice(data);
    }

    /// True when the response body will be inspected (access on and the
    /// content type listed in SecResponseBodyMimeType).
    pub fn response_body_wanted(&self) -> bool {
        if !self.response_body_access {
            return false;
        }
        let ct = self
            .scalars
            .get(&VarKind::ResponseContentType)
            .map(|v| String::from_utf8_lossy(v).to_ascii_lowercase());
        let mime = ct
            .as_deref()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        self.rs.config.response_body_mime_types.contains(&mime)
    }

    /// Runs phase 4 (response body).
    pub fn process_response_body(&mut self) {
        if self.response_body_wanted() {
            let limit = self.rs.config.response_body_limit as usize;
            let body = std::mem::take(&mut self.response_body);
            let end = body.len().min(limit);
            self.set(VarKind::ResponseBody, &body[..end]);
            self.response_body = body;
        }
        self.run_phase(Phase::ResponseBody);
    }

    /// Runs phase 5 (logging).
    pub fn process_logging(&mut self) {
        self.run_phase(Phase::Logging);
    }

    /// Rules that matched, in order.
    pub fn matched_rules(&self) -> Vec<MatchedRule> {
        self.matched_rules_from(0)
    }

    /// Rules that matched, in order, from the `from`th on (to report only
    /// what a later phase added).
    pub fn matched_rules_from(&self, from: usize) -> Vec<MatchedRule> {
        self.matched
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .map(Match::to_matched_rule)
            .collect()
    }

    /// The logged rules (no `nolog`) that matched, from the `from`th match on.
    pub fn logged_rules_from(&self, from: usize) -> Vec<MatchedRule> {
        self.matched
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .filter(|m| m.rule.log)
            .map(Match::to_matched_rule)
            .collect()
    }

    /// How many rules matched so far.
    pub fn matched_count(&self) -> usize {
        self.matched.len()
    }

    /// The disruptive decision, if any (only when the engine is On).
    pub fn intervention(&self) -> Option<&Intervention> {
        self.intervention.as_ref()
    }

    /// A TX variable (e.g. `blocking_inbound_anomaly_score`).
    pub fn tx_var(&self, name: &str) -> Option<String> {
        self.tx
            .get(name.to_ascii_lowercase().as_str())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// How much work the transaction did so far.
    pub fn stats(&self) -> EvalStats {
        self.stats
    }

    /// The engine mode in effect (ctl:ruleEngine may change it).
    pub fn engine_mode(&self) -> EngineMode {
        self.engine
    }
}

#[cfg(test)]
mod tests;
