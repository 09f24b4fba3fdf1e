//! Tenant TOML, as the host reads a file of the policies folder:
//! `TenantConfig::parse` (TOML, serde with unknown fields refused, then
//! `validate`), each policy's `config` table turned into the JSON the policy
//! gets (as `tenants.rs` does), and the tenant name check on the first line.
//! The same text also goes through `ServerConfig`'s serde model.

use super::{error_class, feature, text};
use crate::corpus::Corpus;
use edgewaf::config::{ServerConfig, TenantConfig, validate_tenant_name};
use std::path::Path;

/// Runs one input.
pub fn run(input: &[u8]) -> u64 {
    let text = text(input);
    let name = text.lines().next().unwrap_or("");
    let name_ok = validate_tenant_name(name.trim_start_matches("# ")).is_ok();
    let server = toml::from_str::<ServerConfig>(&text).map_err(|e| error_class(e.message()));
    let tenant = match TenantConfig::parse(Path::new("fuzz.toml"), &text) {
        Ok(cfg) => {
            let mut json = 0;
            for p in &cfg.policies {
                let j = serde_json::to_string(&p.config).map_err(|e| error_class(&e.to_string()));
                json ^= feature(j.map(|s| s.len().min(4)));
            }
            feature((cfg.policies.len(), cfg.hosts.len().min(4), json))
        }
        Err(e) => error_class(&e.message),
    };
    feature((name_ok, server.map(|_| ()), tenant))
}

/// TOML syntax and the tenant file's keys.
pub const DICT: &[&[u8]] = &[
    b"[[policy]]\n",
    b"[policy.config]\n",
    b"[limits]\n",
    b"hosts = [\"",
    b"upstream = \"http://",
    b"mode = \"block\"\n",
    b"mode = \"detect\"\n",
    b"on_error = \"allow\"\n",
    b"deny_status = ",
    b"body_limit = ",
    b"memory_mib = ",
    b"deadline_ms = ",
    b"max_instances = ",
    b"module = \"",
    b"path = \"",
    b"mounts = { \"/",
    b"config = ",
    b"inspect_response = true\n",
    b"= ",
    b"\"\"\"",
    b"'''",
    b"[",
    b"]",
    b"{",
    b"}",
    b"1979-05-27T07:32:00Z",
    b"inf",
    b"nan",
    b"0x7fffffffffffffff",
    b"1_000",
    b"+",
    b"\\U0010FFFF",
    b"[server]\n",
    b"[admin]\n",
    b"[state]\n",
    b"listen = \"",
];

const SEEDS: &[&str] = &[
    include_str!("../../../policies/shop.toml"),
    include_str!("../../../policies/api.toml"),
    include_str!("../../../policies/payments.toml"),
    include_str!("../../../policies/partners.toml"),
    include_str!("../../../policies/hooks.toml"),
    include_str!("../../../policies/staging.toml"),
    include_str!("../../../edgewaf.toml"),
    "# shop\nhosts = [\"a.example\"]\nupstream = \"http://127.0.0.1:1\"\n[limits]\nmemory_mib = 64\ndeadline_ms = 50\n[[policy]]\npath = \"x.wasm\"\nmounts = { \"/data\" = \"/tmp\" }\n[policy.config]\nlist = [1, 2.5, \"x\", 1979-05-27, { a = true }]\n",
];

/// Seeds: the repo's demo tenants and server config.
pub fn seeds(_: &Corpus) -> Vec<Vec<u8>> {
    SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect()
}
