//! TLS termination and client certificates (`[server.tls]`): real handshakes
//! on 127.0.0.1 with certificates generated here, a rustls client, and the
//! `auth-mtls` component deciding who may pass.

use crate::support::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber, date_time_ymd,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A certificate authority made for the test.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

/// A certificate and its key.
pub(crate) struct Leaf {
    pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Ca {
    fn new(cn: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Acme");
        dn.push(DnType::CommonName, cn);
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca { params, key, pem }
    }

    fn issue(&self, cn: &str, dns: &[&str], serial: u64, client: bool) -> Leaf {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.subject_alt_names = dns
            .iter()
            .map(|d| SanType::DnsName((*d).try_into().unwrap()))
            .collect();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Acme");
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p.serial_number = Some(SerialNumber::from(serial));
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = p
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .unwrap();
        Leaf {
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// A CRL of this CA listing the given serials as revoked.
    fn crl(&self, revoked: &[u64]) -> String {
        CertificateRevocationListParams {
            this_update: date_time_ymd(2024, 1, 1),
            next_update: date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(7u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: date_time_ymd(2025, 1, 1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&Issuer::from_params(&self.params, &self.key))
        .unwrap()
        .pem()
        .unwrap()
    }
}

/// Everything one test WAF needs: the server CA (trusted by the client), two
/// server certificates, the client CA and another CA nobody configured.
pub(crate) struct Pki {
    server_ca: Ca,
    shop: Leaf,
    api: Leaf,
    client_ca: Ca,
    other_ca: Ca,
}

const REVOKED_SERIAL: u64 = 0x66;

impl Pki {
    pub(crate) fn new() -> Pki {
        let server_ca = Ca::new("Edge Server CA");
        let shop = server_ca.issue("shop.test", &["shop.test"], 0x10, false);
        let api = server_ca.issue("api.test", &["api.test", "v2.api.test"], 0x11, false);
        Pki {
            server_ca,
            shop,
            api,
            client_ca: Ca::new("POS Client CA"),
            other_ca: Ca::new("Rogue CA"),
        }
    }

    /// Writes the files into the WAF's folder (names relative to
    /// `edgewaf.toml`) and returns the `[server.tls]` section.
    pub(crate) fn install(&self, waf: &Waf, client_auth: &str) -> String {
        let put = |name: &str, text: &str| std::fs::write(waf.dir.path().join(name), text).unwrap();
        std::fs::create_dir_all(waf.dir.path().join("tls")).unwrap();
        put("tls/shop.pem", &self.shop.pem);
        put("tls/shop-key.pem", &self.shop.key_pem);
        put("tls/api.pem", &self.api.pem);
        put("tls/api-key.pem", &self.api.key_pem);
        put("tls/clients-ca.pem", &self.client_ca.pem);
        put(
            "tls/clients-ca.crl.pem",
            &self.client_ca.crl(&[REVOKED_SERIAL]),
        );
        format!(
            r#"
[server.tls]
certs = [
  {{ cert = "tls/shop.pem", key = "tls/shop-key.pem", sni = ["shop.test"] }},
  {{ cert = "tls/api.pem", key = "tls/api-key.pem", sni = ["api.test", "*.api.test"] }},
]
client_auth = "{client_auth}"
client_ca = "tls/clients-ca.pem"
crls = ["tls/clients-ca.crl.pem"]
"#
        )
    }

    /// A client trusting the server CA, with an optional client certificate,
    /// speaking only the given TLS versions.
    pub(crate) fn client(
        &self,
        cert: Option<&Leaf>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.server_ca.pem.as_bytes()).unwrap())
            .unwrap();
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions)
                .unwrap()
                .with_root_certificates(roots);
        Arc::new(match cert {
            Some(leaf) => builder
                .with_client_auth_cert(
                    vec![leaf.der.clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone())),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        })
    }
}

pub(crate) static BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
static TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
static TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// What a TLS exchange gave: the response, the server's certificate and the
/// TLS version; or the error (e.g. the alert the server sent).
struct TlsResp {
    resp: Resp,
    server_cert: CertificateDer<'static>,
    version: rustls::ProtocolVersion,
}

fn tls_get(
    addr: &str,
    config: Arc<ClientConfig>,
    sni: &str,
    target: &str,
) -> Result<TlsResp, std::io::Error> {
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(15)))?;
    let conn = ClientConnection::new(config, ServerName::try_from(sni.to_string()).unwrap())
        .map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(conn, sock);
    let raw = format!("GET {target} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n");
    tls.write_all(raw.as_bytes())?;
    let mut buf = Vec::new();
    match tls.read_to_end(&mut buf) {
        Ok(_) => {}
        // A peer closing without close_notify after a full response is fine.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => {}
        Err(e) => return Err(e),
    }
    if buf.is_empty() {
        return Err(std::io::Error::other(
            "connection closed without a response",
        ));
    }
    Ok(TlsResp {
        resp: parse_response(&buf),
        server_cert: tls.conn.peer_certificates().unwrap()[0].clone(),
        version: tls.conn.protocol_version().unwrap(),
    })
}

