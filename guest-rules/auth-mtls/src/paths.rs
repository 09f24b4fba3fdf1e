//! Path prefix matching that an encoded or dotted path cannot slip past.
//!
//! A prefix matches a path when the path equals it or continues it at a `/`
//! (`/payments` matches `/payments` and `/payments/x`, not `/paymentsx`). The
//! policy also reads the path normalised (percent-decoded, `//` collapsed, `.`
//! and `..` resolved), so an encoded path cannot dodge a rule. The same code as
//! in auth-jwt: a candidate for the SDK.

use edgewaf_sdk::helpers::url_decode;

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
}
