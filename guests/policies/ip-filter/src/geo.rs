//! Country lookups in a MaxMind-format database (GeoLite2-Country, GeoIP2-Country
//! or GeoIP2-City: any database whose records carry `country.iso_code`). The file
//! is read once in `init`; lookups then touch only memory.

use maxminddb::{PathElement, Reader};
use std::net::IpAddr;

/// An opened country database.
pub struct Geo {
    reader: Reader<Vec<u8>>,
}

impl Geo {
    /// Reads and checks the database at `path` (a path inside the sandbox).
    pub fn open(path: &str) -> Result<Geo, String> {
        let bytes = std::fs::read(path).map_err(|e| {
            format!(
                "ip-filter config: mmdb: cannot read {path:?} ({e}); mount its folder into the \
                 policy, e.g. mounts = {{ \"/geo\" = \"geo\" }} with mmdb = \"/geo/GeoLite2-Country.mmdb\""
            )
        })?;
        Geo::from_bytes(bytes)
            .map_err(|e| format!("ip-filter config: mmdb: {path:?} is not a MaxMind database: {e}"))
    }

    /// Checks a database given as bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Geo, String> {
        let reader = Reader::from_source(bytes).map_err(|e| e.to_string())?;
        Ok(Geo { reader })
    }

    /// The upper-case ISO code of the country `ip` is in (the registered
    /// country when the database has no physical one), if the database knows.
    /// A lookup error (a corrupt record) is `None`: the caller decides what
    /// "unknown" means.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let found = self.reader.lookup(ip).ok()?;
        ["country", "registered_country"].iter().find_map(|field| {
            found
                .decode_path::<String>(&[PathElement::Key(field), PathElement::Key("iso_code")])
                .ok()
                .flatten()
                .map(|c| c.to_ascii_uppercase())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmdb_writer::MmdbWriter;

    #[test]
    fn looks_up_v4_and_v6_networks() {
        let db = MmdbWriter::new()
            .insert("203.0.113.0/24", "XX")
            .insert("198.51.100.0/24", "YY")
            .insert("198.51.100.128/25", "ZZ")
            .insert("2001:db8::/32", "XX")
            .build();
        let geo = Geo::from_bytes(db).unwrap();
        let at = |s: &str| geo.country(s.parse().unwrap());
        assert_eq!(at("203.0.113.77").as_deref(), Some("XX"));
        assert_eq!(at("198.51.100.1").as_deref(), Some("YY"));
        assert_eq!(
            at("198.51.100.200").as_deref(),
            Some("ZZ"),
            "narrower network wins"
        );
        assert_eq!(at("2001:db8:5::1").as_deref(), Some("XX"));
        assert_eq!(at("192.0.2.1"), None);
        assert_eq!(at("2001:db9::1"), None);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(Geo::from_bytes(b"not a database".to_vec()).is_err());
        let err = Geo::open("/nonexistent/GeoLite2-Country.mmdb")
            .err()
            .unwrap();
        assert!(err.contains("mmdb") && err.contains("mounts"), "{err}");
    }
}