fn tenant(rules: &str) -> String {
    format!(
        "hosts = [\"shop.test\", \"api.test\", \"v2.api.test\"]\nupstream = \"http://{{upstream}}\"\n\n[[policy]]\nmodule = \"auth-mtls\"\n{rules}"
    )
}

const POS_RULES: &str = r#"
[[policy.config.rules]]
path_prefix = "/"
issuer = "CN=POS Client CA,O=Acme"
allow_san = ["*.terminals.test"]
"#;

fn start(pki: &Pki, echo: &Echo, client_auth: &str) -> Waf {
    let mut waf = Waf::prepare(&echo.addr, &[("pos", &tenant(POS_RULES))]);
    let _ = module("auth-mtls");
    waf.write_config(&pki.install(&waf, client_auth));
    waf.spawn();
    waf
}

fn refused(result: Result<TlsResp, std::io::Error>, alert: &str) {
    match result {
        Ok(r) => panic!(
            "the handshake should fail with {alert}, got HTTP {}: {}",
            r.resp.status, r.resp.body
        ),
        Err(e) => assert!(
            e.to_string().contains(alert),
            "expected alert {alert}, got: {e}"
        ),
    }
}

/// A certificate from the configured CA with an allowed SAN passes, over
/// TLS 1.3 and 1.2; the origin learns the request came over HTTPS.
fn valid_client_certificate_passes(waf: &Waf, pki: &Pki) {
    let good = pki
        .client_ca
        .issue("pos-1", &["pos-1.terminals.test"], 0x21, true);
    for versions in [TLS13, TLS12] {
        let r = tls_get(
            &waf.addr,
            pki.client(Some(&good), versions),
            "shop.test",
            "/pay",
        )
        .expect("handshake with a valid client certificate");
        assert_eq!(r.resp.status, 200, "{}", r.resp.body);
        assert_eq!(r.version, versions[0].version);
        let echoed = r.resp.json();
        let headers = echoed["headers"].as_array().unwrap();
        assert!(
            headers
                .iter()
                .any(|h| h[0] == "x-forwarded-proto" && h[1] == "https"),
            "{echoed}"
        );
        // The policy saw the verified certificate's facts.
        let d = waf.decision(&r.resp.request_id());
        assert_eq!(d["action"], "allow", "{d}");
        let annotations = d["annotations"].to_string();
        assert!(annotations.contains("CN=pos-1,O=Acme"), "{d}");
        let pin = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&good.der));
        assert!(annotations.contains(&pin), "{d}");
    }
}

/// Verified, but its SAN is not allowed: auth-mtls answers 403.
fn verified_certificate_with_another_san_gets_403(waf: &Waf, pki: &Pki) {
    let stranger = pki
        .client_ca
        .issue("kiosk-9", &["kiosk-9.lobby.test"], 0x22, true);
    let r = tls_get(
        &waf.addr,
        pki.client(Some(&stranger), BOTH),
        "shop.test",
        "/pay",
    )
    .expect("the handshake itself succeeds");
    assert_eq!(r.resp.status, 403, "{}", r.resp.body);
    let d = waf.decision(&r.resp.request_id());
    assert_eq!(d["rule_ids"][0], "mtls-not-allowed", "{d}");
}

/// Handshakes refused: another CA, no certificate, a revoked one.
fn refused_handshakes(waf: &Waf, pki: &Pki) {
    // Another CA's certificate (same names) never gets to HTTP.
    let rogue = pki
        .other_ca
        .issue("pos-1", &["pos-1.terminals.test"], 0x21, true);
    for versions in [TLS13, TLS12] {
        refused(
            tls_get(
                &waf.addr,
                pki.client(Some(&rogue), versions),
                "shop.test",
                "/",
            ),
            "UnknownCA",
        );
    }

    // No certificate at all: refused in required mode.
    refused(
        tls_get(&waf.addr, pki.client(None, TLS13), "shop.test", "/"),
        "CertificateRequired",
    );

    // A certificate of the right CA that the CRL lists is refused.
    let revoked = pki
        .client_ca
        .issue("pos-2", &["pos-2.terminals.test"], REVOKED_SERIAL, true);
    for versions in [TLS13, TLS12] {
        refused(
            tls_get(
                &waf.addr,
                pki.client(Some(&revoked), versions),
                "shop.test",
                "/",
            ),
            "CertificateRevoked",
        );
    }
    // The host logs why: another CA, a revoked certificate.
    let log = waf.stderr();
    assert!(
        log.contains("UnknownIssuer") && log.contains("Revoked"),
        "{log}"
    );
}

