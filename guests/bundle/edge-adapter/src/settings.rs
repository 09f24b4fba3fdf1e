//! The bundle's settings (written by `edgewaf-tools bundle` as JSON) and the small pure
//! helpers of the adapter, kept apart from the Wasm bindings so they are tested
//! natively.

use serde::Deserialize;

/// The most policies one bundle chains (the adapter's `slot` imports).
pub const MAX_POLICIES: usize = 8;

/// `mode` of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Denials answer the client.
    Block,
    /// Denials are only logged.
    Detect,
}

/// One policy of the chain.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicySettings {
    /// Display name for the decision log.
    pub name: String,
    /// The policy's config, JSON text handed to `init`.
    pub config: String,
}

/// Everything the adapter needs, from the tenant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Tenant name (the `tenant` field policies see).
    pub tenant: String,
    /// The origin used when the platform has no `origin` setting.
    pub upstream: String,
    /// `block` or `detect`.
    pub mode: Mode,
    /// Status of a deny whose policy gave none.
    pub deny_status: u16,
    /// How much of a request body the policies see.
    pub body_limit: usize,
    /// How much of a response body `on-response` sees.
    pub response_body_limit: usize,
    /// The largest request body forwarded (larger: 413).
    pub max_body: usize,
    /// The chain, in order.
    pub policies: Vec<PolicySettings>,
}

impl Settings {
    /// Parses and checks the settings JSON.
    pub fn parse(json: &str) -> Result<Settings, String> {
        let s: Settings =
            serde_json::from_str(json).map_err(|e| format!("bundle settings: {e}"))?;
        if s.policies.is_empty() {
            return Err("bundle settings: the chain has no policy".into());
        }
        if s.policies.len() > MAX_POLICIES {
            return Err(format!(
                "bundle settings: {} policies, at most {MAX_POLICIES}",
                s.policies.len()
            ));
        }
        Origin::parse(&s.upstream)?;
        Ok(s)
    }
}

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

    fn settings_json(policies: usize) -> String {
        let p: Vec<_> = (0..policies)
            .map(|i| serde_json::json!({"name": format!("p{i}"), "config": "{}"}))
            .collect();
        serde_json::json!({
            "tenant": "t", "upstream": "http://127.0.0.1:8081", "mode": "block",
            "deny_status": 403, "body_limit": 131072, "response_body_limit": 131072,
            "max_body": 1048576, "policies": p,
        })
        .to_string()
    }

    #[test]
    fn settings_parse_and_limits() {
        let s = Settings::parse(&settings_json(2)).unwrap();
        assert_eq!(s.mode, Mode::Block);
        assert_eq!(s.policies[1].name, "p1");
        assert!(
            Settings::parse(&settings_json(0))
                .unwrap_err()
                .contains("no policy")
        );
        assert!(
            Settings::parse(&settings_json(9))
                .unwrap_err()
                .contains("at most 8")
        );
        let typo = settings_json(1).replace("\"mode\"", "\"mood\"");
        assert!(Settings::parse(&typo).is_err());
    }

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
