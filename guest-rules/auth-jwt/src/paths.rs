//! Path prefix matching that an encoded or dotted path cannot slip past.
//!
//! A prefix matches a path when the path equals it or continues it at a `/`
//! (`/payments` matches `/payments` and `/payments/x`, not `/paymentsx`). The
//! policy looks at two views of the path: the raw one and a normalised one
//! (percent-decoded, `//` collapsed, `.` and `..` resolved). Requirements apply
//! when either view matches; a path is skipped only when both views are.

use edgewaf_sdk::helpers::url_decode;

/// The raw path and its normalised form.
pub struct PathViews {
    raw: String,
    normalised: String,
}

impl PathViews {
    /// Both views of `raw_path` (the request-target before `?`).
    pub fn new(raw_path: &str) -> Self {
        PathViews {
            raw: raw_path.to_string(),
            normalised: normalise(raw_path),
        }
    }

    /// True when either view falls under `prefix`.
    pub fn any_under(&self, prefix: &str) -> bool {
        under(&self.raw, prefix) || under(&self.normalised, prefix)
    }

    /// True when both views fall under one of `prefixes`.
    pub fn all_under(&self, prefixes: &[String]) -> bool {
        prefixes.iter().any(|p| under(&self.raw, p))
            && prefixes.iter().any(|p| under(&self.normalised, p))
    }
}

/// True when `path` is `prefix` or continues it at a segment boundary.
pub fn under(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// Percent-decodes (repeatedly, up to three times), turns `\` into `/`,
/// collapses empty segments and resolves `.` and `..`.
pub fn normalise(raw: &str) -> String {
    let mut bytes = raw.as_bytes().to_vec();
    for _ in 0..3 {
        let decoded = url_decode(&bytes, false);
        if decoded == bytes {
            break;
        }
        bytes = decoded;
    }
    let text = String::from_utf8_lossy(&bytes).replace('\\', "/");
    let mut segments: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(text.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || (text.ends_with('/') && !segments.is_empty()) {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_respects_segments() {
        assert!(under("/payments", "/payments"));
        assert!(under("/payments/1", "/payments"));
        assert!(!under("/paymentsx", "/payments"));
        assert!(under("/api/x", "/api/"));
        assert!(under("/anything", "/"));
        assert!(!under("/pay", "/payments"));
    }

    #[test]
    fn normalisation_resolves_tricks() {
        assert_eq!(normalise("/public/../payments"), "/payments");
        assert_eq!(normalise("/public/..%2fpayments"), "/payments");
        assert_eq!(normalise("//payments///x"), "/payments/x");
        assert_eq!(normalise("/%70ayments"), "/payments");
        assert_eq!(normalise("/%2570ayments"), "/payments");
        assert_eq!(normalise("/./a/./b/"), "/a/b/");
        assert_eq!(normalise("/../../"), "/");
        assert_eq!(normalise(""), "/");
        assert_eq!(normalise("/a\\..\\payments"), "/payments");
    }

    #[test]
    fn views_apply_strictest_reading() {
        let v = PathViews::new("/public/..%2fpayments");
        assert!(v.any_under("/payments"));
        assert!(!v.all_under(&["/public".to_string()]));
        let v = PathViews::new("/public/logo.png");
        assert!(v.all_under(&["/public".to_string()]));
    }
}
