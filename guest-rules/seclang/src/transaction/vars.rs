//! Resolving variables (rule targets and macro references) against the
//! transaction's data.

use super::{Bytes, RemoveSel, Transaction};
use crate::rule::Rule;
use crate::variables::{KeySel, VarKind, VarSpec};
use std::rc::Rc;

/// One value a rule inspects.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub kind: VarKind,
    pub key: Option<Bytes>,
    pub value: Bytes,
}

impl Target {
    /// `ARGS:id`, `REQUEST_URI`, ...
    pub fn name(&self) -> String {
        match &self.key {
            Some(k) => format!("{}:{}", self.kind.name(), String::from_utf8_lossy(k)),
            None => self.kind.name().to_string(),
        }
    }
}

fn b(s: &str) -> Bytes {
    Rc::from(s.as_bytes())
}

impl Transaction<'_> {
    /// Every (key, value) of a variable, before selection.
    pub(crate) fn entries(&self, kind: VarKind, key: &KeySel) -> Vec<(Option<Bytes>, Bytes)> {
        use VarKind::*;
        // Key selection happens here, before anything is cloned: a rule on
        // `TX:foo` must not copy the whole TX collection.
        let keep = |k: &[u8]| match key {
            KeySel::Literal(l) => l.as_bytes().eq_ignore_ascii_case(k),
            KeySel::Regex(r) => r.is_match(k),
            KeySel::All | KeySel::XPath(_) => true,
        };
        let coll = |k: VarKind| self.colls.get(&k).map(|c| c.as_slice()).unwrap_or(&[]);
        let pairs = |ks: &[VarKind]| -> Vec<(Option<Bytes>, Bytes)> {
            ks.iter()
                .flat_map(|k| coll(*k).iter())
                .filter(|(a, _)| keep(a))
                .map(|(a, v)| (Some(a.clone()), v.clone()))
                .collect()
        };
        let names = |ks: &[VarKind]| -> Vec<(Option<Bytes>, Bytes)> {
            ks.iter()
                .flat_map(|k| coll(*k).iter())
                .filter(|(a, _)| keep(a))
                .map(|(a, _)| (Some(a.clone()), a.clone()))
                .collect()
        };
        let map =
            |m: Option<&std::collections::BTreeMap<String, Bytes>>| -> Vec<(Option<Bytes>, Bytes)> {
                let Some(m) = m else { return Vec::new() };
                if let KeySel::Literal(l) = key {
                    // Keys of these collections are stored lower-case.
                    return m
                        .get(l.as_str())
                        .map(|v| vec![(Some(b(l)), v.clone())])
                        .unwrap_or_default();
                }
                m.iter()
                    .filter(|(k, _)| keep(k.as_bytes()))
                    .map(|(k, v)| (Some(b(k)), v.clone()))
                    .collect()
            };
        match kind {
            Args => pairs(&[ArgsGet, ArgsPost]),
            ArgsGet | ArgsPost | RequestHeaders | RequestCookies | ResponseHeaders | Files
            | FilesSizes | MultipartPartHeaders => pairs(&[kind]),
            ArgsNames => names(&[ArgsGet, ArgsPost]),
            ArgsGetNames => names(&[ArgsGet]),
            ArgsPostNames => names(&[ArgsPost]),
            RequestHeadersNames => names(&[RequestHeaders]),
            RequestCookiesNames => names(&[RequestCookies]),
            ResponseHeadersNames => names(&[ResponseHeaders]),
            FilesNames => names(&[Files]),
            FilesTmpnames | Env | Geo => Vec::new(),
            Tx => map(Some(&self.tx)),
            Ip | Global | Session | User | Resource => {
                map(self.persistent.get(&kind.name().to_ascii_lowercase()))
            }
            MatchedVars => self
                .matched_vars
                .iter()
                .map(|(n, v)| (Some(b(n)), v.clone()))
                .collect(),
            MatchedVarsNames => self
                .matched_vars
                .iter()
                .map(|(n, _)| (Some(b(n)), b(n)))
                .collect(),
            MatchedVar => self
                .matched_var
                .iter()
                .map(|(_, v)| (None, v.clone()))
                .collect(),
            MatchedVarName => self.matched_var.iter().map(|(n, _)| (None, b(n))).collect(),
            HighestSeverity => vec![(None, b(&self.highest_severity.to_string()))],
            Xml => {
                let xpath = match key {
                    KeySel::XPath(x) => x.as_str(),
                    _ => "",
                };
                let key = Some(b(xpath));
                let tag =
                    |v: Vec<Bytes>| v.into_iter().map(|v| (key.clone(), v)).collect::<Vec<_>>();
                match xpath {
                    // The CRS forms: each text node, each attribute value.
                    "/*" => tag(self.xml_text.clone()),
                    "//@*" => tag(self.xml_attrs.clone()),
                    "" => tag(self
                        .xml_text
                        .iter()
                        .chain(self.xml_attrs.iter())
                        .cloned()
                        .collect()),
                    x => match crate::bodyprocessors::xml::select(&self.xml_elements, x) {
                        Some(vals) => tag(vals.iter().map(|v| Rc::from(v.as_slice())).collect()),
                        None => Vec::new(),
                    },
                }
            }
            _ => self
                .scalars
                .get(&kind)
                .map(|v| vec![(None, v.clone())])
                .unwrap_or_default(),
        }
    }

    /// The values a rule link inspects: its targets, minus its exclusions and
    /// the targets removed by ctl for this rule.
    pub(crate) fn resolve_targets(
        &self,
        rule: &Rule,
        targets: &[VarSpec],
        exclusions: &[VarSpec],
    ) -> Vec<Target> {
        let mut extra: Vec<&VarSpec> = Vec::new();
        for (sel, specs) in &self.removed_targets {
            if self.selects(sel, rule) {
                extra.extend(specs.iter());
            }
        }
        let mut out = Vec::new();
        for spec in targets {
            let entries = self.entries(spec.kind, &spec.key);
            let selected = entries.into_iter().filter(|(k, _)| {
                if matches!(spec.kind, VarKind::Xml) {
                    return true;
                }
                let key_ok = match (&spec.key, k) {
                    (KeySel::All, _) => true,
                    (sel, Some(k)) => sel.matches_bytes(k),
                    (_, None) => false,
                };
                key_ok
                    && !exclusions.iter().chain(extra.iter().copied()).any(|x| {
                        x.kind == spec.kind
                            && match (&x.key, k) {
                                (KeySel::All, _) => true,
                                (sel, Some(k)) => sel.matches_bytes(k),
                                (_, None) => false,
                            }
                    })
            });
            if spec.count {
                let n = selected.count();
                out.push(Target {
                    kind: spec.kind,
                    key: None,
                    value: b(&n.to_string()),
                });
            } else {
                out.extend(selected.map(|(key, value)| Target {
                    kind: spec.kind,
                    key,
                    value,
                }));
            }
        }
        out
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
                    .find(|(k, _)| match (&sel, k) {
                        (KeySel::All, _) | (KeySel::XPath(_), _) => true,
                        (s, Some(k)) => s.matches_bytes(k),
                        _ => false,
                    })
                    .map(|(_, v)| v.to_vec())
                    .unwrap_or_default()
            }
        }
    }

    /// Expands a macro against the current state.
    pub(crate) fn expand(&self, m: &crate::macros::Macro) -> Vec<u8> {
        if let Some(t) = m.literal_text() {
            return t;
        }
        m.expand(&mut |n, k| self.macro_value(n, k))
    }
}
