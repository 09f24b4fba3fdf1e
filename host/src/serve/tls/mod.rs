//! TLS termination for the proxy listener (`[server.tls]`): rustls with the
//! `ring` provider, TLS 1.2 and 1.3, server certificates chosen by SNI, and
//! optional or required client certificates verified against a CA bundle with
//! CRLs. ALPN offers `h2` and `http/1.1`. After the handshake, [`tls_info`]
//! turns the connection into the WIT `tls-info` record that policies such as
//! `auth-mtls` read.
//!
//! Everything is read and checked at startup: a missing, empty or broken file
//! is an error naming the field of `[server.tls]`, the file and what is wrong.

use crate::config::{ClientAuth, TlsConfig};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use x509_parser::prelude::{FromDer, X509Certificate};

mod peer;

pub use peer::{peer_certificate, rfc4514, tls_info};

/// ALPN protocol ids the proxy offers, most preferred first: HTTP/2, then
/// HTTP/1.1 (see [`crate::serve::proxy`] for how each is served).
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN id of HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// A problem with `[server.tls]` or one of its files.
#[derive(Debug, thiserror::Error)]
#[error("[server.tls] {0}")]
pub struct TlsError(String);

fn err(msg: impl Into<String>) -> TlsError {
    TlsError(msg.into())
}

/// The crypto provider: `ring`.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the acceptor for `[server.tls]`.
pub fn acceptor(cfg: &TlsConfig) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    Ok(tokio_rustls::TlsAcceptor::from(server_config(cfg)?))
}

/// Builds the rustls server config: reads every file, checks the keys match
/// their certificates, and sets up client-certificate verification.
pub fn server_config(cfg: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = provider();
    let resolver = SniResolver::load(cfg, &provider)?;

    let verifier = match cfg.client_auth {
        ClientAuth::None => {
            if cfg.client_ca.is_some() || !cfg.crls.is_empty() {
                return Err(err(
                    "`client_ca`/`crls` are set but `client_auth` is \"none\": set client_auth = \"optional\" or \"required\", or remove them",
                ));
            }
            WebPkiClientVerifier::no_client_auth()
        }
        mode => {
            let Some(ca_path) = &cfg.client_ca else {
                return Err(err(format!(
                    "`client_auth = \"{}\"` needs `client_ca = \"ca.pem\"` (the CA bundle client certificates must chain to)",
                    if mode == ClientAuth::Required {
                        "required"
                    } else {
                        "optional"
                    }
                )));
            };
            let mut roots = RootCertStore::empty();
            for (i, der) in read_certs(ca_path, "client_ca")?.into_iter().enumerate() {
                roots.add(der).map_err(|e| {
                    err(format!(
                        "client_ca = {}: certificate #{} is not a usable CA certificate: {e}",
                        ca_path.display(),
                        i + 1
                    ))
                })?;
            }
            let mut crls = Vec::new();
            for (i, path) in cfg.crls.iter().enumerate() {
                crls.extend(read_crls(path, &format!("crls[{i}]"))?);
            }
            // A CRL decides for the certificates of its issuer; a CA of the
            // bundle without a CRL here is accepted without a revocation check.
            let mut builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .with_crls(crls)
                    .allow_unknown_revocation_status();
            if mode == ClientAuth::Optional {
                builder = builder.allow_unauthenticated();
            }
            builder
                .build()
                .map_err(|e| err(format!("client verification: {e}")))?
        }
    };

    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| err(format!("protocol versions: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

fn read_file(path: &Path, field: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| err(format!("{field} = {}: cannot read: {e}", path.display())))
}

fn read_certs(path: &Path, field: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_file(path, field)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("{field} = {}: not valid PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(err(format!(
            "{field} = {}: no CERTIFICATE block found (PEM expected)",
            path.display()
        )));
    }
    for (i, der) in certs.iter().enumerate() {
        if let Err(e) = X509Certificate::from_der(der) {
            return Err(err(format!(
                "{field} = {}: certificate #{} is not a valid X.509 certificate: {e}",
                path.display(),
                i + 1
            )));
        }
    }
    Ok(certs)
}

fn read_key(path: &Path, field: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_file(path, field)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => err(format!(
            "{field} = {}: no private key found (PEM \"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\" expected)",
            path.display()
        )),
        e => err(format!("{field} = {}: not a valid PEM key: {e}", path.display())),
    })
}

