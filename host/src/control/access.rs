//! Who may call the admin API: named tokens with scopes, and dashboard sessions.
//!
//! Tokens come from the environment, never from the config file:
//!
//! ```toml
//! [admin]
//! token_env = "EDGEWAF_ADMIN_TOKEN"    # the token named "default", scope admin
//!
//! [[admin.tokens]]
//! name = "auditor"                     # what audit records and logs call it
//! env = "EDGEWAF_AUDITOR_TOKEN"        # where its value is
//! scope = "read-only"                  # "admin", "read-only" or "tenant"
//!
//! [[admin.tokens]]
//! name = "shop-team"
//! env = "EDGEWAF_SHOP_TOKEN"
//! scope = "tenant"
//! tenant = "shop"                      # the one tenant it sees and changes
//! ```
//!
//! What each scope may do ([`check`]):
//! - `admin`: everything.
//! - `read-only`: every `GET`; any other method is 403.
//! - `tenant`: its own tenant only: `GET`/`PUT`/`DELETE /api/tenants/{its}`
//!   and its versions and rollback, events, analytics and reports narrowed to
//!   it, the dashboard. Everyone may sign out. Global things (metrics, IP lists, modules) are 403.
//!
//! A browser logs in once (`POST /login` with a token): it gets a random
//! session id in a cookie (`HttpOnly; SameSite=Strict; Path=/`), kept in
//! memory for 12 hours; the token itself is never stored in the browser.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// `[[admin.tokens]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// `name = "auditor"`: the caller's name in audit records.
    pub name: String,
    /// `env = "EDGEWAF_AUDITOR_TOKEN"`: the environment variable holding the token.
    pub env: String,
    /// `scope = "read-only"`: `admin`, `read-only` or `tenant`.
    pub scope: ScopeKind,
    /// `tenant = "shop"`: with `scope = "tenant"`, the tenant.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// `scope = ...`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeKind {
    /// Everything.
    Admin,
    /// Reads only.
    ReadOnly,
    /// One tenant.
    Tenant,
}

/// What a caller may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    Admin,
    /// Reads only.
    ReadOnly,
    /// One tenant, read and change.
    Tenant(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Admin => f.write_str("admin"),
            Scope::ReadOnly => f.write_str("read-only"),
            Scope::Tenant(t) => write!(f, "tenant:{t}"),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// Its scope.
    pub scope: Scope,
}

impl Caller {
    /// The one tenant this caller is limited to, if any.
    pub fn tenant(&self) -> Option<&str> {
        match &self.scope {
            Scope::Tenant(t) => Some(t),
            _ => None,
        }
    }

    /// The tenant a read should cover: the one asked for, narrowed to the
    /// caller's own. `Err` when a tenant-scoped caller asks for another.
    pub fn narrow<'a>(&'a self, asked: Option<&'a str>) -> Result<Option<&'a str>, String> {
        match (self.tenant(), asked) {
            (None, asked) => Ok(asked),
            (Some(own), None) => Ok(Some(own)),
            (Some(own), Some(a)) if a == own => Ok(Some(own)),
            (Some(_), Some(a)) => Err(format!("this token cannot see tenant {a:?}")),
        }
    }
}

/// The configured tokens.
#[derive(Default)]
pub struct Tokens {
    entries: Vec<(String, Caller)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(_, c)| c.name.as_str()).collect();
        f.debug_struct("Tokens").field("names", &names).finish()
    }
}

