//! Running tests and judging outcomes.

use crate::load::{Expect, FtwFile, FtwRequest};
use crate::overrides::Overrides;
use std::io::Write;

/// What the WAF under test did with one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// HTTP status returned; `None` when the request failed at the HTTP layer.
    pub status: Option<u16>,
    /// Ids of the rules LOGGED for this request (rules with `nolog` excluded).
    pub logged_rule_ids: Vec<u32>,
    /// Log lines (ModSecurity error-log style), for `match_regex` checks.
    pub log_lines: Vec<String>,
}

/// Totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tests passed.
    pub passed: usize,
    /// Tests failed.
    pub failed: usize,
    /// Tests skipped (by an override without output).
    pub skipped: usize,
}

fn judge(e: &Expect, o: &Outcome) -> Result<(), String> {
    if e.expect_error {
        return if o.status.is_none() {
            Ok(())
        } else {
            Err("expected an HTTP-layer error".into())
        };
    }
    if !e.status.is_empty() {
        match o.status {
            Some(s) if e.status.contains(&s) => {}
            other => return Err(format!("status {other:?}, expected one of {:?}", e.status)),
        }
    }
    let missing: Vec<u32> = e
        .expect_ids
        .iter()
        .copied()
        .filter(|id| !o.logged_rule_ids.contains(id))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "expected ids {missing:?} not logged (logged: {:?})",
            o.logged_rule_ids
        ));
    }
    let unwanted: Vec<u32> = e
        .no_expect_ids
        .iter()
        .copied()
        .filter(|id| o.logged_rule_ids.contains(id))
        .collect();
    if !unwanted.is_empty() {
        return Err(format!("ids {unwanted:?} logged but must not be"));
    }
    if let Some(r) = &e.match_regex {
        let re = regex::Regex::new(r).map_err(|err| format!("bad match_regex: {err}"))?;
        if !o.log_lines.iter().any(|l| re.is_match(l)) {
            let shown: Vec<&str> = o
                .log_lines
                .iter()
                .map(|l| &l[..l.len().min(160)])
                .take(8)
                .collect();
            return Err(format!("no log line matches {r:?} (log: {shown:?})"));
        }
    }
    if let Some(r) = &e.no_match_regex {
        let re = regex::Regex::new(r).map_err(|err| format!("bad no_match_regex: {err}"))?;
        if let Some(l) = o.log_lines.iter().find(|l| re.is_match(l)) {
            return Err(format!("log line matches {r:?}: {l}"));
        }
    }
    Ok(())
}

/// Runs every test of `files` through `send`, printing to `out`. Overrides
/// replace a test's expectations (all stages) or skip it when they carry no
/// output.
pub fn run(
    files: &[FtwFile],
    overrides: &Overrides,
    mut send: impl FnMut(&FtwRequest) -> Outcome,
    out: &mut dyn Write,
) -> Summary {
    let mut total = Summary::default();
    for f in files {
        let mut s = Summary::default();
        let mut failures = Vec::new();
        for t in &f.tests {
            let ov = overrides.find(t.rule_id, t.test_id);
            if let Some(o) = ov
                && o.output.is_none()
            {
                s.skipped += 1;
                continue;
            }
            let mut result = Ok(());
            for (i, st) in t.stages.iter().enumerate() {
                let outcome = send(&st.request);
                let expect = ov.and_then(|o| o.output.as_ref()).unwrap_or(&st.expect);
                if let Err(e) = judge(expect, &outcome) {
                    result = Err(format!("stage {}: {e}", i + 1));
                    break;
                }
            }
            match result {
                Ok(()) => s.passed += 1,
                Err(e) => {
                    s.failed += 1;
                    failures.push(format!("  FAIL {}-{}: {e}", t.rule_id, t.test_id));
                }
            }
        }
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{name}: {} passed, {} failed, {} skipped",
            s.passed, s.failed, s.skipped
        );
        for l in failures {
            let _ = writeln!(out, "{l}");
        }
        total.passed += s.passed;
        total.failed += s.failed;
        total.skipped += s.skipped;
    }
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        total.passed, total.failed, total.skipped
    );
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{FtwTest, Stage};

    fn file(expect: Expect) -> FtwFile {
        FtwFile {
            path: "t.yaml".into(),
            tests: vec![FtwTest {
                rule_id: 7,
                test_id: 1,
                desc: String::new(),
                stages: vec![Stage {
                    request: FtwRequest::default(),
                    expect,
                }],
            }],
        }
    }

    #[test]
    fn judges_ids_and_prints_closing_line() {
        let f = file(Expect {
            expect_ids: vec![7],
            no_expect_ids: vec![8],
            ..Default::default()
        });
        let mut out = Vec::new();
        let s = run(
            std::slice::from_ref(&f),
            &Overrides::default(),
            |_| Outcome {
                status: Some(200),
                logged_rule_ids: vec![7],
                log_lines: vec![],
            },
            &mut out,
        );
        assert_eq!((s.passed, s.failed), (1, 0));
        let s = run(
            &[f],
            &Overrides::default(),
            |_| Outcome {
                status: Some(200),
                logged_rule_ids: vec![7, 8],
                log_lines: vec![],
            },
            &mut out,
        );
        assert_eq!((s.passed, s.failed), (0, 1));
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().any(|l| l == "0 passed, 1 failed, 0 skipped"));
    }
}
