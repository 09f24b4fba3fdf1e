//! Tests of the config model.

use super::*;

fn parse(text: &str) -> Result<TenantConfig, ConfigError> {
    TenantConfig::parse(Path::new("policies/t.toml"), text)
}

#[test]
fn minimal_tenant_gets_defaults() {
    let t = parse("hosts=['a.test']\nupstream='http://127.0.0.1:1'\n").unwrap();
    assert_eq!(t.mode, Mode::Block);
    assert_eq!(t.on_error, OnError::Deny);
    assert_eq!(t.deny_status, 403);
    assert_eq!(t.limits.memory_mib, 64);
    assert_eq!(t.limits.deadline_ms, 50);
    assert!(t.policies.is_empty());
}

#[test]
fn typo_names_file_line_and_field() {
    let err = parse("hosts=['a.test']\nupstream='http://127.0.0.1:1'\nmdoe='detect'\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("policies/t.toml:"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("mdoe"), "{err}");
}

#[test]
fn bad_enum_value_is_named() {
    let err = parse("hosts=['a']\nupstream='http://127.0.0.1:1'\nmode='block-ish'\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("block-ish") && err.contains("line 3"), "{err}");
}

#[test]
fn policy_needs_exactly_one_source() {
    let err = parse("hosts=['a']\nupstream='http://127.0.0.1:1'\n[[policy]]\nname='x'\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("module"), "{err}");
    let err = parse(
        "hosts=['a']\nupstream='http://127.0.0.1:1'\n[[policy]]\nmodule='a'\npath='b.wasm'\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not both"), "{err}");
}

#[test]
fn upstream_must_be_http_url() {
    let err = parse("hosts=['a']\nupstream='ftp://x'\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("upstream"), "{err}");
}

#[test]
fn policy_config_table_survives() {
    let t = parse(
        "hosts=['a']\nupstream='http://127.0.0.1:1'\n[[policy]]\nmodule='ip-filter'\n[policy.config]\ndeny=['10.0.0.0/8']\n",
    )
    .unwrap();
    assert_eq!(t.policies[0].config["deny"][0].as_str(), Some("10.0.0.0/8"));
}

#[test]
fn tenant_names() {
    assert!(validate_tenant_name("shop-1").is_ok());
    assert!(validate_tenant_name("Shop").is_err());
    assert!(validate_tenant_name("../x").is_err());
    assert!(validate_tenant_name("").is_err());
}

#[test]
fn state_backend_keys() {
    let c: ServerConfig = toml::from_str("").unwrap();
    assert_eq!(c.state.backend, StateBackendKind::Memory);
    let c: ServerConfig = toml::from_str(
        "[state]\nbackend = 'redis'\nredis_url = 'redis://10.0.0.5:6380/2'\nredis_timeout_ms = 5\n",
    )
    .unwrap();
    assert_eq!(c.state.backend, StateBackendKind::Redis);
    assert_eq!(c.state.redis_url, "redis://10.0.0.5:6380/2");
    assert_eq!(c.state.redis_timeout_ms, 5);
    assert_eq!(c.state.redis_retry_ms, 1000);
    assert_eq!(c.state.redis_prefix, "ew");
    let err = toml::from_str::<ServerConfig>("[state]\nbackend = 'etcd'\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("etcd") && err.contains("redis"), "{err}");
}
