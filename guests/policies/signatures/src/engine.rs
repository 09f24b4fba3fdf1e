//! Compile once, match many: the enabled rules, compiled in `init`, and the
//! per-request scan.
//!
//! For each inspected value the engine
//! 1. normalises it ([`crate::decode::normalize`]),
//! 2. runs one Aho-Corasick automaton over it that holds every rule's needles,
//!    which yields the few rules that *can* match,
//! 3. runs just those rules' matchers, and records the first hit of each rule.

use crate::config::Config;
use crate::decode::normalize;
use crate::log4shell::find_jndi;
use crate::rules::{MatcherDef, RULES, RuleDef, targets};
use crate::targets::Target;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};
use std::borrow::Cow;

/// At most this many hits are reported per request.
pub const MAX_HITS: usize = 32;

/// One rule's first match in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The rule.
    pub rule: &'static RuleDef,
    /// Where, e.g. `ARGS:id`.
    pub location: String,
    /// The matched text after decoding, shortened.
    pub matched: String,
}

enum Matcher {
    Regex { re: Regex, sql_comments: bool },
    Log4Shell,
    Tokens(AhoCorasick),
}

struct Rule {
    def: &'static RuleDef,
    /// The rule's targets, widened by paranoia.
    targets: u16,
    matcher: Matcher,
}

/// The compiled, immutable rule set.
pub struct Engine {
    rules: Vec<Rule>,
    /// All needles of all rules.
    prefilter: AhoCorasick,
    /// For each prefilter pattern, the rules (indexes into `rules`) it stands for.
    needle_rules: Vec<Vec<usize>>,
}

impl Engine {
    /// Compiles the rules `config` enables.
    pub fn new(config: &Config) -> Result<Engine, String> {
        let mut rules = Vec::new();
        let mut needles: Vec<&'static str> = Vec::new();
        let mut needle_rules: Vec<Vec<usize>> = Vec::new();
        for def in RULES.iter().filter(|d| config.enables(d)) {
            let (matcher, words): (Matcher, &[&'static str]) = match def.matcher {
                MatcherDef::Regex {
                    pattern,
                    needles,
                    sql_comments,
                } => {
                    // ASCII classes and case folding, matched on bytes: the
                    // attacks are ASCII, and this keeps compiling and matching lean.
                    let re = RegexBuilder::new(pattern)
                        .unicode(false)
                        .build()
                        .map_err(|e| format!("signatures: rule {}: {e}", def.id))?;
                    (Matcher::Regex { re, sql_comments }, needles)
                }
                MatcherDef::Log4Shell => (Matcher::Log4Shell, &["${"]),
                MatcherDef::Tokens(tokens) => {
                    let ac = AhoCorasickBuilder::new()
                        .ascii_case_insensitive(true)
                        .build(tokens)
                        .map_err(|e| format!("signatures: rule {}: {e}", def.id))?;
                    (Matcher::Tokens(ac), tokens)
                }
            };
            let index = rules.len();
            for w in words {
                match needles.iter().position(|n| n == w) {
                    Some(p) => needle_rules[p].push(index),
                    None => {
                        needles.push(w);
                        needle_rules.push(vec![index]);
                    }
                }
            }
            let mut targets = def.targets;
            if config.paranoia >= 2 && targets & targets::HEADERS_MAIN != 0 {
                targets |= targets::HEADERS_OTHER;
            }
            rules.push(Rule {
                def,
                targets,
                matcher,
            });
        }
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&needles)
            .map_err(|e| format!("signatures: prefilter: {e}"))?;
        Ok(Engine {
            rules,
            prefilter,
            needle_rules,
        })
    }

