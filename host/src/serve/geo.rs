//! The client's country (`[geo]` in `edgewaf.toml`), for the decision event,
//! the event store's top countries and the ECS log.
//!
//! 1. At start, [`CountryDb::load`] reads a CSV of `network,country` lines
//!    (CIDR, ISO 3166-1 alpha-2; IPv4 and IPv6) into two sorted tables of
//!    address ranges, one per family. A line that does not parse, or a range
//!    that overlaps another, stops the start with `file:line` and the reason.
//! 2. Per request, [`Geo::country`] answers from a trusted proxy's header
//!    (`country_header`, only when the peer is in `trusted_proxies`) or from
//!    the table by the peer's address: a binary search, no allocation.

use crate::config::GeoConfig;
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::Path;

/// An ISO 3166-1 alpha-2 code, upper case.
pub type Country = [u8; 2];

/// One range of addresses and its country (`start..=end`).
#[derive(Debug, Clone, Copy)]
struct Span<T> {
    start: T,
    end: T,
    country: Country,
    line: usize,
}

/// Address ranges of both families, sorted, not overlapping.
#[derive(Debug, Default)]
pub struct CountryDb {
    v4: Vec<Span<u32>>,
    v6: Vec<Span<u128>>,
}

/// `XX`/`xx` -> `XX`; anything but two ASCII letters is refused.
pub fn parse_country(s: &str) -> Option<Country> {
    match s.trim().as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

/// The code as text.
pub fn country_str(c: &Country) -> &str {
    std::str::from_utf8(c).unwrap_or("")
}

fn find<T: Copy + Ord>(spans: &[Span<T>], addr: T) -> Option<Country> {
    let i = spans.partition_point(|s| s.start <= addr);
    let s = spans.get(i.checked_sub(1)?)?;
    (addr <= s.end).then_some(s.country)
}

fn sort_and_check<T: Copy + Ord + std::fmt::Debug>(
    spans: &mut [Span<T>],
    file: &Path,
) -> Result<(), String> {
    spans.sort_by_key(|s| s.start);
    for w in spans.windows(2) {
        if w[1].start <= w[0].end {
            return Err(format!(
                "{}:{}: this network overlaps the one on line {} (each address may have one country)",
                file.display(),
                w[1].line.max(w[0].line),
                w[1].line.min(w[0].line),
            ));
        }
    }
    Ok(())
}

impl CountryDb {
    /// Reads `path` (see the module docs). Blank lines and `#` comments are
    /// skipped, and so is a first line starting with `network` (a header).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Self::parse(&text, path)
    }

    /// Parses the CSV text of `file` (named in errors).
    pub fn parse(text: &str, file: &Path) -> Result<Self, String> {
        let mut db = CountryDb::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || (i == 0 && line.starts_with("network")) {
                continue;
            }
            let at = |msg: String| format!("{}:{}: {msg}", file.display(), i + 1);
            let (net, cc) = line
                .split_once(',')
                .ok_or_else(|| at(format!("expected `network,country`, got {line:?}")))?;
            let net: IpNet = net
                .trim()
                .parse()
                .map_err(|_| at(format!("{:?} is not a CIDR network", net.trim())))?;
            let country = parse_country(cc)
                .ok_or_else(|| at(format!("{:?} is not a two-letter country code", cc.trim())))?;
            db.push(net.trunc(), country, i + 1);
        }
        sort_and_check(&mut db.v4, file)?;
        sort_and_check(&mut db.v6, file)?;
        Ok(db)
    }

    fn push(&mut self, net: IpNet, country: Country, line: usize) {
        match net {
            IpNet::V4(n) => self.v4.push(Span {
                start: n.network().into(),
                end: n.broadcast().into(),
                country,
                line,
            }),
            IpNet::V6(n) => self.v6.push(Span {
                start: n.network().into(),
                end: n.broadcast().into(),
                country,
                line,
            }),
        }
    }

    /// The country of `ip` (IPv4-mapped IPv6 addresses are looked up as IPv4).
    pub fn lookup(&self, ip: IpAddr) -> Option<Country> {
        match ip.to_canonical() {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => find(&self.v6, u128::from(a)),
        }
    }

    /// Ranges loaded (IPv4, IPv6).
    pub fn len(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }

    /// True when no range was loaded.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// The country source of a running process.
