//! The small pure helpers of the adapter (the origin, hop-by-hop headers,
//! request ids), kept apart from the Wasm bindings so they are tested
//! natively. The bundle's settings are `edgewaf_chain::Settings`, the type
//! `edgewaf-tools bundle` serialises.

pub use edgewaf_chain::{MAX_POLICIES, Mode, Settings};

/// Where allowed requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub https: bool,
    /// `host:port`.
    pub authority: String,
    /// A path prefix (`""` or e.g. `/api`), without a trailing slash.
    pub prefix: String,
}

impl Origin {
    /// Parses `http://host:port[/prefix]`.
    pub fn parse(url: &str) -> Result<Origin, String> {
        let bad = || format!("origin {url:?} must look like http://host:port or https://host");
        let (https, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(bad());
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty()
            || authority.contains(['?', '#', '@', ' '])
            || prefix.contains(['?', '#'])
        {
            return Err(bad());
        }
        Ok(Origin {
            https,
            authority: authority.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The path and query sent to the origin for the client's `target`.
    pub fn target(&self, target: &str) -> String {
        if target.starts_with('/') {
            format!("{}{target}", self.prefix)
        } else {
            format!("{}/{target}", self.prefix)
        }
    }
}

/// Headers that belong to one connection (RFC 9110 §7.6.1) or that the
/// runtime sets itself; never copied between the client and the origin.
pub fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
            | "http2-settings"
    )
}

/// A request id: 16 random bytes as hex.
pub fn request_id(random: [u8; 16]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let o = Origin::parse("http://127.0.0.1:8081").unwrap();
        assert_eq!(
            (o.https, o.authority.as_str(), o.prefix.as_str()),
            (false, "127.0.0.1:8081", "")
        );
        assert_eq!(o.target("/a?b=1"), "/a?b=1");
        let o = Origin::parse("https://api.example.com/v1/").unwrap();
        assert!(o.https);
        assert_eq!(o.target("/a"), "/v1/a");
        for bad in [
            "127.0.0.1:8081",
            "ftp://x",
            "http://",
            "http://u@h",
            "http://h/a?b",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        for h in [
            "Connection",
            "transfer-encoding",
            "Host",
            "content-length",
            "upgrade",
        ] {
            assert!(is_hop_by_hop(h), "{h}");
        }
        for h in ["content-type", "authorization", "x-forwarded-for", "cookie"] {
            assert!(!is_hop_by_hop(h), "{h}");
        }
    }

    #[test]
    fn request_ids_are_hex() {
        assert_eq!(request_id([0xab; 16]), "ab".repeat(16));
    }
}
