//! `@ipMatch`: the input is an IP address within one of the listed addresses
//! or CIDR ranges (IPv4 and IPv6, comma-separated).
use super::{OpContext, Operator};
use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Debug)]
pub(super) struct IpMatch {
    nets: Vec<IpNet>,
}

impl IpMatch {
    pub(super) fn new(arg: &str) -> Result<Self, String> {
        Self::from_entries(arg.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    pub(super) fn from_entries<'a>(entries: impl Iterator<Item = &'a str>) -> Result<Self, String> {
        let mut nets = Vec::new();
        for e in entries {
            let net = e
                .parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("@ipMatch: {e:?} is not an IP address or CIDR range"))?;
            nets.push(net);
        }
        if nets.is_empty() {
            return Err("@ipMatch needs at least one address".into());
        }
        Ok(IpMatch { nets })
    }
}

impl Operator for IpMatch {
    fn depends(&self) -> super::Depends<'_> {
        super::Depends::Nothing
    }

    fn evaluate(&self, _ctx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let Ok(s) = std::str::from_utf8(input) else {
            return false;
        };
        let Ok(ip) = s.trim().parse::<IpAddr>() else {
            return false;
        };
        self.nets.iter().any(|n| n.contains(&ip))
    }
}
