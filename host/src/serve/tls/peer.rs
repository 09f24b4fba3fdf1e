//! What policies learn about a TLS connection: the WIT `tls-info` record of a
//! finished handshake and the facts of the verified client certificate
//! (RFC 4514 names, serial, SANs, SHA-256, expiry).

use crate::serve::runtime::{PeerCertificate, TlsInfo};
use rustls::{ProtocolVersion, ServerConnection};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use x509_parser::asn1_rs::{Tag, ToDer};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// The WIT `tls-info` of a finished handshake: version, cipher suite, SNI and
/// the facts of the verified client certificate, if one was sent. Fails only
/// if the (already verified) certificate cannot be parsed.
pub fn tls_info(conn: &ServerConnection) -> Result<TlsInfo, String> {
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| {
            let suite = s.suite();
            suite
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{suite:?}"))
        })
        .unwrap_or_default();
    let client_cert = match conn.peer_certificates().and_then(|c| c.first()) {
        Some(der) => Some(peer_certificate(der)?),
        None => None,
    };
    Ok(TlsInfo {
        version,
        cipher,
        sni: conn.server_name().map(str::to_string),
        client_cert,
    })
}

/// The facts policies get about a certificate: subject and issuer as RFC 4514
/// strings, serial as lower-case hex (the DER integer's bytes, without a
/// leading sign byte), DNS and URI SANs, SHA-256 of the DER (lower-case hex),
/// and not-after as Unix seconds.
pub fn peer_certificate(der: &[u8]) -> Result<PeerCertificate, String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("client certificate: {e}"))?;
    let mut dns_names = Vec::new();
    let mut uris = Vec::new();
    if let Some(san) = cert
        .subject_alternative_name()
        .map_err(|e| format!("client certificate SAN: {e}"))?
    {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => dns_names.push(n.to_string()),
                GeneralName::URI(u) => uris.push(u.to_string()),
                _ => {}
            }
        }
    }
    let serial = cert.raw_serial();
    let serial = match serial.iter().position(|&b| b != 0) {
        Some(first) => &serial[first..],
        None => &serial[serial.len().saturating_sub(1)..],
    };
    Ok(PeerCertificate {
        subject: rfc4514(cert.subject())?,
        issuer: rfc4514(cert.issuer())?,
        serial: hex::encode(serial),
        dns_names,
        uris,
        sha256: hex::encode(Sha256::digest(der)),
        not_after: u64::try_from(cert.validity().not_after.timestamp()).unwrap_or(0),
    })
}

/// RFC 4514: RDNs last-to-first, joined by `,`; the values of a multi-valued
/// RDN joined by `+`; known attribute types by their short name, others as a
/// dotted OID; string values escaped, other values as `#` and the hex of
/// their DER encoding.
pub fn rfc4514(name: &X509Name<'_>) -> Result<String, String> {
    let mut out = String::new();
    for (i, rdn) in name
        .iter()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = atv.attr_type().to_id_string();
            let short = match oid.as_str() {
                "2.5.4.3" => Some("CN"),
                "2.5.4.7" => Some("L"),
                "2.5.4.8" => Some("ST"),
                "2.5.4.10" => Some("O"),
                "2.5.4.11" => Some("OU"),
                "2.5.4.6" => Some("C"),
                "2.5.4.9" => Some("STREET"),
                "0.9.2342.19200300.100.1.25" => Some("DC"),
                "0.9.2342.19200300.100.1.1" => Some("UID"),
                _ => None,
            };
            out.push_str(short.unwrap_or(&oid));
            out.push('=');
            let value = atv.attr_value();
            match (short, string_value(value.tag(), value.data)) {
                (Some(_), Some(s)) => escape_value(&s, &mut out),
                _ => {
                    let der = value
                        .to_der_vec()
                        .map_err(|e| format!("distinguished name value: {e}"))?;
                    out.push('#');
                    out.push_str(&hex::encode(der));
                }
            }
        }
    }
    Ok(out)
}

/// The text of a directory string, or `None` for other value types.
fn string_value(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_string),
        // T.61 in practice carries Latin-1.
        Tag::TeletexString => Some(data.iter().map(|&b| b as char).collect()),
        Tag::BmpString => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        Tag::UniversalString => {
            if !data.len().is_multiple_of(4) {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// RFC 4514 section 2.4: `\` before `"+,;<>\`, before a leading `#` or
/// space and a trailing space; NUL and other control characters as `\hh`.
fn escape_value(s: &str, out: &mut String) {
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:02x}");
                }
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::tls::tests::{ca, leaf};
    use rcgen::{DistinguishedName, DnType, Issuer, SanType};

    #[test]
    fn facts_of_a_certificate() {
        let (cap, cakey, _) = ca("Test CA");
        let issuer = Issuer::from_params(&cap, &cakey);
        let (cert, _) = leaf(
            " pos-17#",
            vec![
                SanType::DnsName("pos-17.terminals.test".try_into().unwrap()),
                SanType::URI("spiffe://acme.test/pos/17".try_into().unwrap()),
                SanType::IpAddress("10.1.2.3".parse().unwrap()),
            ],
            &[0x00, 0x8f, 0x01, 0xab],
            &issuer,
        );
        let der = cert.der().to_vec();
        let facts = peer_certificate(&der).unwrap();
        assert_eq!(facts.subject, r"CN=\ pos-17#,O=Acme\, Inc.,C=DE");
        assert_eq!(facts.issuer, "CN=Test CA,O=Acme");
        assert_eq!(facts.serial, "8f01ab");
        assert_eq!(facts.dns_names, vec!["pos-17.terminals.test"]);
        assert_eq!(facts.uris, vec!["spiffe://acme.test/pos/17"]);
        assert_eq!(facts.sha256, hex::encode(Sha256::digest(&der)));
        assert_eq!(facts.sha256.len(), 64);
        // 2031-05-17T00:00:00Z
        assert_eq!(facts.not_after, 1_936_742_400);
    }

    #[test]
    fn rfc4514_escapes_and_unknown_types() {
        let mut s = String::new();
        escape_value("#a+b; c<d>\"e\\ ", &mut s);
        assert_eq!(s, r#"\#a\+b\; c\<d\>\"e\\\ "#);
        let mut s = String::new();
        escape_value("a\u{0}b", &mut s);
        assert_eq!(s, r"a\00b");

        let (mut cap, cakey, _) = ca("x");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), "SN-1");
        dn.push(DnType::CommonName, "José");
        cap.distinguished_name = dn;
        let der = cap.self_signed(&cakey).unwrap().der().to_vec();
        let facts = peer_certificate(&der).unwrap();
        // serialNumber (2.5.4.5) has no short name: `#` + DER hex (UTF8String "SN-1").
        assert_eq!(facts.subject, "CN=José,2.5.4.5=#0c04534e2d31");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(peer_certificate(b"").is_err());
        assert!(peer_certificate(&[0x30, 0x82, 0xff, 0xff, 1, 2, 3]).is_err());
    }
}
