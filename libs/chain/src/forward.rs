//! The headers sent to the origin for an allowed request, edited in place on
//! the caller's own header list ([`HeaderEdit`]: a `Vec` of pairs in the bundle
//! adapter, `http::HeaderMap` in the host), so the
//! host's request path copies nothing it did not copy before.

use crate::Header;

/// What the WAF knows about the request beyond its headers.
#[derive(Debug, Clone, Copy)]
pub struct Forwarding<'a> {
    /// The WAF's request id (`x-request-id`).
    pub request_id: &'a str,
    /// The scheme the client used: `http` or `https` (`x-forwarded-proto`).
    pub proto: &'static str,
    /// The client's address when the runtime gives it (`x-forwarded-for`).
    pub client_ip: Option<&'a str>,
}

/// The edits [`forward`] makes on a header list. Names given to these methods
/// are lowercase; implementations match names without regard to case.
pub trait HeaderEdit {
    /// Removes every header called `name`.
    fn remove(&mut self, name: &str);
    /// Replaces every header called `name` with one whose value is `value`
    /// (a name or value the list cannot hold is skipped).
    fn set(&mut self, name: &str, value: &[u8]);
    /// [`HeaderEdit::set`] for a header the WAF owns.
    fn set_own(&mut self, name: &'static str, value: &str);
    /// [`HeaderEdit::set_own`] with a constant value (no copy where the list
    /// can hold a reference).
    fn set_static(&mut self, name: &'static str, value: &'static str) {
        self.set_own(name, value);
    }
    /// Sets `to` to the first value of `from`, or removes `to` when there is
    /// no `from`.
    fn copy_own(&mut self, from: &'static str, to: &'static str);
    /// Makes `name` one comma-joined list of its values with `item` appended.
    fn append_list(&mut self, name: &'static str, item: &str);
}

/// Turns the client's headers (the caller has dropped hop-by-hop ones) into
/// the origin's: the chain's removals, then its additions (each replaces every
/// header of its name, an earlier policy's addition included: the last writer
/// wins), then `x-request-id`, `x-forwarded-host` (the client's `host`) and
/// `x-forwarded-proto` set by the WAF (a client's values are replaced, never
/// trusted), and the client address appended to `x-forwarded-for` when known
/// (without it the client's value goes on unchanged).
pub fn forward<H: HeaderEdit + ?Sized>(
    headers: &mut H,
    remove: &[String],
    add: &[Header],
    f: &Forwarding<'_>,
) {
    for name in remove {
        headers.remove(name);
    }
    for (name, value) in add {
        headers.set(name, value);
    }
    headers.set_own("x-request-id", f.request_id);
    headers.copy_own("host", "x-forwarded-host");
    headers.set_static("x-forwarded-proto", f.proto);
    if let Some(ip) = f.client_ip {
        headers.append_list("x-forwarded-for", ip);
    }
}

impl HeaderEdit for Vec<Header> {
    fn remove(&mut self, name: &str) {
        self.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn set(&mut self, name: &str, value: &[u8]) {
        HeaderEdit::remove(self, name);
        self.push((name.to_ascii_lowercase(), value.to_vec()));
    }

    fn set_own(&mut self, name: &'static str, value: &str) {
        self.set(name, value.as_bytes());
    }

    fn copy_own(&mut self, from: &'static str, to: &'static str) {
        let value = self
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(from))
            .map(|(_, v)| v.clone());
        match value {
            Some(v) => self.set(to, &v),
            None => HeaderEdit::remove(self, to),
        }
    }

    fn append_list(&mut self, name: &'static str, item: &str) {
        let mut joined = Vec::new();
        for (_, v) in self.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            joined.extend_from_slice(v);
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(item.as_bytes());
        self.set(name, &joined);
    }
}

mod header_map {
    use super::HeaderEdit;
    use http::{HeaderMap, HeaderName, HeaderValue};

    impl HeaderEdit for HeaderMap {
        fn remove(&mut self, name: &str) {
            HeaderMap::remove(self, name);
        }

        fn set(&mut self, name: &str, value: &[u8]) {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                self.insert(n, v);
            }
        }

        fn set_own(&mut self, name: &'static str, value: &str) {
            match HeaderValue::from_str(value) {
                Ok(v) => self.insert(HeaderName::from_static(name), v),
                Err(_) => HeaderMap::remove(self, name),
            };
        }

        fn set_static(&mut self, name: &'static str, value: &'static str) {
            self.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }

        fn copy_own(&mut self, from: &'static str, to: &'static str) {
            match self.get(from).cloned() {
                Some(v) => self.insert(HeaderName::from_static(to), v),
                None => HeaderMap::remove(self, to),
            };
        }

        fn append_list(&mut self, name: &'static str, item: &str) {
            let mut joined = Vec::new();
            for v in self.get_all(name) {
                joined.extend_from_slice(v.as_bytes());
                joined.extend_from_slice(b", ");
            }
            joined.extend_from_slice(item.as_bytes());
            if let Ok(v) = HeaderValue::from_bytes(&joined) {
                self.insert(HeaderName::from_static(name), v);
            }
        }
    }
}
