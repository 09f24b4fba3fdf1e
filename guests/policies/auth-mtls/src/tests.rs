use super::*;
use edgewaf_sdk::testing::{Harness, with_host};
use serde_json::json;

const NOW: u64 = 1_767_225_600;
const PIN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn config() -> String {
    json!({"rules": [
        {"path_prefix": "/terminal", "issuer": "CN=Acme POS CA,O=Acme",
         "allow_san": ["*.pos.acme.com", "spiffe://acme.com/pos/*"],
         "allow_subject": ["CN=kiosk-*,O=Acme", "re:CN=till-[0-9]{1,3},O=Acme"]},
        {"path_prefix": "/settlement", "pin_sha256": [PIN.to_uppercase()]},
        {"path_prefix": "/terminal/admin", "allow_subject": ["CN=ops,O=Acme"]},
        {"path_prefix": "/"}
    ]})
    .to_string()
}

fn harness() -> Harness<AuthMtls> {
    let h = Harness::<AuthMtls>::new(&config()).unwrap();
    with_host(|host| host.clock_ms = Some(NOW * 1000));
    h
}

fn pos_cert() -> PeerCertificate {
    PeerCertificate {
        subject: "CN=pos-17,O=Acme".into(),
        issuer: "CN=Acme POS CA,O=Acme".into(),
        serial: "1a2b".into(),
        dns_names: vec!["t17.pos.acme.com".into()],
        uris: vec![],
        sha256: "aa".repeat(32),
        not_after: NOW + 86_400,
    }
}

fn req(target: &str, cert: Option<PeerCertificate>) -> Request {
    let b = Request::builder().target(target);
    match cert {
        Some(c) => b
            .tls(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
                sni: None,
                client_cert: Some(c),
            })
            .build(),
        None => b.build(),
    }
}

/// Deny status (if any) and finding ids.
type Outcome<'a> = (Option<u16>, Vec<&'a str>);

fn outcome(v: &Verdict) -> Outcome<'_> {
    (v.deny_status_code(), v.rule_ids())
}

/// One row: name, request target, client certificate, expected outcome.
type Case = (
    &'static str,
    &'static str,
    Option<PeerCertificate>,
    Outcome<'static>,
);

/// The POS certificate changed by `f`.
fn with(f: impl FnOnce(&mut PeerCertificate)) -> Option<PeerCertificate> {
    let mut c = pos_cert();
    f(&mut c);
    Some(c)
}

fn run_table(group: &str, cases: Vec<Case>) {
    let h = harness();
    for (name, target, cert, want) in &cases {
        let v = h.on_request(&req(target, cert.clone()));
        assert_eq!(outcome(&v), *want, "{name}");
    }
    println!("mtls table, {group}: {} cases", cases.len());
}

#[test]
fn table_sans_and_subjects() {
    run_table(
        "SANs and subjects",
        vec![
            (
                "DNS SAN glob",
                "/terminal/pay",
                Some(pos_cert()),
                (None, vec![]),
            ),
            (
                "DNS SAN case-insensitive",
                "/terminal",
                with(|c| c.dns_names = vec!["T17.POS.ACME.COM".into()]),
                (None, vec![]),
            ),
            (
                "URI SAN glob",
                "/terminal",
                with(|c| {
                    c.dns_names.clear();
                    c.uris = vec!["spiffe://acme.com/pos/t17".into()]
                }),
                (None, vec![]),
            ),
            (
                "URI SAN deeper than the glob",
                "/terminal",
                with(|c| {
                    c.dns_names.clear();
                    c.uris = vec!["spiffe://acme.com/pos/t17/x".into()]
                }),
                (Some(403), vec!["mtls-not-allowed"]),
            ),
            (
                "subject glob",
                "/terminal",
                with(|c| {
                    c.dns_names.clear();
                    c.subject = "CN=kiosk-4,O=Acme".into()
                }),
                (None, vec![]),
            ),
            (
                "subject regex",
                "/terminal",
                with(|c| {
                    c.dns_names.clear();
                    c.subject = "CN=till-42,O=Acme".into()
                }),
                (None, vec![]),
            ),
            (
                "subject regex too long",
                "/terminal",
                with(|c| {
                    c.dns_names.clear();
                    c.subject = "CN=till-4242,O=Acme".into()
                }),
                (Some(403), vec!["mtls-not-allowed"]),
            ),
            (
                "wrong SAN",
                "/terminal",
                with(|c| c.dns_names = vec!["t17.pos.evil.com".into()]),
                (Some(403), vec!["mtls-not-allowed"]),
            ),
            (
                "SAN two labels deep",
                "/terminal",
                with(|c| c.dns_names = vec!["a.t17.pos.acme.com".into()]),
                (Some(403), vec!["mtls-not-allowed"]),
            ),
        ],
    );
}

#[test]
fn table_issuers_expiry_and_pins() {
    run_table(
        "issuers, expiry and pins",
        vec![
            (
                "wrong issuer",
                "/terminal",
                with(|c| c.issuer = "CN=Other CA".into()),
                (Some(403), vec!["mtls-issuer"]),
            ),
            (
                "no certificate",
                "/terminal",
                None,
                (Some(401), vec!["mtls-no-cert"]),
            ),
            (
                "expired certificate",
                "/terminal",
                with(|c| c.not_after = NOW - 1),
                (Some(401), vec!["mtls-cert-expired"]),
            ),
            (
                "pinned fingerprint",
                "/settlement/batch",
                with(|c| c.sha256 = PIN.into()),
                (None, vec![]),
            ),
            (
                "pinned fingerprint with colons",
                "/settlement",
                with(|c| {
                    c.sha256 = PIN
                        .as_bytes()
                        .chunks(2)
                        .map(|p| std::str::from_utf8(p).unwrap().to_uppercase())
                        .collect::<Vec<_>>()
                        .join(":")
                }),
                (None, vec![]),
            ),
            (
                "fingerprint not pinned",
                "/settlement",
                Some(pos_cert()),
                (Some(403), vec!["mtls-pin"]),
            ),
        ],
    );
}

