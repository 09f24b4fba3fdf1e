//! A minimal writer of MaxMind DB (mmdb) files, for tests only: an IPv6 tree
//! (IPv4 networks under `::/96`), 24-bit records, and records of the form
//! `{"country": {"iso_code": "XX"}}` — what a GeoLite2-Country lookup reads.
//! Std only, so the end-to-end tests can include this file too.
//!
//! Format (MaxMind DB spec 2.0): the search tree (two records per node; a
//! record below the node count points to a node, equal means "no data",
//! above points into the data section), 16 zero bytes, the data section, then
//! `\xAB\xCD\xEFMaxMind.com` and the metadata map.

use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// Networks and their country codes, turned into mmdb bytes by [`MmdbWriter::build`].
#[derive(Default)]
pub struct MmdbWriter {
    networks: Vec<(IpAddr, u8, String)>,
}

impl MmdbWriter {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `cidr` (e.g. `"203.0.113.0/24"` or `"2001:db8::/32"`) to `iso_code`.
    /// Add wider networks before narrower ones inside them.
    pub fn insert(mut self, cidr: &str, iso_code: &str) -> Self {
        let (ip, len) = cidr.split_once('/').expect("CIDR with a prefix length");
        let ip: IpAddr = ip.parse().expect("IP address");
        let len: u8 = len.parse().expect("prefix length");
        self.networks.push((ip, len, iso_code.to_string()));
        self
    }

    /// The database file's bytes.
    pub fn build(&self) -> Vec<u8> {
        // Data section: one record per distinct code.
        let mut data = Vec::new();
        let mut offsets = BTreeMap::new();
        for (_, _, code) in &self.networks {
            offsets.entry(code.clone()).or_insert_with(|| {
                let at = data.len();
                let mut inner = BTreeMap::new();
                inner.insert("iso_code", Value::Str(code.clone()));
                let mut outer = BTreeMap::new();
                outer.insert("country", Value::Map(inner));
                Value::Map(outer).encode(&mut data);
                at
            });
        }
        // Search tree over 128 bits.
        let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty, Rec::Empty]];
        for (ip, len, code) in &self.networks {
            let (bits, len) = match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(*v4)), 96 + u32::from(*len)),
                IpAddr::V6(v6) => (u128::from(*v6), u32::from(*len)),
            };
            let data_at = offsets[code];
            let mut node = 0;
            for i in 0..len {
                let bit = ((bits >> (127 - i)) & 1) as usize;
                if i + 1 == len {
                    nodes[node][bit] = Rec::Data(data_at);
                    break;
                }
                node = match nodes[node][bit] {
                    Rec::Node(n) => n,
                    other => {
                        // Split an empty or data record into a node below it.
                        let fill = match other {
                            Rec::Data(d) => Rec::Data(d),
                            _ => Rec::Empty,
                        };
                        nodes.push([fill, fill]);
                        let n = nodes.len() - 1;
                        nodes[node][bit] = Rec::Node(n);
                        n
                    }
                };
            }
        }
        let count = nodes.len();
        let mut out = Vec::new();
        for node in &nodes {
            for rec in node {
                let v = match *rec {
                    Rec::Empty => count,
                    Rec::Node(n) => n,
                    Rec::Data(d) => count + 16 + d,
                };
                let v = u32::try_from(v).expect("fits 24 bits");
                out.extend_from_slice(&v.to_be_bytes()[1..]);
            }
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let mut meta = BTreeMap::new();
        meta.insert("node_count", Value::U32(count as u32));
        meta.insert("record_size", Value::U16(24));
        meta.insert("ip_version", Value::U16(6));
        meta.insert("database_type", Value::Str("edgewaf-test-Country".into()));
        meta.insert("languages", Value::Array(vec![Value::Str("en".into())]));
        meta.insert("binary_format_major_version", Value::U16(2));
        meta.insert("binary_format_minor_version", Value::U16(0));
        meta.insert("build_epoch", Value::U64(1_700_000_000));
        let mut desc = BTreeMap::new();
        desc.insert("en", Value::Str("edgewaf test database".into()));
        meta.insert("description", Value::Map(desc));
        Value::Map(meta).encode(&mut out);
        out
    }
}

/// The few data-section types the writer needs.
enum Value {
    Str(String),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(BTreeMap<&'static str, Value>),
    Array(Vec<Value>),
}

impl Value {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Str(s) => {
                control(out, 2, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            Value::U16(n) => uint(out, 5, u64::from(*n)),
            Value::U32(n) => uint(out, 6, u64::from(*n)),
            Value::U64(n) => uint(out, 9, *n),
            Value::Map(m) => {
                control(out, 7, m.len());
                for (k, v) in m {
                    Value::Str((*k).to_string()).encode(out);
                    v.encode(out);
                }
            }
            Value::Array(items) => {
                control(out, 11, items.len());
                for v in items {
                    v.encode(out);
                }
            }
        }
    }
}

/// Unsigned integers are big-endian with leading zero bytes dropped.
fn uint(out: &mut Vec<u8>, kind: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

/// The control byte(s): type in the top 3 bits (extended types as 0 plus a
/// byte of `type - 7`), size in the low 5 bits with 29/30/31 meaning longer.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (size_bits, extra): (u8, Vec<u8>) = match size {
        0..29 => (size as u8, vec![]),
        29..285 => (29, vec![(size - 29) as u8]),
        285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if kind <= 7 {
        out.push((kind << 5) | size_bits);
    } else {
        out.push(size_bits);
        out.push(kind - 7);
    }
    out.extend_from_slice(&extra);
}
