//! What identifies a client for a limit: `ip`, `header:<name>`,
//! `annotation:<key>` (set by an earlier policy, e.g. `apikey.name` or
//! `jwt.sub`) or `global` (one shared budget).

use edgewaf_sdk::Request;
use sha2::{Digest, Sha256};

/// Where a rule's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The client IP: the `client.ip` annotation when an earlier policy (such
    /// as ip-filter behind trusted proxies) set it, else the connection's peer.
    Ip,
    /// A request header's value (lower-case name); hashed before use, as it
    /// may be a secret.
    Header(String),
    /// An annotation set by an earlier policy in the chain.
    Annotation(String),
    /// Every request shares one budget.
    Global,
}

/// A key value, ready for state keys and findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Goes into the host's counter / key-value keys.
    pub state: String,
    /// Safe to log (secrets are shown only as a hash prefix).
    pub display: String,
}

impl KeySource {
    /// Parses the config syntax.
    pub fn parse(s: &str) -> Result<KeySource, String> {
        let bad = |why: &str| {
            format!(
                "{s:?} {why} (use \"ip\", \"header:<name>\", \"annotation:<key>\" or \"global\")"
            )
        };
        match s.split_once(':') {
            None if s == "ip" => Ok(KeySource::Ip),
            None if s == "global" => Ok(KeySource::Global),
            Some(("header", name)) => {
                let name = name.trim();
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
                {
                    return Err(bad("needs a header name"));
                }
                Ok(KeySource::Header(name.to_ascii_lowercase()))
            }
            Some(("annotation", key)) if !key.trim().is_empty() => {
                Ok(KeySource::Annotation(key.trim().to_string()))
            }
            Some(("annotation", _)) => Err(bad("needs an annotation key")),
            _ => Err(bad("is not a key source")),
        }
    }

    /// The key of `req`, or `None` when the request does not carry it (the
    /// rule then does not apply).
    pub fn extract(&self, req: &Request) -> Option<Key> {
        match self {
            KeySource::Ip => {
                let ip = req
                    .annotation("client.ip")
                    .unwrap_or(&req.connection.client_addr);
                Some(plain("ip", ip))
            }
            KeySource::Header(name) => {
                let v = req.header(name).filter(|v| !v.is_empty())?;
                let h = hash(v);
                Some(Key {
                    state: format!("h:{h}"),
                    display: format!("{name}:sha256:{}", &h[..12]),
                })
            }
            KeySource::Annotation(key) => {
                let v = req.annotation(key).filter(|v| !v.is_empty())?;
                Some(plain(key, v))
            }
            KeySource::Global => Some(Key {
                state: "global".into(),
                display: "global".into(),
            }),
        }
    }
}

/// A non-secret value: used as is when short, hashed when long.
fn plain(label: &str, value: &str) -> Key {
    if value.len() <= 64 {
        Key {
            state: format!("v:{value}"),
            display: format!("{label}={value}"),
        }
    } else {
        let h = hash(value.as_bytes());
        Key {
            state: format!("h:{h}"),
            display: format!("{label}=sha256:{}", &h[..12]),
        }
    }
}

/// SHA-256, lower-case hex, first 32 characters (128 bits).
fn hash(v: &[u8]) -> String {
    Sha256::digest(v)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_sources() {
        assert_eq!(KeySource::parse("ip"), Ok(KeySource::Ip));
        assert_eq!(KeySource::parse("global"), Ok(KeySource::Global));
        assert_eq!(
            KeySource::parse("header:X-Api-Key"),
            Ok(KeySource::Header("x-api-key".into()))
        );
        assert_eq!(
            KeySource::parse("annotation:jwt.sub"),
            Ok(KeySource::Annotation("jwt.sub".into()))
        );
        for bad in [
            "",
            "IP",
            "header:",
            "header:a b",
            "annotation:",
            "cookie:sid",
            "ip:x",
        ] {
            assert!(KeySource::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ip_prefers_the_client_ip_annotation() {
        let req = Request::builder().client("10.0.0.1").build();
        assert_eq!(KeySource::Ip.extract(&req).unwrap().state, "v:10.0.0.1");
        let req = Request::builder()
            .client("10.0.0.1")
            .annotation("client.ip", "203.0.113.9")
            .build();
        let k = KeySource::Ip.extract(&req).unwrap();
        assert_eq!(k.state, "v:203.0.113.9");
        assert_eq!(k.display, "ip=203.0.113.9");
    }

    #[test]
    fn header_values_are_hashed() {
        let src = KeySource::Header("x-api-key".into());
        let req = Request::builder()
            .header("X-Api-Key", "sk_live_secret")
            .build();
        let k = src.extract(&req).unwrap();
        assert!(!k.state.contains("secret") && !k.display.contains("secret"));
        assert_eq!(k.state.len(), 2 + 32);
        let other = src
            .extract(
                &Request::builder()
                    .header("x-api-key", "sk_live_other")
                    .build(),
            )
            .unwrap();
        assert_ne!(k.state, other.state);
        assert_eq!(src.extract(&Request::builder().build()), None);
        assert_eq!(
            src.extract(&Request::builder().header("x-api-key", "").build()),
            None
        );
    }

    #[test]
    fn annotations_and_global() {
        let src = KeySource::Annotation("apikey.name".into());
        let req = Request::builder()
            .annotation("apikey.name", "partner-7")
            .build();
        assert_eq!(src.extract(&req).unwrap().display, "apikey.name=partner-7");
        assert_eq!(src.extract(&Request::builder().build()), None);
        let long = "x".repeat(100);
        let req = Request::builder().annotation("apikey.name", &long).build();
        assert!(src.extract(&req).unwrap().state.starts_with("h:"));
        assert_eq!(
            KeySource::Global
                .extract(&Request::builder().build())
                .unwrap()
                .state,
            "global"
        );
    }
}