#[test]
fn table_paths_and_prefixes() {
    run_table(
        "paths and prefixes",
        vec![
            (
                "longest prefix wins",
                "/terminal/admin/x",
                Some(pos_cert()),
                (Some(403), vec!["mtls-not-allowed"]),
            ),
            (
                "longest prefix allows ops",
                "/terminal/admin",
                with(|c| {
                    c.subject = "CN=ops,O=Acme".into();
                    c.issuer = "CN=Ops CA".into()
                }),
                (None, vec![]),
            ),
            (
                "catch-all needs only a certificate",
                "/status",
                with(|c| c.issuer = "CN=Anyone".into()),
                (None, vec![]),
            ),
            (
                "catch-all without certificate",
                "/status",
                None,
                (Some(401), vec!["mtls-no-cert"]),
            ),
            (
                "prefix is segment-aware",
                "/terminalx",
                with(|c| c.dns_names.clear()),
                (None, vec![]),
            ),
            (
                "encoded path cannot dodge the rule",
                "/status/..%2fterminal",
                with(|c| c.dns_names = vec!["x.evil.com".into()]),
                (Some(403), vec!["mtls-not-allowed"]),
            ),
            (
                "dotted path cannot dodge the pin",
                "/x/../settlement",
                Some(pos_cert()),
                (Some(403), vec!["mtls-pin"]),
            ),
        ],
    );
}

#[test]
fn annotations_and_reason() {
    let h = harness();
    let v = h.on_request(&req("/terminal", Some(pos_cert())));
    let ann: Vec<(&str, &str)> = v
        .annotations
        .iter()
        .map(|a| (a.key.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(
        ann,
        vec![
            ("mtls.subject", "CN=pos-17,O=Acme"),
            ("mtls.sha256", "aa".repeat(32).as_str())
        ]
    );
    let mut c = pos_cert();
    c.dns_names = vec!["x.evil.com".into()];
    let v = h.on_request(&req("/terminal", Some(c)));
    let Action::Deny(d) = &v.action else {
        panic!("{v:?}")
    };
    assert!(
        d.reason.contains("rules[0] (/terminal)") && d.reason.contains("*.pos.acme.com"),
        "{}",
        d.reason
    );
    assert_eq!(v.findings[0].data, "CN=pos-17,O=Acme");
    assert_eq!(v.annotations.len(), 2);
    assert!(h.on_request(&req("/terminal", None)).annotations.is_empty());
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (
            json!({"rules": [{"path_prefix": "/", "allow_sans": []}]}),
            "unknown field `allow_sans`",
        ),
        (json!({"rule": []}), "unknown field `rule`"),
        (json!({"rules": []}), "\"rules\" is empty"),
        (
            json!({"rules": [{"path_prefix": "terminal"}]}),
            "rules[0].path_prefix",
        ),
        (
            json!({"rules": [{"path_prefix": "/"}, {"path_prefix": "/"}]}),
            "rules[1].path_prefix: \"/\" has a rule already",
        ),
        (
            json!({"rules": [{"path_prefix": "/", "pin_sha256": ["abc"]}]}),
            "rules[0].pin_sha256[0]",
        ),
        (
            json!({"rules": [{"path_prefix": "/", "allow_san": ["ok.com", "re:("]}]}),
            "rules[0].allow_san[1]",
        ),
        (
            json!({"rules": [{"path_prefix": "/", "allow_subject": ["re:[z-a]"]}]}),
            "rules[0].allow_subject[0]",
        ),
        (
            json!({"rules": [{"path_prefix": "/", "issuer": 5}]}),
            "expected a string or a list of strings",
        ),
        (
            json!({"rules": [{"path_prefix": "/", "issuer": [""]}]}),
            "rules[0].issuer",
        ),
    ];
    for (cfg, want) in cases {
        let err = Harness::<AuthMtls>::new(&cfg.to_string())
            .err()
            .unwrap_or_else(|| panic!("accepted {cfg}"));
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    }
}

#[test]
fn issuer_list_and_odd_inputs() {
    let cfg = json!({"rules": [{"path_prefix": "/", "issuer": ["CN=A", "CN=B"]}]}).to_string();
    let h = Harness::<AuthMtls>::new(&cfg).unwrap();
    with_host(|host| host.clock_ms = Some(NOW * 1000));
    let mut c = pos_cert();
    c.issuer = "CN=B".into();
    assert!(h.on_request(&req("/x", Some(c.clone()))).is_allow());
    c.issuer = "CN=b".into();
    assert!(h.on_request(&req("/x", Some(c))).is_deny());
    // Empty and odd certificate fields never panic.
    let odd = PeerCertificate {
        subject: "\u{0}é,,=".into(),
        ..Default::default()
    };
    assert!(h.on_request(&req("/%%%/../..", Some(odd))).is_deny());
}
