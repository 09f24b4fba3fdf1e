//! The policy's config: JSON from the tenant's `[policy.config]` table, checked
//! once in `init`. Every error names the field (and the entry) to fix.

use ipnet::IpNet;
use serde::Deserialize;
use std::net::IpAddr;

/// What happens to a client that no list mentions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    /// `default = "allow"` (the default): only listed addresses are denied.
    #[default]
    Allow,
    /// `default = "deny"`: only addresses in `allow` pass.
    Deny,
}

/// The config as written by the operator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// `allow = ["10.0.0.0/8", "2001:db8::/32"]`: always pass; wins over every deny.
    #[serde(default)]
    allow: Vec<String>,
    /// `deny = ["203.0.113.0/24"]`: denied (unless also in `allow`).
    #[serde(default)]
    deny: Vec<String>,
    /// `default = "allow" | "deny"`: for addresses no list mentions.
    #[serde(default)]
    default: DefaultAction,
    /// `trusted_proxies = ["10.1.0.0/16"]`: peers whose `X-Forwarded-For` is believed.
    #[serde(default)]
    trusted_proxies: Vec<String>,
    /// `client_ip_header = "x-forwarded-for"`: the header trusted proxies put
    /// the client address in (e.g. `cf-connecting-ip`, `true-client-ip`).
    #[serde(default)]
    client_ip_header: Option<String>,
    /// `lists = ["blocklist"]`: runtime lists (admin API) whose entries are denied.
    #[serde(default)]
    lists: Vec<String>,
    /// `status = 403`: the deny status; absent means the tenant's deny status.
    #[serde(default)]
    status: Option<u16>,
    /// `mmdb = "/geo/GeoLite2-Country.mmdb"`: a MaxMind-format country
    /// database, a path inside the sandbox (mount its folder with `mounts`).
    #[serde(default)]
    mmdb: Option<String>,
    /// `countries = ["XX"]`: ISO 3166-1 alpha-2 codes whose clients are denied.
    #[serde(default)]
    countries: Vec<String>,
    /// `allow_countries = ["DE", "FR"]`: when set, only these countries pass
    /// (addresses the database does not place are denied too).
    #[serde(default)]
    allow_countries: Vec<String>,
}

/// The checked config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Networks that always pass.
    pub allow: Vec<IpNet>,
    /// Networks that are denied.
    pub deny: Vec<IpNet>,
    /// Action for addresses no list mentions.
    pub default: DefaultAction,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The header trusted proxies put the client address in, lower-case.
    pub client_ip_header: String,
    /// Names of runtime IP lists whose entries are denied.
    pub lists: Vec<String>,
    /// Deny status; 0 is the tenant's deny status.
    pub status: u16,
    /// The country database's path inside the sandbox.
    pub mmdb: Option<String>,
    /// Denied countries, upper-case.
    pub countries: Vec<String>,
    /// When not empty, the only countries that pass, upper-case.
    pub allow_countries: Vec<String>,
}

impl Config {
    /// Parses and checks the JSON config.
    pub fn parse(json: &str) -> Result<Config, String> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let raw: RawConfig =
            serde_json::from_str(json).map_err(|e| format!("ip-filter config: {e}"))?;
        let status = match raw.status {
            None => 0,
            Some(s) if (400..=599).contains(&s) => s,
            Some(s) => {
                return Err(format!(
                    "ip-filter config: status: {s} is not an HTTP error status (use 400-599, e.g. 403)"
                ));
            }
        };
        let client_ip_header = raw
            .client_ip_header
            .unwrap_or_else(|| "x-forwarded-for".into());
        if client_ip_header.is_empty()
            || !client_ip_header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "ip-filter config: client_ip_header: {client_ip_header:?} is not a header name"
            ));
        }
        for (i, name) in raw.lists.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(format!(
                    "ip-filter config: lists[{i}]: a list name cannot be empty"
                ));
            }
        }
        let countries = parse_countries("countries", &raw.countries)?;
        let allow_countries = parse_countries("allow_countries", &raw.allow_countries)?;
        if raw.mmdb.is_none() && !(countries.is_empty() && allow_countries.is_empty()) {
            return Err(
                "ip-filter config: countries/allow_countries need a country database: set \
                 mmdb = \"/geo/GeoLite2-Country.mmdb\" and mount its folder (mounts = { \"/geo\" = \"...\" })"
                    .into(),
            );
        }
        if raw.mmdb.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err("ip-filter config: mmdb: the path cannot be empty".into());
        }
        Ok(Config {
            allow: parse_nets("allow", &raw.allow)?,
            deny: parse_nets("deny", &raw.deny)?,
            default: raw.default,
            trusted_proxies: parse_nets("trusted_proxies", &raw.trusted_proxies)?,
            client_ip_header: client_ip_header.to_ascii_lowercase(),
            lists: raw.lists,
            status,
            mmdb: raw.mmdb,
            countries,
            allow_countries,
        })
    }
}

/// Two-letter country codes (ISO 3166-1 alpha-2, as the database stores them), upper-cased.
fn parse_countries(field: &str, codes: &[String]) -> Result<Vec<String>, String> {
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let c = code.trim();
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
                Ok(c.to_ascii_uppercase())
            } else {
                Err(format!(
                    "ip-filter config: {field}[{i}]: {code:?} is not a two-letter country code \
                     (ISO 3166-1 alpha-2, e.g. \"DE\")"
                ))
            }
        })
        .collect()
}

/// Parses a list of CIDRs (a bare address means a single host).
fn parse_nets(field: &str, entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            parse_net(entry).ok_or_else(|| {
                format!(
                    "ip-filter config: {field}[{i}]: {entry:?} is not a CIDR or IP address \
                     (expected e.g. \"203.0.113.0/24\", \"2001:db8::/32\" or \"198.51.100.7\")"
                )
            })
        })
        .collect()
}

