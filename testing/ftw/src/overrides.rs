//! Overrides in the shape of CRS's `coraza-overrides.yaml`: per rule and test
//! ids, replaced expectations (or a skip when no `output` is given), each with
//! a mandatory reason.

use crate::load::{Expect, parse_expect};
use serde_yaml::Value;
use std::path::Path;

/// One override entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Rule id of the test file.
    pub rule_id: u32,
    /// Test ids it applies to.
    pub test_ids: Vec<u32>,
    /// Why (mandatory).
    pub reason: String,
    /// Replacement expectations; `None` skips the tests.
    pub output: Option<Expect>,
}

/// A set of overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Entries in file order.
    pub entries: Vec<Override>,
}

impl Overrides {
    /// Loads an overrides file; an entry without `reason` is an error.
    pub fn load(path: &Path) -> Result<Overrides, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses overrides from YAML text.
    pub fn parse(text: &str) -> Result<Overrides, String> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        let list = match doc.get("test_overrides") {
            Some(Value::Sequence(s)) => s.clone(),
            None | Some(Value::Null) => Vec::new(),
            _ => return Err("`test_overrides` must be a list".into()),
        };
        for (i, e) in list.iter().enumerate() {
            let n = i + 1;
            let rule_id = e
                .get("rule_id")
                .and_then(Value::as_u64)
                .ok_or(format!("entry {n}: missing rule_id"))? as u32;
            let test_ids: Vec<u32> = match e.get("test_ids").or_else(|| e.get("test_id")) {
                Some(Value::Sequence(s)) => s
                    .iter()
                    .filter_map(Value::as_u64)
                    .map(|x| x as u32)
                    .collect(),
                Some(Value::Number(x)) => x.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
                _ => return Err(format!("entry {n} (rule {rule_id}): missing test_ids")),
            };
            let reason = e
                .get("reason")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .ok_or(format!(
                    "entry {n} (rule {rule_id}): every override needs a reason"
                ))?
                .to_string();
            let output = e.get("output").map(parse_expect);
            entries.push(Override {
                rule_id,
                test_ids,
                reason,
                output,
            });
        }
        Ok(Overrides { entries })
    }

    /// The override for a test, if any.
    pub fn find(&self, rule_id: u32, test_id: u32) -> Option<&Override> {
        self.entries
            .iter()
            .find(|o| o.rule_id == rule_id && o.test_ids.contains(&test_id))
    }

    /// Number of (rule, test) pairs covered.
    pub fn count(&self) -> usize {
        self.entries.iter().map(|e| e.test_ids.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_is_mandatory() {
        let ok = "test_overrides:\n  - rule_id: 1\n    test_ids: [2, 3]\n    reason: http layer\n    output:\n      status: 400\n";
        let o = Overrides::parse(ok).unwrap();
        assert_eq!(o.count(), 2);
        assert_eq!(
            o.find(1, 3).unwrap().output.as_ref().unwrap().status,
            vec![400]
        );
        assert!(Overrides::parse("test_overrides:\n  - rule_id: 1\n    test_ids: [2]\n").is_err());
    }
}