#[test]
fn required_client_certificates() {
    let echo = Echo::start();
    let pki = Pki::new();
    let waf = start(&pki, &echo, "required");
    valid_client_certificate_passes(&waf, &pki);
    verified_certificate_with_another_san_gets_403(&waf, &pki);
    refused_handshakes(&waf, &pki);

    // Nothing of the refused handshakes reached the origin or the log.
    let logged = waf.decisions();
    assert_eq!(logged.len(), 3, "{logged:?}");
}

#[test]
fn optional_client_certificates() {
    let echo = Echo::start();
    let pki = Pki::new();
    let waf = start(&pki, &echo, "optional");

    // No certificate: the handshake succeeds, the request carries TLS info
    // without a client certificate, and auth-mtls answers 401.
    let r = tls_get(&waf.addr, pki.client(None, BOTH), "shop.test", "/pay").unwrap();
    assert_eq!(r.resp.status, 401, "{}", r.resp.body);
    let d = waf.decision(&r.resp.request_id());
    assert_eq!(d["rule_ids"][0], "mtls-no-cert", "{d}");

    // A valid certificate still passes.
    let good = pki
        .client_ca
        .issue("pos-3", &["pos-3.terminals.test"], 0x23, true);
    let r = tls_get(&waf.addr, pki.client(Some(&good), BOTH), "shop.test", "/").unwrap();
    assert_eq!(r.resp.status, 200, "{}", r.resp.body);

    // A certificate that is sent must still verify.
    let rogue = pki
        .other_ca
        .issue("pos-3", &["pos-3.terminals.test"], 0x23, true);
    refused(
        tls_get(&waf.addr, pki.client(Some(&rogue), BOTH), "shop.test", "/"),
        "UnknownCA",
    );
}

#[test]
fn sni_picks_the_server_certificate() {
    let echo = Echo::start();
    let pki = Pki::new();
    let waf = start(&pki, &echo, "optional");
    let good = pki
        .client_ca
        .issue("pos-4", &["pos-4.terminals.test"], 0x24, true);
    for (sni, expected) in [
        ("shop.test", &pki.shop.der),
        ("api.test", &pki.api.der),
        ("v2.api.test", &pki.api.der),
    ] {
        for versions in [TLS13, TLS12] {
            let r = tls_get(&waf.addr, pki.client(Some(&good), versions), sni, "/")
                .unwrap_or_else(|e| panic!("{sni}: {e}"));
            assert_eq!(&r.server_cert, expected, "{sni}");
            assert_eq!(r.resp.status, 200, "{sni}: {}", r.resp.body);
        }
    }
}

/// Runs `edgewaf serve` on a config that must not start; returns its stderr.
fn startup_error(waf: &Waf) -> String {
    let stderr = std::fs::File::create(waf.dir.path().join("stderr.log")).unwrap();
    let mut child = edgewaf()
        .args(["serve", "--config"])
        .arg(waf.dir.path().join("edgewaf.toml"))
        .args([
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--admin-listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            return waf.stderr();
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("edgewaf serve started despite a broken [server.tls]");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn broken_tls_files_stop_startup_with_a_clear_error() {
    let pki = Pki::new();
    let waf = Waf::prepare("127.0.0.1:9", &[("pos", &tenant(POS_RULES))]);
    let section = pki.install(&waf, "required");

    std::fs::write(waf.dir.path().join("tls/api-key.pem"), "not a key\n").unwrap();
    waf.write_config(&section);
    let err = startup_error(&waf);
    assert!(
        err.contains("edgewaf.toml")
            && err.contains("certs[1].key")
            && err.contains("tls/api-key.pem")
            && err.contains("no private key"),
        "{err}"
    );

    std::fs::write(waf.dir.path().join("tls/api-key.pem"), &pki.api.key_pem).unwrap();
    std::fs::remove_file(waf.dir.path().join("tls/clients-ca.crl.pem")).unwrap();
    let err = startup_error(&waf);
    assert!(
        err.contains("crls[0]")
            && err.contains("clients-ca.crl.pem")
            && err.contains("cannot read"),
        "{err}"
    );

    waf.write_config(&section.replace("client_auth = \"required\"", "client_auth = \"sometimes\""));
    let err = startup_error(&waf);
    assert!(
        err.contains("sometimes") && err.contains("client_auth"),
        "{err}"
    );
}
