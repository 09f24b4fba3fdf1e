//! # ip-filter: allow or deny clients by address
//!
//! An edgewaf policy that decides on the client's IP address (IPv4 and IPv6):
//!
//! ```toml
//! [[policy]]
//! module = "ip-filter"
//! [policy.config]
//! deny = ["203.0.113.0/24", "2001:db8::/32"]   # CIDRs or single addresses
//! allow = ["203.0.113.10"]                      # always pass; wins over every deny
//! default = "allow"                             # or "deny": only `allow` passes
//! trusted_proxies = ["10.0.0.0/8"]              # believe X-Forwarded-For from these peers
//! client_ip_header = "x-forwarded-for"          # or e.g. "cf-connecting-ip" behind a CDN
//! lists = ["blocklist"]                         # runtime lists managed by the admin API
//! status = 403                                  # absent: the tenant's deny status
//! mmdb = "/geo/GeoLite2-Country.mmdb"           # a MaxMind-format country database ...
//! countries = ["XX"]                            # ... to deny these countries
//! allow_countries = ["DE", "FR"]                # ... or to let only these pass
//! ```
//!
//! The database is read once in `init` from inside the sandbox: mount its
//! folder in the tenant file (`mounts = { "/geo" = "/var/lib/geoip" }`).
//!
//! The decision, in order:
//!
//! 1. The client is the connection's peer. Only when that peer is in
//!    `trusted_proxies` is `X-Forwarded-For` (or `client_ip_header`) read,
//!    and then the client is the right-most entry that is not itself a trusted
//!    proxy (entries further left were written by the client and prove
//!    nothing). A trusted proxy that
//!    forwards an entry that is not an address gets the request denied
//!    (`ip-filter-bad-client`): better than guessing.
//! 2. In `allow` → allowed, whatever else matches.
//! 3. In `deny` → denied (`ip-filter-deny`, the matched CIDR as data).
//! 4. In one of the runtime `lists` (asked through
//!    [`edgewaf_sdk::host::ip_list_match`]) → denied (`ip-filter-list`).
//! 5. Its country (from `mmdb`) in `countries`, or `allow_countries` set and
//!    the country not in it (or unknown to the database) → denied
//!    (`ip-filter-country`, the country code or `unknown` as data).
//! 6. Otherwise `default`: allowed, or denied (`ip-filter-default`).
//!
//! Every verdict carries the annotation `client.ip` with the effective client
//! address, so later policies (rate limits, logs) use the same answer.
#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod geo;
#[cfg(test)]
mod mmdb_writer;

use client::{ClientError, effective_client};
use config::{Config, DefaultAction, find};
use edgewaf_sdk::prelude::*;
use geo::Geo;

/// The policy: the checked config and the country database, if any.
pub struct IpFilter {
    config: Config,
    geo: Option<Geo>,
}

impl Policy for IpFilter {
    fn init(config: &str) -> Result<Self, String> {
        let config = Config::parse(config)?;
        let geo = config.mmdb.as_deref().map(Geo::open).transpose()?;
        Ok(IpFilter { config, geo })
    }

    fn on_request(&self, req: &Request) -> Verdict {
        let c = &self.config;
        let ip = match effective_client(req, &c.trusted_proxies, &c.client_ip_header) {
            Ok((ip, _)) => ip,
            Err(err) => {
                let (msg, data) = match err {
                    ClientError::BadPeer(a) => ("peer address is not an IP address", a),
                    ClientError::BadForwardedFor(a) => (
                        "trusted proxy forwarded an X-Forwarded-For entry that is not an IP address",
                        a,
                    ),
                };
                return self.deny(
                    format!("ip-filter: {msg}"),
                    finding("ip-filter-bad-client", msg, &data),
                );
            }
        };
        let verdict = if find(&c.allow, &ip).is_some() {
            Verdict::allow()
        } else if let Some(net) = find(&c.deny, &ip) {
            self.deny(
                format!("ip-filter: {ip} in deny list ({net})"),
                finding(
                    "ip-filter-deny",
                    "client address in deny list",
                    &net.to_string(),
                ),
            )
        } else if let Some((list, net)) = self.runtime_match(&ip.to_string()) {
            self.deny(
                format!("ip-filter: {ip} in runtime list {list} ({net})"),
                finding(
                    "ip-filter-list",
                    "client address in runtime IP list",
                    &format!("{list}:{net}"),
                ),
            )
        } else if let Some(country) = self.country_denied(ip) {
            self.deny(
                format!("ip-filter: {ip} from country {country}"),
                finding(
                    "ip-filter-country",
                    "client address from a blocked country",
                    &country,
                ),
            )
        } else if c.default == DefaultAction::Deny {
            self.deny(
                format!("ip-filter: {ip} not in allow list"),
                finding(
                    "ip-filter-default",
                    "client address not allowed (default deny)",
                    &ip.to_string(),
                ),
            )
        } else {
            Verdict::allow()
        };
        verdict.with_annotation("client.ip", ip.to_string())
    }
}