/// A CIDR or a single address, host bits cleared.
pub fn parse_net(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    if let Ok(net) = entry.parse::<IpNet>() {
        return Some(canonical_net(net).trunc());
    }
    entry
        .parse::<IpAddr>()
        .ok()
        .map(|ip| IpNet::from(ip.to_canonical()))
}

/// `::ffff:a.b.c.d/(96+n)` becomes `a.b.c.d/n`, so a mapped config entry and
/// a mapped client address compare the same way as plain IPv4.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(n) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(n);
    }
    net
}

/// The first network of `nets` that contains `ip`.
pub fn find(nets: &[IpNet], ip: &IpAddr) -> Option<IpNet> {
    nets.iter().find(|n| n.contains(ip)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_allows_by_default() {
        for json in ["", "{}", "  "] {
            let c = Config::parse(json).unwrap();
            assert_eq!(c.default, DefaultAction::Allow);
            assert!(c.allow.is_empty() && c.deny.is_empty() && c.trusted_proxies.is_empty());
            assert_eq!(c.status, 0);
        }
    }

    #[test]
    fn parses_v4_v6_and_bare_addresses() {
        let c = Config::parse(
            r#"{"deny":["203.0.113.0/24","2001:db8::/32","198.51.100.7","::1"],
                "allow":["10.1.2.3/8"],"default":"deny","status":451,"lists":["blocklist"]}"#,
        )
        .unwrap();
        assert_eq!(c.deny[0].to_string(), "203.0.113.0/24");
        assert_eq!(c.deny[1].to_string(), "2001:db8::/32");
        assert_eq!(c.deny[2].to_string(), "198.51.100.7/32");
        assert_eq!(c.deny[3].to_string(), "::1/128");
        // Host bits are cleared.
        assert_eq!(c.allow[0].to_string(), "10.0.0.0/8");
        assert_eq!(c.default, DefaultAction::Deny);
        assert_eq!(c.status, 451);
        assert_eq!(c.lists, vec!["blocklist".to_string()]);
        assert_eq!(c.client_ip_header, "x-forwarded-for");
        let c = Config::parse(r#"{"client_ip_header":"CF-Connecting-IP"}"#).unwrap();
        assert_eq!(c.client_ip_header, "cf-connecting-ip");
    }

    #[test]
    fn mapped_ipv6_entries_become_ipv4() {
        let c = Config::parse(r#"{"deny":["::ffff:192.0.2.0/120"]}"#).unwrap();
        assert_eq!(c.deny[0].to_string(), "192.0.2.0/24");
        let c = Config::parse(r#"{"deny":["::ffff:192.0.2.9"]}"#).unwrap();
        assert_eq!(c.deny[0].to_string(), "192.0.2.9/32");
    }

    #[test]
    fn invalid_cidr_names_field_and_entry() {
        let err = Config::parse(r#"{"deny":["10.0.0.0/8","10.0.0.300/8"]}"#).unwrap_err();
        assert!(err.contains("deny[1]"), "{err}");
        assert!(err.contains("10.0.0.300/8"), "{err}");
        let err = Config::parse(r#"{"trusted_proxies":["10.0.0.0/33"]}"#).unwrap_err();
        assert!(err.contains("trusted_proxies[0]"), "{err}");
        let err = Config::parse(r#"{"allow":["2001:db8::/129"]}"#).unwrap_err();
        assert!(err.contains("allow[0]"), "{err}");
        let err = Config::parse(r#"{"allow":["example.com"]}"#).unwrap_err();
        assert!(err.contains("allow[0]"), "{err}");
    }

    #[test]
    fn country_codes_are_checked_and_need_a_database() {
        let c = Config::parse(
            r#"{"mmdb":"/geo/c.mmdb","countries":["xx"," de "],"allow_countries":["FR"]}"#,
        )
        .unwrap();
        assert_eq!(c.countries, vec!["XX".to_string(), "DE".to_string()]);
        assert_eq!(c.allow_countries, vec!["FR".to_string()]);
        assert_eq!(c.mmdb.as_deref(), Some("/geo/c.mmdb"));
        let err = Config::parse(r#"{"mmdb":"/geo/c.mmdb","countries":["DE","DEU"]}"#).unwrap_err();
        assert!(err.contains("countries[1]") && err.contains("DEU"), "{err}");
        let err = Config::parse(r#"{"allow_countries":["DE"]}"#).unwrap_err();
        assert!(err.contains("mmdb"), "{err}");
        let err = Config::parse(r#"{"mmdb":" "}"#).unwrap_err();
        assert!(err.contains("mmdb"), "{err}");
    }

    #[test]
    fn unknown_field_is_named() {
        let err = Config::parse(r#"{"denny":["10.0.0.0/8"]}"#).unwrap_err();
        assert!(err.contains("unknown field `denny`"), "{err}");
    }

    #[test]
    fn bad_default_and_status_are_errors() {
        let err = Config::parse(r#"{"default":"block"}"#).unwrap_err();
        assert!(err.contains("block"), "{err}");
        let err = Config::parse(r#"{"status":200}"#).unwrap_err();
        assert!(err.contains("status: 200"), "{err}");
        let err = Config::parse(r#"{"client_ip_header":"x forwarded"}"#).unwrap_err();
        assert!(err.contains("client_ip_header"), "{err}");
        let err = Config::parse(r#"{"lists":[" "]}"#).unwrap_err();
        assert!(err.contains("lists[0]"), "{err}");
        assert!(Config::parse("[1,2]").is_err());
        assert!(Config::parse(r#"{"deny":"10.0.0.0/8"}"#).is_err());
    }
}