fn read_crls(
    path: &Path,
    field: &str,
) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bytes = read_file(path, field)?;
    let crls = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("{field} = {}: not valid PEM: {e}", path.display())))?;
    if crls.is_empty() {
        return Err(err(format!(
            "{field} = {}: no X509 CRL block found (PEM expected)",
            path.display()
        )));
    }
    for (i, der) in crls.iter().enumerate() {
        if let Err(e) = x509_parser::parse_x509_crl(der) {
            return Err(err(format!(
                "{field} = {}: CRL #{} is not a valid X.509 CRL: {e}",
                path.display(),
                i + 1
            )));
        }
    }
    Ok(crls)
}

/// Picks the server certificate by SNI: an exact name, then a `*.` wildcard
/// one label deep, else the first certificate.
#[derive(Debug)]
struct SniResolver {
    exact: HashMap<String, Arc<CertifiedKey>>,
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl SniResolver {
    fn load(cfg: &TlsConfig, provider: &CryptoProvider) -> Result<Self, TlsError> {
        if cfg.certs.is_empty() {
            return Err(err(
                "`certs` is empty: give at least one { cert = \"server.pem\", key = \"server-key.pem\" }",
            ));
        }
        let mut exact = HashMap::new();
        let mut wildcard = HashMap::new();
        let mut default = None;
        for (i, c) in cfg.certs.iter().enumerate() {
            let chain = read_certs(&c.cert, &format!("certs[{i}].cert"))?;
            let key = read_key(&c.key, &format!("certs[{i}].key"))?;
            let ck = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
                err(format!(
                    "certs[{i}]: key {} does not fit certificate {}: {e}",
                    c.key.display(),
                    c.cert.display()
                ))
            })?;
            let ck = Arc::new(ck);
            for name in &c.sni {
                let lower = name.trim_end_matches('.').to_ascii_lowercase();
                let (map, key) = match lower.strip_prefix("*.") {
                    Some(rest) => (&mut wildcard, rest.to_string()),
                    None => (&mut exact, lower.clone()),
                };
                if key.is_empty()
                    || key.contains('*')
                    || !key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                {
                    return Err(err(format!(
                        "certs[{i}].sni: {name:?} is not a host name (a `*.` prefix is the only wildcard)"
                    )));
                }
                if map.insert(key, ck.clone()).is_some() {
                    return Err(err(format!(
                        "certs[{i}].sni: {name:?} is already given to another certificate"
                    )));
                }
            }
            default.get_or_insert(ck);
        }
        Ok(SniResolver {
            exact,
            wildcard,
            default: default.expect("certs is not empty"),
        })
    }

    fn pick(&self, server_name: Option<&str>) -> Arc<CertifiedKey> {
        if let Some(name) = server_name {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if let Some(ck) = self.exact.get(&name) {
                return ck.clone();
            }
            if let Some((_, parent)) = name.split_once('.')
                && let Some(ck) = self.wildcard.get(parent)
            {
                return ck.clone();
            }
        }
        self.default.clone()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.pick(client_hello.server_name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsCertConfig;
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
        SanType,
    };
    use rustls::ServerConnection;
    use std::path::PathBuf;

    pub(super) fn ca(cn: &str) -> (CertificateParams, KeyPair, String) {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Acme");
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        let pem = p.self_signed(&key).unwrap().pem();
        (p, key, pem)
    }

    pub(super) fn leaf(
        cn: &str,
        sans: Vec<SanType>,
        serial: &[u8],
        issuer: &Issuer<'_, &KeyPair>,
    ) -> (rcgen::Certificate, KeyPair) {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.subject_alt_names = sans;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "DE");
        dn.push(DnType::OrganizationName, "Acme, Inc.");
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p.serial_number = Some(serial.to_vec().into());
        p.not_after = rcgen::date_time_ymd(2031, 5, 17);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, issuer).unwrap();
        (cert, key)
    }

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new() -> Self {
            Files {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        fn put(&self, name: &str, text: &str) -> PathBuf {
            let p = self.dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    fn server(files: &Files, name: &str, sni: &[&str]) -> TlsCertConfig {
        server_and_ca(files, name, sni).0
    }

    fn server_and_ca(files: &Files, name: &str, sni: &[&str]) -> (TlsCertConfig, String) {
        let (cap, cakey, ca_pem) = ca(&format!("{name} CA"));
        let issuer = Issuer::from_params(&cap, &cakey);
        let (cert, key) = leaf(
            name,
            vec![SanType::DnsName(name.try_into().unwrap())],
            &[1],
            &issuer,
        );
        let c = TlsCertConfig {
            cert: files.put(&format!("{name}.pem"), &cert.pem()),
            key: files.put(&format!("{name}-key.pem"), &key.serialize_pem()),
            sni: sni.iter().map(|s| s.to_string()).collect(),
        };
        (c, ca_pem)
    }

    fn cfg(certs: Vec<TlsCertConfig>) -> TlsConfig {
        TlsConfig {
            certs,
            client_auth: ClientAuth::None,
            client_ca: None,
            crls: Vec::new(),
        }
    }

    fn error_of(c: &TlsConfig) -> String {
        server_config(c).expect_err("an error").to_string()
    }

    #[test]
    fn valid_configs_build() {
        let f = Files::new();
        let mut c = cfg(vec![
            server(&f, "a.test", &["a.test"]),
            server(&f, "b.test", &["b.test", "*.b.test"]),
        ]);
        server_config(&c).unwrap();
        let (_, _, ca_pem) = ca("Clients");
        c.client_ca = Some(f.put("ca.pem", &ca_pem));
        c.client_auth = ClientAuth::Required;
        server_config(&c).unwrap();
        c.client_auth = ClientAuth::Optional;
        server_config(&c).unwrap();
    }

    #[test]
    fn sni_picks_exact_wildcard_then_default() {
        let f = Files::new();
        let c = cfg(vec![
            server(&f, "a.test", &["a.test"]),
            server(&f, "b.test", &["B.test", "*.b.test"]),
        ]);
        let r = SniResolver::load(&c, &provider()).unwrap();
        let a = r.pick(Some("a.test"));
        let b = r.pick(Some("b.test"));
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&r.pick(Some("X.B.TEST")), &b));
        assert!(
            Arc::ptr_eq(&r.pick(Some("y.x.b.test")), &a),
            "one label only"
        );
        assert!(Arc::ptr_eq(&r.pick(Some("other.test")), &a));
        assert!(Arc::ptr_eq(&r.pick(None), &a));
    }

    #[test]
    fn config_errors_name_field_file_and_problem() {
        let f = Files::new();
        let good = server(&f, "a.test", &[]);

        let e = error_of(&cfg(vec![]));
        assert!(e.contains("`certs` is empty"), "{e}");

        let mut missing = good.clone();
        missing.cert = f.dir.path().join("nope.pem");
        let e = error_of(&cfg(vec![missing]));
        assert!(
            e.contains("certs[0].cert") && e.contains("nope.pem") && e.contains("cannot read"),
            "{e}"
        );

        let mut not_pem = good.clone();
        not_pem.cert = f.put("empty.pem", "hello\n");
        let e = error_of(&cfg(vec![not_pem]));
        assert!(
            e.contains("certs[0].cert") && e.contains("no CERTIFICATE block"),
            "{e}"
        );

        let mut broken = good.clone();
        broken.cert = f.put(
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n",
        );
        let e = error_of(&cfg(vec![broken]));
        assert!(e.contains("not a valid X.509 certificate"), "{e}");

        let mut no_key = good.clone();
        no_key.key = good.cert.clone();
        let e = error_of(&cfg(vec![no_key]));
        assert!(
            e.contains("certs[0].key") && e.contains("no private key"),
            "{e}"
        );

        let other = server(&f, "b.test", &[]);
        let mut mismatch = good.clone();
        mismatch.key = other.key.clone();
        let e = error_of(&cfg(vec![mismatch]));
        assert!(e.contains("does not fit"), "{e}");

        let e = error_of(&cfg(vec![
            server(&f, "c.test", &["dup.test"]),
            server(&f, "d.test", &["DUP.test"]),
        ]));
        assert!(e.contains("certs[1].sni") && e.contains("already"), "{e}");
        let e = error_of(&cfg(vec![server(&f, "e.test", &["a*.test"])]));
        assert!(e.contains("not a host name"), "{e}");

        let mut c = cfg(vec![good.clone()]);
        c.client_auth = ClientAuth::Required;
        let e = error_of(&c);
        assert!(e.contains("needs `client_ca"), "{e}");

        c.client_ca = Some(f.put("noca.pem", ""));
        let e = error_of(&c);
        assert!(
            e.contains("client_ca") && e.contains("no CERTIFICATE"),
            "{e}"
        );

        let (_, _, ca_pem) = ca("Clients");
        c.client_ca = Some(f.put("ca.pem", &ca_pem));
        c.crls = vec![f.put("bad.crl.pem", &ca_pem)];
        let e = error_of(&c);
        assert!(
            e.contains("crls[0]") && e.contains("bad.crl.pem") && e.contains("no X509 CRL"),
            "{e}"
        );

        let mut c = cfg(vec![good]);
        c.client_ca = Some(f.put("ca2.pem", &ca_pem));
        let e = error_of(&c);
        assert!(e.contains("client_auth` is \"none\""), "{e}");
    }

    /// Runs a handshake in memory; the server side once both sides are done.
    fn handshake(
        server_cfg: Arc<rustls::ServerConfig>,
        client_cfg: Arc<rustls::ClientConfig>,
        sni: &str,
    ) -> Result<ServerConnection, rustls::Error> {
        let mut server = ServerConnection::new(server_cfg)?;
        let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
        let mut client = rustls::ClientConnection::new(client_cfg, name)?;
        for _ in 0..20 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd).unwrap();
                server.process_new_packets()?;
            }
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd).unwrap();
                client.process_new_packets()?;
            }
            if !server.is_handshaking() && !client.is_handshaking() {
                return Ok(server);
            }
        }
        panic!("handshake did not finish");
    }

    fn client_cfg(
        server_ca_pem: &str,
        cert: Option<(&rcgen::Certificate, &KeyPair)>,
        version: &'static rustls::SupportedProtocolVersion,
    ) -> Arc<rustls::ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(server_ca_pem.as_bytes()).unwrap())
            .unwrap();
        let b = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots);
        Arc::new(match cert {
            Some((c, k)) => b
                .with_client_auth_cert(
                    vec![c.der().clone()],
                    PrivateKeyDer::from_pem_slice(k.serialize_pem().as_bytes()).unwrap(),
                )
                .unwrap(),
            None => b.with_no_client_auth(),
        })
    }

    #[test]
    fn tls_info_after_real_handshakes() {
        let f = Files::new();
        let (srv, server_ca) = server_and_ca(&f, "a.test", &["a.test"]);
        let (cap, cakey, ca_pem) = ca("Clients");
        let issuer = Issuer::from_params(&cap, &cakey);
        let (cert, key) = leaf(
            "pos-1",
            vec![SanType::DnsName("pos-1.test".try_into().unwrap())],
            &[0x42],
            &issuer,
        );
        let mut c = cfg(vec![srv]);
        c.client_ca = Some(f.put("clients.pem", &ca_pem));
        c.client_auth = ClientAuth::Optional;
        let sc = server_config(&c).unwrap();

        let conn = handshake(
            sc.clone(),
            client_cfg(&server_ca, Some((&cert, &key)), &rustls::version::TLS13),
            "a.test",
        )
        .unwrap();
        let info = tls_info(&conn).unwrap();
        assert_eq!(info.version, "TLSv1.3");
        assert!(info.cipher.starts_with("TLS13_"), "{}", info.cipher);
        assert_eq!(info.sni.as_deref(), Some("a.test"));
        let cc = info.client_cert.expect("client certificate");
        assert_eq!(cc.subject, r"CN=pos-1,O=Acme\, Inc.,C=DE");
        assert_eq!(cc.issuer, "CN=Clients,O=Acme");
        assert_eq!(cc.serial, "42");
        assert_eq!(cc.dns_names, vec!["pos-1.test"]);

        // TLS 1.2, optional mode, no certificate: TLS info without identity.
        let conn = handshake(
            sc.clone(),
            client_cfg(&server_ca, None, &rustls::version::TLS12),
            "a.test",
        )
        .unwrap();
        let info = tls_info(&conn).unwrap();
        assert_eq!(info.version, "TLSv1.2");
        assert!(info.cipher.starts_with("TLS_ECDHE_"), "{}", info.cipher);
        assert!(info.client_cert.is_none());

        // A certificate from another CA fails the handshake, even in optional mode.
        let (ocap, ocakey, _) = ca("Rogue");
        let (rogue, rkey) = leaf(
            "pos-1",
            vec![],
            &[0x42],
            &Issuer::from_params(&ocap, &ocakey),
        );
        let e = handshake(
            sc,
            client_cfg(&server_ca, Some((&rogue, &rkey)), &rustls::version::TLS13),
            "a.test",
        )
        .expect_err("refused");
        assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    }
}
