//! Resolving variables (rule targets and macro references) against the
//! transaction's data, without copying values (they are shared `Rc`s) and
//! without allocating for the common single-value targets.

use super::{Bytes, RemoveSel, Transaction, VarMap};
use crate::rule::Rule;
use crate::variables::{KeySel, VarKind, VarSpec};
use std::rc::Rc;

/// The key of a value: none (scalars), the data's own key, or a literal key
/// borrowed from the rule that selected it (`TX:score`).
#[derive(Debug, Clone)]
pub(crate) enum Key<'k> {
    None,
    Bytes(Bytes),
    Str(&'k str),
    /// A collection's own key (TX, IP, ...), shared, not copied.
    Name(Rc<str>),
}

/// One value a rule inspects.
#[derive(Debug, Clone)]
pub(crate) struct Target<'k> {
    pub kind: VarKind,
    pub key: Key<'k>,
    pub value: Bytes,
}

impl Target<'_> {
    /// `ARGS:id`, `REQUEST_URI`, ...
    pub(crate) fn name(&self) -> String {
        match &self.key {
            Key::Bytes(k) => format!("{}:{}", self.kind.name(), String::from_utf8_lossy(k)),
            Key::Str(k) => format!("{}:{}", self.kind.name(), k),
            Key::Name(k) => format!("{}:{}", self.kind.name(), k),
            Key::None => self.kind.name().to_string(),
        }
    }

    /// The key's bytes, if any.
    pub(crate) fn key_bytes(&self) -> Option<&[u8]> {
        match &self.key {
            Key::Bytes(k) => Some(k),
            Key::Str(k) => Some(k.as_bytes()),
            Key::Name(k) => Some(k.as_bytes()),
            Key::None => None,
        }
    }
}

fn b(s: &str) -> Bytes {
    Rc::from(s.as_bytes())
}

/// True when `sel` selects the (possibly absent) key.
fn key_selected(sel: &KeySel, key: Option<&[u8]>) -> bool {
    match (sel, key) {
        (KeySel::All, _) => true,
        (sel, Some(k)) => sel.matches_bytes(k),
        (_, None) => false,
    }
}

/// The entries of a named collection (TX, IP, ...) that `key` selects, in
/// key order whatever the map's own order.
fn map_into<'k>(kind: VarKind, key: &'k KeySel, m: &VarMap, out: &mut Vec<Target<'k>>) {
    if let KeySel::Literal(l) = key {
        // Keys of these collections are stored lower-case.
        if let Some(v) = m.get(l.as_str()) {
            out.push(Target {
                kind,
                key: Key::Str(l),
                value: v.clone(),
            });
        }
        return;
    }
    // Straight into `out`, then put in key order: no list of its own, and
    // each key shared with the map rather than copied.
    let from = out.len();
    for (k, v) in m.iter().filter(|(k, _)| key_kept(key, k.as_bytes())) {
        out.push(Target {
            kind,
            key: Key::Name(Rc::clone(k)),
            value: v.clone(),
        });
    }
    out[from..].sort_unstable_by(|a, b| a.key_bytes().cmp(&b.key_bytes()));
}

/// True when a collection key is kept by `key` (XML and whole-collection
/// selectors keep every key).
#[inline]
fn key_kept(key: &KeySel, k: &[u8]) -> bool {
    match key {
        KeySel::Literal(l) => l.as_bytes().eq_ignore_ascii_case(k),
        KeySel::Regex(r) => r.is_match(k),
        KeySel::All | KeySel::XPath(_) => true,
    }
}

