//! Per-path and per-argument rule exclusions from the tenant config, compiled
//! to ordinary SecLang.
//!
//! ```toml
//! [[policy.config.exclusions]]
//! rules = [941130, 941170]          # required, rule ids 1-9999999
//! path = "/v1/articles"             # optional: request paths starting with it
//! args = ["json.body_html"]         # optional: only these ARGS, not the whole rule
//! ```
//!
//! What each shape becomes (the CRS exclusion conventions):
//!
//! | keys          | SecLang                                                                    | loaded           |
//! |---------------|----------------------------------------------------------------------------|------------------|
//! | path + args   | `SecRule REQUEST_FILENAME "@beginsWith P" "…,ctl:ruleRemoveTargetById=ID;ARGS:name"` | before the rules |
//! | path          | `SecRule REQUEST_FILENAME "@beginsWith P" "…,ctl:ruleRemoveById=ID"`       | before the rules |
//! | args          | `SecRuleUpdateTargetById ID "!ARGS:name"`                                   | after the rules  |
//! | rules only    | `SecRuleRemoveById ID …`                                                    | after the rules  |
//!
//! The runtime (`ctl`) exclusions are phase-1 rules loaded before the rule
//! files, so that they also reach the CRS's phase-1 rules (911100, 920420…),
//! as the CRS's REQUEST-900-EXCLUSION-RULES-BEFORE-CRS does; the
//! configure-time ones (`SecRule…ById` directives) need the rules loaded and
//! come after every rule file and the profile's files, before `rules_text`.
//!
//! The generated rules take ids from [`FIRST_ID`]..=[`LAST_ID`] (200100-200999),
//! next to the policy's own preamble rules (200000-200002, ModSecurity's
//! recommended setup) and outside the CRS (900000-999999, plugins
//! 9500000-9999999): `rules_text` should not use that range.

use serde::Deserialize;

/// The first id of the generated exclusion rules, one per exclusion with a `path`.
pub const FIRST_ID: u32 = 200_100;
/// The last id of the range reserved for generated exclusion rules.
pub const LAST_ID: u32 = 200_999;
/// The highest rule id an exclusion may name.
const MAX_RULE_ID: u32 = 9_999_999;

/// One `[[policy.config.exclusions]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// `rules = [941130, 941170]`: the rule ids excluded (required, non-empty).
    pub rules: Vec<u32>,
    /// `path = "/v1/articles"`: only for request paths (REQUEST_FILENAME, decoded,
    /// without the query) starting with this prefix. Default: every path.
    #[serde(default)]
    pub path: Option<String>,
    /// `args = ["json.body_html", "comment"]`: only these ARGS (names as in
    /// the CRS's logdata: `json.` for JSON leaves) are removed from the rules.
    /// Default: the whole rule is off.
    #[serde(default)]
    pub args: Option<Vec<String>>,
}

impl Exclusion {
    /// Checks one exclusion; `at` is its index in the list, for the error.
    fn check(&self, at: usize) -> Result<(), String> {
        let field = |name: &str| format!("crs config: exclusions[{at}].{name}");
        if self.rules.is_empty() {
            return Err(format!("{}: name at least one rule id", field("rules")));
        }
        if let Some(id) = self
            .rules
            .iter()
            .find(|id| !(1..=MAX_RULE_ID).contains(*id))
        {
            return Err(format!(
                "{}: rule id {id} is out of range (1-{MAX_RULE_ID})",
                field("rules")
            ));
        }
        if let Some(p) = &self.path {
            check_path(p).map_err(|why| format!("{}: {p:?} {why}", field("path")))?;
        }
        if let Some(args) = &self.args {
            if args.is_empty() {
                return Err(format!(
                    "{}: name at least one argument, or omit args to turn the whole rules off",
                    field("args")
                ));
            }
            for a in args {
                check_arg(a).map_err(|why| format!("{}: {a:?} {why}", field("args")))?;
            }
        }
        Ok(())
    }
}

