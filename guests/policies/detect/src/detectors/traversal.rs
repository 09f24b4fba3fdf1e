//! Path traversal: the value is read as a path (`\` as `/`, `;params` and
//! `file://` dropped) and walked segment by segment. Critical when the walk
//! leaves its root by two levels or more, or reaches a sensitive file or
//! folder (system files, credentials, application internals) by going up or
//! by naming it absolutely; one level up alone is suspicious (`../img/a.png`
//! is a relative link).

use super::{CRITICAL, Hit, SUSPICIOUS};

/// Paths whose reading is the goal of a traversal (matched as whole
/// segments at the end of the walked path, lower-cased).
const SENSITIVE: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "etc/group",
    "etc/hosts",
    "etc/hostname",
    "etc/issue",
    "etc/sudoers",
    "etc/crontab",
    "etc/fstab",
    "etc/resolv.conf",
    "etc/os-release",
    "proc/self",
    "proc/version",
    "proc/cmdline",
    "windows/win.ini",
    "win.ini",
    "boot.ini",
    "windows/system32",
    "system32/drivers/etc/hosts",
    "web-inf",
    "meta-inf",
    ".htaccess",
    ".htpasswd",
    ".env",
    ".git",
    ".ssh",
    "id_rsa",
    "id_ed25519",
    ".aws/credentials",
    ".bash_history",
    "wp-config.php",
    "var/log",
    "etc/nginx",
    "etc/apache2",
    "etc/mysql",
    "bin/sh",
    "bin/bash",
    "bin/busybox",
    "cmd.exe",
    "powershell.exe",
];

/// Files whose name alone gives away credentials or code: critical even when
/// named absolutely with no traversal. The other sensitive paths, named
/// absolutely (`/etc/hosts` in a support message), are only suspicious.
const SECRETS: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "etc/sudoers",
    "proc/self",
    "windows/win.ini",
    "win.ini",
    "boot.ini",
    "web-inf",
    ".htpasswd",
    "id_rsa",
    "id_ed25519",
    ".aws/credentials",
    "bin/sh",
    "bin/bash",
    "cmd.exe",
    "powershell.exe",
];

/// The value as path segments: separators unified, `;params` and empty /
/// `.` segments dropped. Segments of only dots (`..`, `....`) are kept.
fn segments(s: &str) -> Vec<String> {
    let lower = s.to_ascii_lowercase().replace('\\', "/");
    let lower = lower.strip_prefix("file://").unwrap_or(&lower).to_string();
    lower
        .split('/')
        .map(|seg| seg.split(';').next().unwrap_or("").trim().to_string())
        .filter(|seg| !seg.is_empty() && seg != ".")
        .collect()
}

fn up(seg: &str) -> bool {
    seg.len() >= 2 && seg.bytes().all(|c| c == b'.')
}

/// The deepest point below the start (negative: above it) and the walked path.
fn walk(segs: &[String]) -> (i32, i32, Vec<&str>) {
    let (mut depth, mut lowest, mut ups) = (0i32, 0i32, 0i32);
    let mut path: Vec<&str> = Vec::new();
    for seg in segs {
        if up(seg) {
            depth -= 1;
            ups += 1;
            path.pop();
        } else {
            depth += 1;
            path.push(seg);
        }
        lowest = lowest.min(depth);
    }
    (lowest, ups, path)
}

fn sensitive(path: &[&str]) -> Option<&'static str> {
    let joined = format!("/{}", path.join("/"));
    SENSITIVE.iter().copied().find(|p| {
        joined.match_indices(&format!("/{p}")).any(|(i, m)| {
            let after = joined.as_bytes().get(i + m.len());
            after.is_none() || after == Some(&b'/')
        })
    })
}

/// A sensitive path named absolutely anywhere in the value (`/etc/passwd`,
/// `c:\\windows\\win.ini`, `cat+/etc/hosts`), not as part of a longer name.
fn sensitive_absolute(s: &str) -> Option<&'static str> {
    let norm = s.to_ascii_lowercase().replace('\\', "/");
    let name_char = |c: u8| c.is_ascii_alphanumeric() || b"._-".contains(&c);
    SENSITIVE.iter().copied().find(|p| {
        let needle = format!("/{p}");
        norm.match_indices(&needle).any(|(i, m)| {
            let before = i.checked_sub(1).map(|j| norm.as_bytes()[j]);
            let after = norm.as_bytes().get(i + m.len()).copied();
            !before.is_some_and(name_char) && !after.is_some_and(name_char)
        })
    })
}

/// Path traversal.
pub fn detect(s: &str) -> Option<Hit> {
    if !s.contains('/') && !s.contains('\\') {
        return None;
    }
    let segs = segments(s);
    let (lowest, ups, path) = walk(&segs);
    let reached = if ups > 0 { sensitive(&path) } else { None };
    if let Some(p) = reached {
        return Some(Hit::new("path_traversal", CRITICAL, &format!("{p}: {s}")));
    }
    if let Some(p) = sensitive_absolute(s) {
        // A value that is a path is a probe; a path quoted in a sentence
        // (`we added it to /etc/hosts`) is only suspicious.
        let words = s
            .split_whitespace()
            .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
            .count();
        let score = if SECRETS.contains(&p) || words < 4 {
            CRITICAL
        } else {
            SUSPICIOUS
        };
        return Some(Hit::new("path_traversal", score, &format!("{p}: {s}")));
    }
    match lowest {
        l if l <= -2 => Some(Hit::new(
            "path_traversal",
            CRITICAL,
            &format!("{} levels up: {s}", -l),
        )),
        -1 => Some(Hit::new(
            "path_traversal",
            SUSPICIOUS,
            &format!("1 level up: {s}"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(s: &str) -> u32 {
        detect(s).map_or(0, |h| h.score)
    }

    #[test]
    fn traversals_are_critical() {
        for s in [
            "../../../../etc/passwd",
            "..\\..\\..\\windows\\win.ini",
            "....//....//etc/shadow",
            "/var/www/../../etc/hosts",
            "../../../proc/self/environ",
            "file:///etc/passwd",
            "..;/..;/WEB-INF/web.xml",
            "../../../../tmp/x",
            "/api/v1/files/../../../../etc/passwd",
            "cat /etc/passwd",
            "cgi-bin/../../bin/sh",
            "C:\\Windows\\System32\\drivers\\etc\\hosts",
        ] {
            assert_eq!(score(s), CRITICAL, "{s}");
        }
    }

    #[test]
    fn ordinary_paths_are_not() {
        assert_eq!(score("../images/logo.png"), SUSPICIOUS);
        assert_eq!(
            score("We added api.example.com to /etc/hosts, thanks"),
            SUSPICIOUS
        );
        for s in [
            "https://cdn.example.com/logo.png",
            "1/2 inch pipe",
            "/v1/customers/cus_123/invoices",
            "docs/etc/passwd-policy.md",
            "size 10/12",
            "/api/v1/files/report.pdf",
        ] {
            assert_eq!(score(s), 0, "{s}");
        }
    }
}