impl IpFilter {
    fn deny(&self, reason: String, finding: Finding) -> Verdict {
        Verdict::deny_status(self.config.status, reason).with_finding(finding)
    }

    /// The client's country (or `unknown`) when the country rules deny it.
    fn country_denied(&self, ip: std::net::IpAddr) -> Option<String> {
        let geo = self.geo.as_ref()?;
        let c = &self.config;
        if c.countries.is_empty() && c.allow_countries.is_empty() {
            return None;
        }
        let country = geo.country(ip);
        match &country {
            Some(code) if c.countries.contains(code) => country,
            Some(code) if !c.allow_countries.is_empty() && !c.allow_countries.contains(code) => {
                country
            }
            None if !c.allow_countries.is_empty() => Some("unknown".into()),
            _ => None,
        }
    }

    /// The first runtime list holding `ip`, with the matching entry.
    fn runtime_match(&self, ip: &str) -> Option<(&str, String)> {
        self.config
            .lists
            .iter()
            .find_map(|name| host::ip_list_match(name, ip).map(|net| (name.as_str(), net)))
    }
}

fn finding(id: &str, msg: &str, data: &str) -> Finding {
    Finding::new(id, msg)
        .severity(Severity::Warning)
        .tag("ip-filter")
        .data(data)
}

edgewaf_sdk::export_policy!(IpFilter);

#[cfg(test)]
mod tests {
    use super::*;
    use edgewaf_sdk::testing::{Harness, with_host};

    fn from(h: &Harness<IpFilter>, peer: &str) -> Verdict {
        h.on_request(&Request::builder().client(peer).build())
    }

    fn via(h: &Harness<IpFilter>, peer: &str, xff: &str) -> Verdict {
        h.on_request(
            &Request::builder()
                .client(peer)
                .header("X-Forwarded-For", xff)
                .build(),
        )
    }