fn check_path(p: &str) -> Result<(), &'static str> {
    if !p.starts_with('/') {
        return Err("must start with '/'");
    }
    if let Some(c) = p
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | '%'))
    {
        return Err(match c {
            '%' => "must not contain '%': write the path decoded, as REQUEST_FILENAME holds it",
            _ if c.is_whitespace() || c.is_control() => {
                "must not contain spaces or control characters"
            }
            _ => "must not contain quotes or backslashes",
        });
    }
    Ok(())
}

fn check_arg(a: &str) -> Result<(), &'static str> {
    if a.is_empty() {
        return Err("is empty: name an argument, e.g. \"json.notes_html\"");
    }
    if a.starts_with('/') {
        return Err(
            "looks like a regular expression: name one argument (write regular expressions as SecLang in rules_text)",
        );
    }
    if a.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | ';' | ',' | '|')
    }) {
        return Err(
            "must not contain quotes, spaces, ';', ',', '|', backslashes or control characters",
        );
    }
    Ok(())
}

/// Checks every exclusion, and that the ones with a `path` fit the id range.
pub fn check(list: &[Exclusion]) -> Result<(), String> {
    for (at, e) in list.iter().enumerate() {
        e.check(at)?;
    }
    let with_path = list.iter().filter(|e| e.path.is_some()).count();
    let room = (LAST_ID - FIRST_ID + 1) as usize;
    if with_path > room {
        return Err(format!(
            "crs config: exclusions: {with_path} have a path, at most {room} can (one generated rule each)"
        ));
    }
    Ok(())
}

/// The runtime exclusions (those with a `path`): phase-1 rules, loaded before
/// the rule files. Empty when there are none.
pub fn before_rules(list: &[Exclusion]) -> String {
    let mut s = String::new();
    let with_path = list.iter().filter_map(|e| e.path.as_ref().map(|p| (e, p)));
    for ((e, path), id) in with_path.zip(FIRST_ID..) {
        let mut actions = format!("id:{id},phase:1,pass,nolog,t:none");
        for rule in &e.rules {
            match &e.args {
                Some(args) => {
                    for a in args {
                        actions.push_str(&format!(",ctl:ruleRemoveTargetById={rule};ARGS:{a}"));
                    }
                }
                None => actions.push_str(&format!(",ctl:ruleRemoveById={rule}")),
            }
        }
        s.push_str(&format!(
            "SecRule REQUEST_FILENAME \"@beginsWith {path}\" \"{actions}\"\n"
        ));
    }
    s
}

