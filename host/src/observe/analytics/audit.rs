//! Audit records: one per configuration change made through the admin API
//! (who — the token's name —, when, what, and a diff of the tenant file or a
//! summary of the list entry), written to the store's `audit` table.

use serde::Serialize;

/// One configuration change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditRecord {
    /// When, ms since the epoch.
    pub ts_ms: u64,
    /// The token's name (never the token).
    pub token: String,
    /// The token's scope (`admin`, `read-only`, `tenant:<name>`).
    pub scope: String,
    /// HTTP method of the call.
    pub method: String,
    /// Path of the call.
    pub path: String,
    /// The tenant concerned, if any.
    pub tenant: Option<String>,
    /// What kind of change: `tenant-apply`, `tenant-delete`, `tenant-rollback`,
    /// `mode-change`, `list-add`, `list-remove`, `module-upload`.
    pub kind: String,
    /// The answer's status.
    pub status: u16,
    /// One line saying what changed.
    pub summary: String,
    /// A unified-style line diff of the tenant file (empty when not a tenant change).
    pub diff: String,
}

/// Largest file (in lines) diffed line by line; larger ones get a summary.
const DIFF_MAX_LINES: usize = 2000;

/// A line diff of `old` → `new`: `-` removed, `+` added lines, unchanged ones
/// left out (with `@@ line N` markers where a run of changes starts).
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len() > DIFF_MAX_LINES || b.len() > DIFF_MAX_LINES {
        return format!("({} lines → {} lines, too long to diff)", a.len(), b.len());
    }
    // Longest common subsequence table, from the end.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out, mut in_run) = (0, 0, String::new(), false);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
            in_run = false;
            continue;
        }
        if !in_run {
            out.push_str(&format!("@@ line {}\n", j + 1));
            in_run = true;
        }
        if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        }
    }
    out
}

/// The `mode = ...` of a tenant file, if it parses.
pub fn mode_of(text: &str) -> Option<String> {
    let cfg: crate::config::TenantConfig = toml::from_str(text).ok()?;
    Some(
        match cfg.mode {
            crate::config::Mode::Block => "block",
            crate::config::Mode::Detect => "detect",
        }
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_only() {
        let d = line_diff("a\nb\nc\n", "a\nB\nc\nd\n");
        assert_eq!(d, "@@ line 2\n+B\n-b\n@@ line 4\n+d\n");
        assert_eq!(line_diff("same\n", "same\n"), "");
        assert_eq!(line_diff("", "x"), "@@ line 1\n+x\n");
    }
}