    /// Ids of the enabled rules, in evaluation order.
    pub fn rule_ids(&self) -> Vec<&'static str> {
        self.rules.iter().map(|r| r.def.id).collect()
    }

    /// The first hit of every rule over `targets`, in rule order.
    pub fn scan(&self, targets: &[Target]) -> Vec<Hit> {
        self.scan_with(targets, true)
    }

    fn scan_with(&self, targets: &[Target], use_prefilter: bool) -> Vec<Hit> {
        let mut found: Vec<Option<Hit>> = vec![None; self.rules.len()];
        let mut candidates = vec![false; self.rules.len()];
        let mut hits = 0;
        for target in targets {
            if hits >= MAX_HITS {
                break;
            }
            // Skip values no open rule looks at, before paying for decoding.
            if !self
                .rules
                .iter()
                .zip(&found)
                .any(|(r, f)| f.is_none() && r.targets & target.kinds != 0)
            {
                continue;
            }
            let text = normalize(&target.value);
            if use_prefilter {
                candidates.iter_mut().for_each(|c| *c = false);
                for m in self.prefilter.find_overlapping_iter(text.as_str()) {
                    for &i in &self.needle_rules[m.pattern().as_usize()] {
                        candidates[i] = true;
                    }
                }
            } else {
                candidates.iter_mut().for_each(|c| *c = true);
            }
            let mut sql_text: Option<Cow<str>> = None;
            for (i, rule) in self.rules.iter().enumerate() {
                if !candidates[i] || found[i].is_some() || rule.targets & target.kinds == 0 {
                    continue;
                }
                let matched = match &rule.matcher {
                    Matcher::Regex {
                        re,
                        sql_comments: false,
                    } => find_regex(re, &text),
                    Matcher::Regex {
                        re,
                        sql_comments: true,
                    } => {
                        let s = sql_text.get_or_insert_with(|| strip_sql_comments(&text));
                        find_regex(re, s)
                    }
                    Matcher::Log4Shell => find_jndi(&text),
                    Matcher::Tokens(ac) => find_token(ac, &text),
                };
                if let Some(m) = matched {
                    found[i] = Some(Hit {
                        rule: rule.def,
                        location: target.location.clone(),
                        matched: edgewaf_sdk::helpers::shorten(m.trim(), 120),
                    });
                    hits += 1;
                }
            }
        }
        found.into_iter().flatten().take(MAX_HITS).collect()
    }

    /// The scan without the prefilter: every rule runs on every value. Tests
    /// compare it with [`Engine::scan`] to prove the needles lose nothing.
    #[doc(hidden)]
    pub fn scan_unfiltered(&self, targets: &[Target]) -> Vec<Hit> {
        self.scan_with(targets, false)
    }
}

fn find_regex(re: &Regex, text: &str) -> Option<String> {
    re.find(text.as_bytes())
        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
}

/// A token of `ac` standing as a whole word in `text`.
fn find_token(ac: &AhoCorasick, text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let word = |i: Option<usize>| {
        i.and_then(|i| bytes.get(i))
            .is_some_and(|b| b.is_ascii_alphanumeric())
    };
    ac.find_overlapping_iter(text)
        .find(|m| !word(m.start().checked_sub(1)) && !word(Some(m.end())))
        .map(|m| text[m.start()..m.end()].to_string())
}