/// The configure-time exclusions (those without a `path`): directives loaded
/// after the rule files. Empty when there are none.
pub fn after_rules(list: &[Exclusion]) -> String {
    let mut s = String::new();
    for e in list.iter().filter(|e| e.path.is_none()) {
        match &e.args {
            Some(args) => {
                for rule in &e.rules {
                    for a in args {
                        s.push_str(&format!("SecRuleUpdateTargetById {rule} \"!ARGS:{a}\"\n"));
                    }
                }
            }
            None => {
                let ids: Vec<String> = e.rules.iter().map(u32::to_string).collect();
                s.push_str(&format!("SecRuleRemoveById {}\n", ids.join(" ")));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Vec<Exclusion>, String> {
        let list: Vec<Exclusion> = serde_json::from_str(json).map_err(|e| e.to_string())?;
        check(&list)?;
        Ok(list)
    }

    #[test]
    fn each_shape_compiles_to_its_seclang() {
        let list = parse(
            r#"[{"rules":[941130,941170],"path":"/v1/articles","args":["json.body_html"]},
                {"rules":[911100],"path":"/v1/admin/"},
                {"rules":[942290],"args":["json.query","variables"]},
                {"rules":[920420,920350]}]"#,
        )
        .unwrap();
        assert_eq!(
            before_rules(&list),
            "SecRule REQUEST_FILENAME \"@beginsWith /v1/articles\" \"id:200100,phase:1,pass,nolog,t:none,\
             ctl:ruleRemoveTargetById=941130;ARGS:json.body_html,ctl:ruleRemoveTargetById=941170;ARGS:json.body_html\"\n\
             SecRule REQUEST_FILENAME \"@beginsWith /v1/admin/\" \"id:200101,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=911100\"\n"
        );
        assert_eq!(
            after_rules(&list),
            "SecRuleUpdateTargetById 942290 \"!ARGS:json.query\"\n\
             SecRuleUpdateTargetById 942290 \"!ARGS:variables\"\n\
             SecRuleRemoveById 920420 920350\n"
        );
        assert_eq!(before_rules(&[]), "");
        assert_eq!(after_rules(&[]), "");
    }

    #[test]
    fn generated_seclang_parses() {
        let list = parse(
            r#"[{"rules":[1],"path":"/a","args":["x","json.y.z"]},{"rules":[2],"path":"/b"},
                {"rules":[1],"args":["q"]},{"rules":[2]}]"#,
        )
        .unwrap();
        let text = format!(
            "SecRule ARGS \"@rx x\" \"id:1,phase:2,pass\"\nSecRule ARGS \"@rx y\" \"id:2,phase:2,pass\"\n{}{}",
            before_rules(&list),
            after_rules(&list)
        );
        let rs = seclang::RuleSet::from_text("<test>", &text).unwrap();
        let ids: Vec<u32> = rs.rules().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![1, 200100, 200101]);
    }

    #[test]
    fn bad_exclusions_are_refused_with_the_field() {
        let err = |json: &str| parse(json).unwrap_err();
        let cases = [
            (
                r#"[{"rules":[]}]"#,
                "exclusions[0].rules: name at least one",
            ),
            (
                r#"[{"rules":[0]}]"#,
                "rule id 0 is out of range (1-9999999)",
            ),
            (
                r#"[{"rules":[1]},{"rules":[10000000]}]"#,
                "exclusions[1].rules",
            ),
            (r#"[{"path":"/a"}]"#, "missing field `rules`"),
            (r#"[{"rules":[1],"paths":"/a"}]"#, "unknown field `paths`"),
            (r#"[{"rules":[-1]}]"#, "invalid value"),
            (r#"[{"rules":[1],"path":"a/b"}]"#, "must start with '/'"),
            (r#"[{"rules":[1],"path":"/a b"}]"#, "spaces or control"),
            (r#"[{"rules":[1],"path":"/a\"b"}]"#, "quotes"),
            (r#"[{"rules":[1],"path":"/a'b"}]"#, "quotes"),
            (r#"[{"rules":[1],"path":"/a\u0001"}]"#, "control"),
            (r#"[{"rules":[1],"path":"/a%20b"}]"#, "decoded"),
            (r#"[{"rules":[1],"args":[]}]"#, "omit args"),
            (r#"[{"rules":[1],"args":[""]}]"#, "is empty"),
            (r#"[{"rules":[1],"args":["a;b"]}]"#, "';'"),
            (r#"[{"rules":[1],"args":["a,b"]}]"#, "','"),
            (r#"[{"rules":[1],"args":["a b"]}]"#, "spaces"),
            (r#"[{"rules":[1],"args":["a\"b"]}]"#, "quotes"),
            (r#"[{"rules":[1],"args":["a|b"]}]"#, "'|'"),
            (r#"[{"rules":[1],"args":["a\tb"]}]"#, "control"),
            (r#"[{"rules":[1],"args":["/^x/"]}]"#, "regular expression"),
        ];
        for (json, want) in cases {
            let e = err(json);
            assert!(e.contains(want), "{json}: {e}");
        }
        let many: Vec<String> = (0..=(LAST_ID - FIRST_ID + 1))
            .map(|i| format!(r#"{{"rules":[1],"path":"/p{i}"}}"#))
            .collect();
        let e = err(&format!("[{}]", many.join(",")));
        assert!(e.contains("901 have a path, at most 900"), "{e}");
    }
}
