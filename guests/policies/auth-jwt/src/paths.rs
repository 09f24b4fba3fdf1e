//! Path prefix matching that an encoded or dotted path cannot slip past.
//!
//! A prefix matches a path when the path equals it or continues it at a `/`
//! (`/payments` matches `/payments` and `/payments/x`, not `/paymentsx`). The
//! policy looks at two views of the path: the raw one and a normalised one
//! (percent-decoded, `//` collapsed, `.` and `..` resolved). Requirements apply
//! when either view matches; a path is skipped only when both views are.

use edgewaf_sdk::helpers::{normalise_path as normalise, path_under as under};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_apply_strictest_reading() {
        let v = PathViews::new("/public/..%2fpayments");
        assert!(v.any_under("/payments"));
        assert!(!v.all_under(&["/public".to_string()]));
        let v = PathViews::new("/public/logo.png");
        assert!(v.all_under(&["/public".to_string()]));
    }
}
