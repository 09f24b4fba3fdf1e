use super::*;
use http::Method;

fn caller(scope: Scope) -> Caller {
    Caller {
        name: "t".into(),
        scope,
    }
}

#[test]
fn tokens_compare_whole_values_and_fail_closed() {
    let tokens = Tokens::from_pairs(vec![
        ("s3cret".into(), caller(Scope::Admin)),
        (
            "audit-token".into(),
            Caller {
                name: "auditor".into(),
                scope: Scope::ReadOnly,
            },
        ),
    ]);
    assert_eq!(
        tokens.bearer(Some("Bearer s3cret")).unwrap().scope,
        Scope::Admin
    );
    assert_eq!(
        tokens.bearer(Some("Bearer audit-token")).unwrap().name,
        "auditor"
    );
    assert!(tokens.bearer(Some("Bearer s3cret2")).is_none());
    assert!(tokens.bearer(Some("Bearer s3cre")).is_none());
    assert!(
        tokens.bearer(Some("s3cret")).is_none(),
        "the scheme is required"
    );
    assert!(tokens.bearer(None).is_none());
    assert!(
        Tokens::default().bearer(Some("Bearer ")).is_none(),
        "no token: nothing passes"
    );
    assert!(Tokens::default().find("").is_none());
}

#[test]
fn read_only_reads_everything_and_changes_nothing() {
    let c = caller(Scope::ReadOnly);
    assert!(check(&c, &Method::GET, &["api", "lists", "blocklist"]).is_ok());
    assert!(check(&c, &Method::GET, &["metrics"]).is_ok());
    for m in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        assert!(check(&c, &m, &["api", "tenants", "shop"]).is_err(), "{m}");
    }
}

#[test]
fn tenant_scope_sees_only_its_tenant() {
    let c = caller(Scope::Tenant("shop".into()));
    assert!(check(&c, &Method::PUT, &["api", "tenants", "shop"]).is_ok());
    assert!(check(&c, &Method::GET, &["api", "tenants", "shop", "versions"]).is_ok());
    assert!(check(&c, &Method::PUT, &["api", "tenants", "bank"]).is_err());
    assert!(check(&c, &Method::GET, &["api", "tenants", "bank"]).is_err());
    assert!(check(&c, &Method::GET, &["api", "events"]).is_ok());
    assert!(
        check(&c, &Method::GET, &["metrics"]).is_err(),
        "metrics cross tenants"
    );
    assert!(check(&c, &Method::POST, &["api", "lists", "blocklist", "entries"]).is_err());
    assert!(check(&c, &Method::PUT, &["api", "modules", "x"]).is_err());
    assert_eq!(c.narrow(None), Ok(Some("shop")));
    assert_eq!(c.narrow(Some("shop")), Ok(Some("shop")));
    assert!(c.narrow(Some("bank")).is_err());
    assert_eq!(caller(Scope::Admin).narrow(None), Ok(None));
}

#[test]
fn token_config_is_checked() {
    let cfg = |scope, tenant: Option<&str>| TokenConfig {
        name: "x".into(),
        env: "EDGEWAF_TEST_UNSET_TOKEN_VAR".into(),
        scope,
        tenant: tenant.map(str::to_string),
    };
    assert!(Tokens::from_env("EDGEWAF_TEST_UNSET", &[cfg(ScopeKind::Tenant, None)]).is_err());
    assert!(
        Tokens::from_env("EDGEWAF_TEST_UNSET", &[cfg(ScopeKind::Admin, Some("shop"))]).is_err()
    );
    let t = Tokens::from_env("EDGEWAF_TEST_UNSET", &[cfg(ScopeKind::ReadOnly, None)]).unwrap();
    assert!(t.is_empty(), "an unset variable leaves the token out");
}

#[test]
fn sessions_and_cookies() {
    let s = Sessions::default();
    let id = s.start(caller(Scope::ReadOnly));
    assert_eq!(id.len(), 64);
    let header = format!("theme=dark; {SESSION_COOKIE}={id}");
    assert_eq!(session_id(Some(&header)), Some(id.as_str()));
    assert_eq!(s.get(&id).unwrap().scope, Scope::ReadOnly);
    s.end(&id);
    assert!(s.get(&id).is_none());
    assert!(session_id(Some("edgewaf_session=")).is_none());
}