impl<'r> Transaction<'r> {
    /// Appends every value of variable `kind` that `key` selects to `out`
    /// (XML: every value of the XPath).
    pub(crate) fn entries_into<'k>(
        &self,
        kind: VarKind,
        key: &'k KeySel,
        out: &mut Vec<Target<'k>>,
    ) {
        use VarKind::*;
        match kind {
            Args => self.pairs_into(kind, key, &[ArgsGet, ArgsPost], false, out),
            ArgsGet | ArgsPost | RequestHeaders | RequestCookies | ResponseHeaders | Files
            | FilesSizes | MultipartPartHeaders => self.pairs_into(kind, key, &[kind], false, out),
            ArgsNames => self.pairs_into(kind, key, &[ArgsGet, ArgsPost], true, out),
            ArgsGetNames => self.pairs_into(kind, key, &[ArgsGet], true, out),
            ArgsPostNames => self.pairs_into(kind, key, &[ArgsPost], true, out),
            RequestHeadersNames => self.pairs_into(kind, key, &[RequestHeaders], true, out),
            RequestCookiesNames => self.pairs_into(kind, key, &[RequestCookies], true, out),
            ResponseHeadersNames => self.pairs_into(kind, key, &[ResponseHeaders], true, out),
            FilesNames => self.pairs_into(kind, key, &[Files], true, out),
            FilesTmpnames | Env | Geo => {}
            Tx => map_into(kind, key, &self.tx, out),
            Ip | Global | Session | User | Resource => {
                if let Some(m) = self.persistent.get(&kind.name().to_ascii_lowercase()) {
                    map_into(kind, key, m, out);
                }
            }
            MatchedVars | MatchedVarsNames => self.matched_vars_into(kind, key, out),
            MatchedVar | MatchedVarName => {
                if let Some(m) = &self.matched_var {
                    let value = if kind == MatchedVar {
                        m.value.clone()
                    } else {
                        b(&m.name())
                    };
                    out.push(Target {
                        kind,
                        key: Key::None,
                        value,
                    });
                }
            }
            HighestSeverity => out.push(Target {
                kind,
                key: Key::None,
                value: b(&self.highest_severity.to_string()),
            }),
            Xml => self.xml_into(key, out),
            Time | TimeEpoch | TimeDay | TimeHour | TimeMin | TimeSec | TimeMon | TimeWday
            | TimeYear | Duration | RemoteHost | AuthType | RemoteUser | FullRequest
            | FullRequestLength => self.derived_into(kind, out),
            _ => {
                if let Some(v) = self.scalars.get(&kind) {
                    out.push(Target {
                        kind,
                        key: Key::None,
                        value: v.clone(),
                    });
                }
            }
        }
    }

    /// The pairs of the collections `sources` whose keys `key` keeps, as
    /// values of `kind`: their values, or their names (`names`).
    #[inline]
    fn pairs_into<'k>(
        &self,
        kind: VarKind,
        key: &KeySel,
        sources: &[VarKind],
        names: bool,
        out: &mut Vec<Target<'k>>,
    ) {
        for k in sources {
            let coll = self.colls.get(k).map(|c| c.as_slice()).unwrap_or(&[]);
            for (a, v) in coll {
                if key_kept(key, a) {
                    out.push(Target {
                        kind,
                        key: Key::Bytes(a.clone()),
                        value: if names { a.clone() } else { v.clone() },
                    });
                }
            }
        }
    }

    /// MATCHED_VARS (values) or MATCHED_VARS_NAMES, keyed by variable name.
    fn matched_vars_into(&self, kind: VarKind, key: &KeySel, out: &mut Vec<Target<'_>>) {
        for m in &self.matched_vars {
            let n = b(&m.name());
            if !key_kept(key, &n) {
                continue;
            }
            let value = if kind == VarKind::MatchedVars {
                m.value.clone()
            } else {
                n.clone()
            };
            out.push(Target {
                kind,
                key: Key::Bytes(n),
                value,
            });
        }
    }

    /// The values of an XPath (the CRS forms `/*` and `//@*` directly, others
    /// through the XML processor's elements), keyed by the XPath.
    fn xml_into(&self, key: &KeySel, out: &mut Vec<Target<'_>>) {
        let xpath = match key {
            KeySel::XPath(x) => x.as_str(),
            _ => "",
        };
        let k = b(xpath);
        let mut tag = |v: &Bytes| {
            out.push(Target {
                kind: VarKind::Xml,
                key: Key::Bytes(k.clone()),
                value: v.clone(),
            })
        };
        match xpath {
            // The CRS forms: each text node, each attribute value.
            "/*" => self.xml_text.iter().for_each(&mut tag),
            "//@*" => self.xml_attrs.iter().for_each(&mut tag),
            "" => self
                .xml_text
                .iter()
                .chain(self.xml_attrs.iter())
                .for_each(&mut tag),
            x => {
                if let Some(vals) = crate::bodyprocessors::xml::select(&self.xml_elements, x) {
                    for v in vals {
                        tag(&Rc::from(v.as_slice()));
                    }
                }
            }
        }
    }

    /// Every (key, value) of a variable that `key` selects.
    pub(crate) fn entries<'k>(&self, kind: VarKind, key: &'k KeySel) -> Vec<Target<'k>> {
        let mut out = Vec::new();
        self.entries_into(kind, key, &mut out);
        out
    }

    /// Appends the values a rule link inspects to `out`: its targets, minus
    /// its exclusions and the targets removed by ctl for this rule.
    pub(crate) fn resolve_targets(
        &self,
        rule: &Rule,
        targets: &'r [VarSpec],
        exclusions: &'r [VarSpec],
        out: &mut Vec<Target<'r>>,
    ) {
        let mut extra: Vec<&VarSpec> = Vec::new();
        for (sel, specs) in &self.removed_targets {
            if self.selects(sel, rule) {
                extra.extend(specs.iter());
            }
        }
        for spec in targets {
            let start = out.len();
            self.entries_into(spec.kind, &spec.key, out);
            if spec.kind != VarKind::Xml {
                // Keep, in order, the values selected and not excluded.
                let mut w = start;
                for i in start..out.len() {
                    let k = out[i].key_bytes();
                    // Collections are filtered by key where they are read
                    // (entries_into); a value without a key (a scalar) is
                    // selected only by the whole variable.
                    let ok = (k.is_some() || matches!(spec.key, KeySel::All))
                        && !exclusions
                            .iter()
                            .chain(extra.iter().copied())
                            .any(|x| x.kind == spec.kind && key_selected(&x.key, k));
                    if ok {
                        out.swap(w, i);
                        w += 1;
                    }
                }
                out.truncate(w);
            }
            if spec.count {
                let n = out.len() - start;
                out.truncate(start);
                out.push(Target {
                    kind: spec.kind,
                    key: Key::None,
                    value: b(&n.to_string()),
                });
            }
        }
    }

    /// True when a `ctl` removed targets of `rule`.
    pub(crate) fn targets_removed(&self, rule: &Rule) -> bool {
        (self.removed_targets.iter()).any(|(sel, _)| self.selects(sel, rule))
    }

    pub(crate) fn selects(&self, sel: &RemoveSel, rule: &Rule) -> bool {
        match sel {
            RemoveSel::Ids(r) => r.iter().any(|(a, b)| (*a..=*b).contains(&rule.id)),
            RemoveSel::Tag(t) => rule.actions.tags.iter().any(|x| x == t),
            RemoveSel::Msg(m) => rule
                .actions
                .msg
                .as_ref()
                .and_then(|x| x.literal_text())
                .is_some_and(|x| x == m.as_bytes()),
        }
    }

    /// Resolves `%{name.key}`.
    pub(crate) fn macro_value(&self, name: &str, key: Option<&str>) -> Vec<u8> {
        match (name, key) {
            ("rule", Some(k)) => {
                let Some(r) = self.current else {
                    return Vec::new();
                };
                match k {
                    "id" => r.id.to_string().into_bytes(),
                    "phase" => r.phase.to_string().into_bytes(),
                    "severity" => r
                        .actions
                        .severity
                        .map(|s| s.to_string().into_bytes())
                        .unwrap_or_default(),
                    "msg" => r
                        .actions
                        .msg
                        .as_ref()
                        .and_then(|m| m.literal_text())
                        .unwrap_or_default(),
                    "ver" => r.actions.ver.clone().unwrap_or_default().into_bytes(),
                    "rev" => r.actions.rev.clone().unwrap_or_default().into_bytes(),
                    _ => Vec::new(),
                }
            }
            ("tx", Some(k)) => self.tx.get(k).map(|v| v.to_vec()).unwrap_or_default(),
            _ => {
                let Some(kind) = VarKind::from_name(name) else {
                    return Vec::new();
                };
                let sel = match key {
                    Some(k) if kind == VarKind::Xml => KeySel::XPath(k.to_string()),
                    Some(k) => KeySel::Literal(k.to_string()),
                    None => KeySel::All,
                };
                self.entries(kind, &sel)
                    .into_iter()
                    .find(|t| match (&sel, t.key_bytes()) {
                        (KeySel::All, _) | (KeySel::XPath(_), _) => true,
                        (s, Some(k)) => s.matches_bytes(k),
                        _ => false,
                    })
                    .map(|t| t.value.to_vec())
                    .unwrap_or_default()
            }
        }
    }

    /// Expands a macro against the current state.
    pub(crate) fn expand(&self, m: &crate::macros::Macro) -> Vec<u8> {
        self.expand_cow(m).into_owned()
    }

    /// Expands a macro into a shared value: a lone `%{tx.key}` is TX's own
    /// value (no copy).
    pub(crate) fn expand_shared(&self, m: &crate::macros::Macro) -> Bytes {
        if let [crate::macros::Part::Var { name, key: Some(k) }] = m.parts()
            && name == "tx"
        {
            return self
                .tx
                .get(k.as_str())
                .cloned()
                .unwrap_or_else(|| Rc::from(&[][..]));
        }
        Rc::from(self.expand_cow(m).as_ref())
    }

    /// Expands a macro, borrowing it when it is literal.
    pub(crate) fn expand_cow<'m>(&self, m: &'m crate::macros::Macro) -> std::borrow::Cow<'m, [u8]> {
        match m.as_literal() {
            Some(t) => std::borrow::Cow::Borrowed(t),
            None => {
                let mut out = Vec::new();
                m.expand_into(&mut out, &mut |n, k, out| match (n, k) {
                    // TX, the common case, without a buffer of its own.
                    ("tx", Some(k)) => {
                        if let Some(v) = self.tx.get(k) {
                            out.extend_from_slice(v);
                        }
                    }
                    _ => out.extend(self.macro_value(n, k)),
                });
                std::borrow::Cow::Owned(out)
            }
        }
    }
}