    fn ann<'a>(v: &'a Verdict, key: &str) -> Option<&'a str> {
        v.annotations
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    #[test]
    fn deny_list_v4_and_v6() {
        let h = Harness::<IpFilter>::new(r#"{"deny":["203.0.113.0/24","2001:db8::/32"]}"#).unwrap();
        let v = from(&h, "203.0.113.77");
        assert!(v.is_deny());
        assert_eq!(v.rule_ids(), vec!["ip-filter-deny"]);
        assert_eq!(v.findings[0].data, "203.0.113.0/24");
        assert_eq!(
            v.deny_status_code(),
            Some(0),
            "tenant's deny status by default"
        );
        let v = from(&h, "2001:db8:1::5");
        assert!(v.is_deny());
        assert_eq!(v.findings[0].data, "2001:db8::/32");
        assert!(from(&h, "203.0.114.1").is_allow());
        assert!(from(&h, "2001:db9::1").is_allow());
        assert!(from(&h, "127.0.0.1").is_allow());
    }

    #[test]
    fn mapped_ipv6_peer_matches_ipv4_entry() {
        let h = Harness::<IpFilter>::new(r#"{"deny":["203.0.113.0/24"]}"#).unwrap();
        let v = from(&h, "::ffff:203.0.113.9");
        assert!(v.is_deny());
        assert_eq!(ann(&v, "client.ip"), Some("203.0.113.9"));
    }

    #[test]
    fn allow_wins_over_deny() {
        let h =
            Harness::<IpFilter>::new(r#"{"deny":["203.0.113.0/24"],"allow":["203.0.113.10/32"]}"#)
                .unwrap();
        assert!(from(&h, "203.0.113.10").is_allow());
        assert!(from(&h, "203.0.113.11").is_deny());
    }

    #[test]
    fn default_deny_lets_only_allowed_through() {
        let h = Harness::<IpFilter>::new(
            r#"{"allow":["10.0.0.0/8","2001:db8:aa::/48"],"default":"deny","status":403}"#,
        )
        .unwrap();
        assert!(from(&h, "10.200.3.4").is_allow());
        assert!(from(&h, "2001:db8:aa:1::1").is_allow());
        let v = from(&h, "192.0.2.1");
        assert!(v.is_deny());
        assert_eq!(v.deny_status_code(), Some(403));
        assert_eq!(v.rule_ids(), vec!["ip-filter-default"]);
        assert_eq!(v.findings[0].data, "192.0.2.1");
        assert!(from(&h, "2001:db8:ab::1").is_deny());
    }

    #[test]
    fn annotation_carries_the_effective_client() {
        let h = Harness::<IpFilter>::new(r#"{"trusted_proxies":["10.0.0.0/8"]}"#).unwrap();
        let v = from(&h, "192.0.2.44");
        assert!(v.is_allow());
        assert_eq!(ann(&v, "client.ip"), Some("192.0.2.44"));
        let v = via(&h, "10.0.0.1", "198.51.100.3");
        assert_eq!(ann(&v, "client.ip"), Some("198.51.100.3"));
    }

    #[test]
    fn xff_is_ignored_by_default() {
        // A client cannot escape the deny list (or fake an allowed address) with a header.
        let h = Harness::<IpFilter>::new(r#"{"deny":["203.0.113.0/24"]}"#).unwrap();
        let v = via(&h, "203.0.113.5", "198.51.100.1");
        assert!(v.is_deny());
        assert_eq!(ann(&v, "client.ip"), Some("203.0.113.5"));
        let h = Harness::<IpFilter>::new(r#"{"allow":["10.0.0.0/8"],"default":"deny"}"#).unwrap();
        assert!(via(&h, "192.0.2.1", "10.0.0.1").is_deny());
    }

    #[test]
    fn xff_from_trusted_proxy_decides() {
        let h = Harness::<IpFilter>::new(
            r#"{"deny":["203.0.113.0/24"],"trusted_proxies":["10.0.0.0/8","2001:db8:ffff::/48"]}"#,
        )
        .unwrap();
        assert!(via(&h, "10.0.0.1", "203.0.113.5").is_deny());
        assert!(via(&h, "10.0.0.1", "198.51.100.1").is_allow());
        // The proxy itself is not denied, the client it forwards for is.
        assert!(via(&h, "2001:db8:ffff::1", "203.0.113.5, 10.0.0.3").is_deny());
        // A forged left-most entry does not help an attacker.
        assert!(via(&h, "10.0.0.1", "198.51.100.1, 203.0.113.5").is_deny());
        // Nor does a forged denied address hurt an innocent client.
        assert!(via(&h, "10.0.0.1", "203.0.113.5, 198.51.100.1").is_allow());
    }

    #[test]
    fn garbage_xff_from_trusted_proxy_is_denied() {
        let h =
            Harness::<IpFilter>::new(r#"{"trusted_proxies":["10.0.0.0/8"],"status":400}"#).unwrap();
        let v = via(&h, "10.0.0.1", "not-an-address");
        assert!(v.is_deny());
        assert_eq!(v.deny_status_code(), Some(400));
        assert_eq!(v.rule_ids(), vec!["ip-filter-bad-client"]);
        assert_eq!(v.findings[0].data, "not-an-address");
    }

    #[test]
    fn runtime_lists_deny() {
        let h =
            Harness::<IpFilter>::new(r#"{"lists":["abuse","blocklist"],"allow":["192.0.2.9"]}"#)
                .unwrap();
        assert!(from(&h, "198.51.100.7").is_allow());
        with_host(|host| {
            host.add_list_entry("blocklist", "198.51.100.0/24");
            host.add_list_entry("blocklist", "192.0.2.0/24");
            host.add_list_entry("other", "2001:db8::/32");
        });
        let v = from(&h, "198.51.100.7");
        assert!(v.is_deny());
        assert_eq!(v.rule_ids(), vec!["ip-filter-list"]);
        assert_eq!(v.findings[0].data, "blocklist:198.51.100.0/24");
        // Lists this policy does not name are not consulted.
        assert!(from(&h, "2001:db8::1").is_allow());
        // The static allow list still wins.
        assert!(from(&h, "192.0.2.9").is_allow());
        assert!(from(&h, "192.0.2.10").is_deny());
    }

    #[test]
    fn static_deny_reported_before_runtime_list() {
        let h = Harness::<IpFilter>::new(r#"{"deny":["198.51.100.0/25"],"lists":["blocklist"]}"#)
            .unwrap();
        with_host(|host| host.add_list_entry("blocklist", "198.51.100.0/24"));
        assert_eq!(from(&h, "198.51.100.1").rule_ids(), vec!["ip-filter-deny"]);
        assert_eq!(
            from(&h, "198.51.100.200").rule_ids(),
            vec!["ip-filter-list"]
        );
    }

    #[test]
    fn bad_peer_address_fails_closed() {
        let h = Harness::<IpFilter>::new("{}").unwrap();
        let v = from(&h, "garbage");
        assert!(v.is_deny());
        assert_eq!(v.rule_ids(), vec!["ip-filter-bad-client"]);
    }

    #[test]
    fn init_errors_name_the_entry() {
        let err = Harness::<IpFilter>::new(r#"{"deny":["203.0.113.0/24","203.0.113.0/99"]}"#)
            .err()
            .unwrap();
        assert!(
            err.contains("deny[1]") && err.contains("203.0.113.0/99"),
            "{err}"
        );
        let err = Harness::<IpFilter>::new(r#"{"deny":[],"trusted_proxy":[]}"#)
            .err()
            .unwrap();
        assert!(err.contains("trusted_proxy"), "{err}");
    }

    /// Writes a test database to a temporary file; returns its path.
    fn mmdb_file(name: &str) -> String {
        let db = crate::mmdb_writer::MmdbWriter::new()
            .insert("203.0.113.0/24", "XX")
            .insert("198.51.100.0/24", "DE")
            .insert("2001:db8::/32", "XX")
            .build();
        let path =
            std::env::temp_dir().join(format!("ip-filter-{}-{name}.mmdb", std::process::id()));
        std::fs::write(&path, db).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn countries_deny() {
        let path = mmdb_file("deny");
        let h = Harness::<IpFilter>::new(&format!(
            r#"{{"mmdb":{path:?},"countries":["xx"],"allow":["203.0.113.5"]}}"#
        ))
        .unwrap();
        let v = from(&h, "203.0.113.9");
        assert!(v.is_deny());
        assert_eq!(v.rule_ids(), vec!["ip-filter-country"]);
        assert_eq!(v.findings[0].data, "XX");
        assert!(from(&h, "2001:db8::1").is_deny());
        assert!(from(&h, "198.51.100.1").is_allow(), "another country");
        assert!(from(&h, "192.0.2.1").is_allow(), "unknown to the database");
        assert!(from(&h, "203.0.113.5").is_allow(), "the allow list wins");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn allow_countries_let_only_those_pass() {
        let path = mmdb_file("allow");
        let h = Harness::<IpFilter>::new(&format!(
            r#"{{"mmdb":{path:?},"allow_countries":["DE"],"status":451}}"#
        ))
        .unwrap();
        assert!(from(&h, "198.51.100.7").is_allow());
        let v = from(&h, "203.0.113.9");
        assert!(v.is_deny());
        assert_eq!(v.deny_status_code(), Some(451));
        assert_eq!(v.findings[0].data, "XX");
        let v = from(&h, "192.0.2.1");
        assert!(v.is_deny(), "an address the database does not place");
        assert_eq!(v.findings[0].data, "unknown");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn missing_or_bad_database_fails_init() {
        let err = Harness::<IpFilter>::new(r#"{"mmdb":"/nonexistent/c.mmdb","countries":["XX"]}"#)
            .err()
            .unwrap();
        assert!(
            err.contains("mmdb") && err.contains("/nonexistent/c.mmdb"),
            "{err}"
        );
        let path = std::env::temp_dir().join(format!("ip-filter-{}-bad.mmdb", std::process::id()));
        std::fs::write(&path, b"garbage").unwrap();
        let err = Harness::<IpFilter>::new(&format!(r#"{{"mmdb":{:?}}}"#, path.to_string_lossy()))
            .err()
            .unwrap();
        assert!(err.contains("not a MaxMind database"), "{err}");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn no_capabilities_needed() {
        let h = Harness::<IpFilter>::new("{}").unwrap();
        assert_eq!(h.policy().capabilities(), Capabilities::default());
    }
}