impl Tokens {
    /// Reads the tokens from the environment: `token_env` as `default`
    /// (admin), then each `[[admin.tokens]]`. A token whose variable is unset
    /// or empty is left out (logged); two tokens with one value are refused.
    pub fn from_env(token_env: &str, tokens: &[TokenConfig]) -> anyhow::Result<Tokens> {
        let get = |var: &str| std::env::var(var).ok().filter(|t| !t.is_empty());
        let mut entries = Vec::new();
        if let Some(t) = get(token_env) {
            entries.push((
                t,
                Caller {
                    name: "default".into(),
                    scope: Scope::Admin,
                },
            ));
        }
        for t in tokens {
            let scope = match (t.scope, &t.tenant) {
                (ScopeKind::Admin, None) => Scope::Admin,
                (ScopeKind::ReadOnly, None) => Scope::ReadOnly,
                (ScopeKind::Tenant, Some(name)) => Scope::Tenant(name.clone()),
                (ScopeKind::Tenant, None) => anyhow::bail!(
                    "[[admin.tokens]] {:?}: scope = \"tenant\" needs tenant = \"<name>\"",
                    t.name
                ),
                (_, Some(_)) => anyhow::bail!(
                    "[[admin.tokens]] {:?}: tenant = ... goes only with scope = \"tenant\"",
                    t.name
                ),
            };
            let Some(value) = get(&t.env) else {
                tracing::warn!(token = %t.name, "{} is not set: token {:?} left out", t.env, t.name);
                continue;
            };
            if entries.iter().any(|(v, _)| *v == value) {
                anyhow::bail!(
                    "[[admin.tokens]] {:?}: the same value as another token",
                    t.name
                );
            }
            entries.push((
                value,
                Caller {
                    name: t.name.clone(),
                    scope,
                },
            ));
        }
        Ok(Tokens { entries })
    }

    /// Builds tokens from pairs (tests).
    pub fn from_pairs(pairs: Vec<(String, Caller)>) -> Tokens {
        Tokens { entries: pairs }
    }

    /// True when no token is configured (every call but `/healthz` is 401).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller whose token this is, compared in constant time with every
    /// configured token.
    pub fn find(&self, given: &str) -> Option<Caller> {
        let mut found = None;
        for (value, caller) in &self.entries {
            if bool::from(given.as_bytes().ct_eq(value.as_bytes())) {
                found = Some(caller.clone());
            }
        }
        found
    }

    /// The caller of an `Authorization: Bearer <token>` value.
    pub fn bearer(&self, authorization: Option<&str>) -> Option<Caller> {
        self.find(authorization?.strip_prefix("Bearer ")?)
    }
}

/// Why a call is refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Forbidden(pub String);

/// True for a method that reads only.
pub fn is_read(method: &http::Method) -> bool {
    matches!(*method, http::Method::GET | http::Method::HEAD)
}

/// May `caller` make this call? `segments` is the path split on `/`.
pub fn check(caller: &Caller, method: &http::Method, segments: &[&str]) -> Result<(), Forbidden> {
    // Signing out changes only the caller's own session.
    if segments == ["logout"] {
        return Ok(());
    }
    match &caller.scope {
        Scope::Admin => Ok(()),
        Scope::ReadOnly if is_read(method) => Ok(()),
        Scope::ReadOnly => Err(Forbidden(format!(
            "token {:?} is read-only: {method} is not allowed",
            caller.name
        ))),
        Scope::Tenant(own) => match segments {
            ["api", "tenants", name, ..] if name == own => Ok(()),
            ["api", "tenants"]
            | ["api", "events"]
            | ["api", "analytics", ..]
            | ["api", "reports", ..]
            | ["dashboard", ..]
            | ["api", "whoami"]
            | [""]
                if is_read(method) =>
            {
                Ok(())
            }
            _ => Err(Forbidden(format!(
                "token {:?} is limited to tenant {own:?}: {method} /{} is not allowed",
                caller.name,
                segments.join("/")
            ))),
        },
    }
}

/// The name of the dashboard's session cookie.
pub const SESSION_COOKIE: &str = "edgewaf_session";

/// How long a dashboard session lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Dashboard sessions: random id → caller, in memory.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, (Caller, Instant)>>,
}

impl Sessions {
    /// Starts a session for `caller`; returns its id.
    pub fn start(&self, caller: Caller) -> String {
        let id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, at)| at.elapsed() < SESSION_TTL);
        map.insert(id.clone(), (caller, Instant::now()));
        id
    }

    /// The caller of a live session.
    pub fn get(&self, id: &str) -> Option<Caller> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id)
            .filter(|(_, at)| at.elapsed() < SESSION_TTL)
            .map(|(c, _)| c.clone())
    }

    /// Ends a session.
    pub fn end(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// The session id in a `Cookie` header.
pub fn session_id(cookie: Option<&str>) -> Option<&str> {
    cookie?.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == SESSION_COOKIE && !v.is_empty()).then_some(v)
    })
}

#[cfg(test)]
mod tests;