/// MySQL-style comments out of the way: `/*!50000select*/` and `/**/` become a
/// space, so `UNION/**/SELECT` reads as `UNION SELECT`.
pub fn strip_sql_comments(s: &str) -> Cow<'_, str> {
    if !s.contains("/*") && !s.contains("*/") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("/*").into_iter().chain(rest.find("*/")).min() {
        out.push_str(&rest[..i]);
        out.push(' ');
        let after = &rest[i + 2..];
        rest = if rest[i..].starts_with("/*!") {
            // Versioned comment: its body is executed, only the marker goes.
            after[1..].trim_start_matches(|c: char| c.is_ascii_digit())
        } else if rest[i..].starts_with("/*") {
            match after.find("*/") {
                Some(end) => &after[end + 2..],
                None => after,
            }
        } else {
            after
        };
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_comments() {
        assert_eq!(strip_sql_comments("union/**/select"), "union select");
        assert_eq!(
            strip_sql_comments("/*!50000union*/ /*!select*/"),
            " union   select "
        );
        assert_eq!(strip_sql_comments("a/* x */b"), "a b");
        assert_eq!(strip_sql_comments("a /* open"), "a   open");
        assert_eq!(strip_sql_comments("plain"), "plain");
    }

    #[test]
    fn tokens_are_whole_words() {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(["nikto", "hydra"])
            .unwrap();
        assert_eq!(
            find_token(&ac, "Mozilla/5.00 (Nikto/2.1.6)").as_deref(),
            Some("Nikto")
        );
        assert_eq!(find_token(&ac, "hydra"), Some("hydra".into()));
        assert_eq!(find_token(&ac, "Hydrangea-Fetcher/1.0"), None);
        assert_eq!(find_token(&ac, "xnikto"), None);
    }

    #[test]
    fn paranoia_widens_header_targets_and_adds_rules() {
        let pl1 = Engine::new(&Config::default()).unwrap();
        let pl2 = Engine::new(&Config {
            paranoia: 2,
            ..Config::default()
        })
        .unwrap();
        assert!(!pl1.rule_ids().contains(&"sig-sqli-8"));
        assert!(pl2.rule_ids().contains(&"sig-sqli-8"));
        let t = vec![Target {
            kinds: targets::HEADERS_OTHER,
            location: "REQUEST_HEADERS:x-note".into(),
            value: b"1' or '1'='1".to_vec(),
        }];
        assert!(pl1.scan(&t).is_empty());
        assert_eq!(pl2.scan(&t)[0].rule.id, "sig-sqli-1");
    }

    #[test]
    fn disabled_and_categories() {
        let c = Config::parse(r#"{"categories":["xss"],"disabled_rules":["sig-xss-1"]}"#).unwrap();
        let e = Engine::new(&c).unwrap();
        let ids = e.rule_ids();
        assert!(ids.iter().all(|id| id.starts_with("sig-xss-")));
        assert!(!ids.contains(&"sig-xss-1"));
        assert!(ids.contains(&"sig-xss-2"));
    }

    #[test]
    fn first_hit_per_rule_only() {
        let e = Engine::new(&Config::default()).unwrap();
        let mk = |loc: &str, v: &str| Target {
            kinds: targets::ARGS,
            location: loc.into(),
            value: v.as_bytes().to_vec(),
        };
        let hits = e.scan(&[mk("ARGS:a", "<script>"), mk("ARGS:b", "</script>")]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].location, "ARGS:a");
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use crate::targets::Target;

    /// Splitmix64: a tiny deterministic generator, enough to shake the decoders.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // Pieces that exercise every decoder and matcher, glued at random, plus
        // random bytes (invalid UTF-8 included).
        const PIECES: &[&[u8]] = &[
            b"${",
            b"}",
            b":-",
            b"jndi:",
            b"lower:",
            b"base64:",
            b"%",
            b"%2",
            b"%25",
            b"%u00",
            b"%c0%ae",
            b"&#",
            b"&#x",
            b";",
            b"&lt",
            b"\\u00",
            b"/*",
            b"*/",
            b"/*!",
            b"'",
            b"\"",
            b" or ",
            b"=",
            b"union",
            b"select",
            b"<",
            b">",
            b"on",
            b"../",
            b"\xC0",
            b"\xE0\x80",
            b"\xFF",
            "€".as_bytes(),
            "é".as_bytes(),
            b"\0",
            b"\n",
            b"--",
            b"#",
            b"javascript:",
        ];
        let config = Config {
            paranoia: 2,
            ..Config::default()
        };
        let engine = Engine::new(&config).unwrap();
        let mut seed = 7u64;
        for _ in 0..3000 {
            let mut value = Vec::new();
            for _ in 0..(next(&mut seed) % 24) {
                let r = next(&mut seed);
                if r.is_multiple_of(5) {
                    value.push((r >> 8) as u8);
                } else {
                    value.extend_from_slice(PIECES[(r >> 8) as usize % PIECES.len()]);
                }
            }
            let t = Target {
                kinds: targets::ALL,
                location: "ARGS:x".into(),
                value,
            };
            let _ = engine.scan(std::slice::from_ref(&t));
        }
    }
}