#[derive(Debug, Default)]
pub struct Geo {
    db: Option<CountryDb>,
    header: Option<String>,
    trusted: Vec<IpNet>,
}

impl Geo {
    /// Loads `[geo]` (the database and the trusted proxies); errors name the
    /// file and line or the field.
    pub fn load(cfg: &GeoConfig) -> Result<Self, String> {
        let db = cfg.country_db.as_deref().map(CountryDb::load).transpose()?;
        let trusted = cfg
            .trusted_proxies
            .iter()
            .map(|s| {
                crate::serve::state::parse_cidr(s)
                    .map_err(|e| format!("[geo] trusted_proxies: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let header = cfg
            .country_header
            .as_ref()
            .map(|h| h.trim().to_ascii_lowercase());
        if header.as_deref() == Some("") {
            return Err("[geo] country_header: empty header name".into());
        }
        if header.is_some() && trusted.is_empty() {
            tracing::warn!(
                "[geo] country_header is set but trusted_proxies is empty: the header is ignored"
            );
        }
        Ok(Geo {
            db,
            header,
            trusted,
        })
    }

    /// True when nothing is configured (no lookups happen).
    pub fn is_off(&self) -> bool {
        self.db.is_none() && (self.header.is_none() || self.trusted.is_empty())
    }

    /// The country of a request from `peer` with `headers`: a trusted proxy's
    /// header when it names one (a proxy's own address says nothing of its
    /// clients, so without the header the country is unknown), else the
    /// database's answer for the peer.
    pub fn country<'a>(
        &self,
        peer: &str,
        mut headers: impl Iterator<Item = (&'a str, &'a [u8])>,
    ) -> Option<Country> {
        if self.is_off() {
            return None;
        }
        let ip: IpAddr = peer.parse().ok()?;
        if let Some(name) = &self.header
            && self.trusted.iter().any(|n| n.contains(&ip.to_canonical()))
        {
            let value = headers.find(|(n, _)| n.eq_ignore_ascii_case(name))?.1;
            let cc = parse_country(std::str::from_utf8(value).ok()?)?;
            // Cloudflare's "XX": no country known.
            return (cc != *b"XX").then_some(cc);
        }
        self.db.as_ref()?.lookup(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(text: &str) -> Result<CountryDb, String> {
        CountryDb::parse(text, Path::new("geo.csv"))
    }

    fn at(db: &CountryDb, ip: &str) -> Option<String> {
        db.lookup(ip.parse().unwrap())
            .map(|c| country_str(&c).to_string())
    }

    const SAMPLE: &str = "network,country\n\
        # test data\n\
        10.0.0.0/8,aa\n\
        192.0.2.0/24,BB\n\
        192.0.2.255/32,XX\n\
        \n\
        2001:db8::/32,CC\n\
        ::1/128,DD\n";

    #[test]
    fn v4_ranges_and_their_edges() {
        let text = SAMPLE.replace("192.0.2.255/32,XX\n", "192.0.3.0/32,EE\n");
        let d = db(&text).unwrap();
        assert_eq!(d.len(), (3, 2));
        assert_eq!(at(&d, "10.0.0.0").as_deref(), Some("AA"), "first address");
        assert_eq!(
            at(&d, "10.255.255.255").as_deref(),
            Some("AA"),
            "last address"
        );
        assert_eq!(at(&d, "9.255.255.255"), None, "just below");
        assert_eq!(at(&d, "11.0.0.0"), None, "just above");
        assert_eq!(at(&d, "192.0.2.128").as_deref(), Some("BB"));
        assert_eq!(at(&d, "192.0.3.0").as_deref(), Some("EE"), "adjacent range");
        assert_eq!(at(&d, "192.0.3.1"), None);
        assert_eq!(at(&d, "0.0.0.0"), None);
        assert_eq!(at(&d, "255.255.255.255"), None);
        assert_eq!(
            at(&d, "::ffff:10.1.2.3").as_deref(),
            Some("AA"),
            "v4-mapped v6"
        );
    }

    #[test]
    fn v6_ranges() {
        let d = db(&SAMPLE.replace("192.0.2.255/32,XX\n", "")).unwrap();
        assert_eq!(at(&d, "2001:db8::").as_deref(), Some("CC"));
        assert_eq!(
            at(&d, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff").as_deref(),
            Some("CC")
        );
        assert_eq!(at(&d, "2001:db9::"), None);
        assert_eq!(at(&d, "::1").as_deref(), Some("DD"));
        assert_eq!(at(&d, "::2"), None);
        assert_eq!(at(&d, "::"), None);
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let e = db(SAMPLE).unwrap_err();
        assert_eq!(
            e,
            "geo.csv:5: this network overlaps the one on line 4 (each address may have one country)"
        );
        let e = db("10.0.0.0/8,AA\n10.0.0.0/33,BB\n").unwrap_err();
        assert_eq!(e, "geo.csv:2: \"10.0.0.0/33\" is not a CIDR network");
        let e = db("10.0.0.0/8,AA\n\n10.1.0.0/16\n").unwrap_err();
        assert!(
            e.starts_with("geo.csv:3: expected `network,country`"),
            "{e}"
        );
        let e = db("10.0.0.0/8,Germany\n").unwrap_err();
        assert_eq!(e, "geo.csv:1: \"Germany\" is not a two-letter country code");
        let e = db("network,country\nnetwork,AA\n").unwrap_err();
        assert!(e.starts_with("geo.csv:2:"), "a header only on line 1: {e}");
        assert!(db("").unwrap().is_empty());
    }

    #[test]
    fn host_bits_are_ignored() {
        let d = db("10.1.2.3/16,AA\n").unwrap();
        assert_eq!(at(&d, "10.1.0.0").as_deref(), Some("AA"));
        assert_eq!(at(&d, "10.2.0.0"), None);
    }

    fn geo(header: bool, trusted: &[&str]) -> Geo {
        Geo {
            db: Some(db("127.0.0.0/8,TT\n").unwrap()),
            header: header.then(|| "cf-ipcountry".to_string()),
            trusted: trusted.iter().map(|t| t.parse().unwrap()).collect(),
        }
    }

    fn country_of(g: &Geo, peer: &str, h: &[(&str, &[u8])]) -> Option<String> {
        g.country(peer, h.iter().copied())
            .map(|c| country_str(&c).to_string())
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let h: &[(&str, &[u8])] = &[("CF-IPCountry", b"de")];
        let untrusted = geo(true, &[]);
        assert_eq!(
            country_of(&untrusted, "127.0.0.1", h).as_deref(),
            Some("TT")
        );
        let trusted = geo(true, &["127.0.0.0/8"]);
        assert_eq!(country_of(&trusted, "127.0.0.1", h).as_deref(), Some("DE"));
        assert_eq!(
            country_of(&trusted, "127.0.0.1", &[]),
            None,
            "proxy without header"
        );
        let bad: &[(&str, &[u8])] = &[("cf-ipcountry", b"Germany")];
        assert_eq!(country_of(&trusted, "127.0.0.1", bad), None);
        let xx: &[(&str, &[u8])] = &[("cf-ipcountry", b"XX")];
        assert_eq!(country_of(&trusted, "127.0.0.1", xx), None);
        let other = geo(true, &["10.0.0.0/8"]);
        assert_eq!(country_of(&other, "127.0.0.1", h).as_deref(), Some("TT"));
        assert_eq!(country_of(&other, "not-an-ip", h), None);
        assert!(Geo::default().is_off());
    }

    #[test]
    fn a_lookup_costs_well_under_a_microsecond() {
        let mut text = String::new();
        for a in 1..=200u32 {
            for b in (0..=255u32).step_by(4) {
                text.push_str(&format!("{a}.{b}.0.0/14,AA\n"));
            }
        }
        let d = db(&text).unwrap();
        assert_eq!(d.len().0, 200 * 64);
        let n = 200_000u32;
        let t = std::time::Instant::now();
        let mut hits = 0;
        for i in 0..n {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(i.wrapping_mul(2_654_435_761)));
            hits += d.lookup(std::hint::black_box(ip)).is_some() as u32;
        }
        let per = t.elapsed() / n;
        eprintln!("{per:?} per lookup over {} ranges", d.len().0);
        assert!(hits > 0);
        assert!(
            per < std::time::Duration::from_nanos(500),
            "{per:?} per lookup"
        );
    }
}
