//! # rate-limit: L7 flood protection
//!
//! An edgewaf policy that limits how often a client may call, where "client"
//! is a client IP, a header (an API key sent by the caller), an annotation
//! set by an earlier policy (`apikey.name` from auth-apikey, `jwt.sub` from
//! auth-jwt) or everyone together (`global`), optionally only for a path
//! prefix and some methods:
//!
//! ```toml
//! [[policy]]
//! module = "rate-limit"
//! [[policy.config.rules]]
//! name = "login"
//! key = "ip"
//! path_prefix = "/login"
//! methods = ["POST"]
//! limit = 5
//! window_secs = 60
//! penalty_secs = 600        # then locked out for 10 minutes
//!
//! [[policy.config.rules]]
//! name = "partner-api"
//! key = "annotation:apikey.name"
//! path_prefix = "/api/"
//! limit = 100               # 100 per second on average ...
//! window_secs = 1
//! algorithm = "token_bucket"
//! burst = 300               # ... with bursts of up to 300
//! ```
//!
//! Rules are checked in order; the first one a request exceeds denies it with
//! status 429 (or `status`) and a `Retry-After` header. A rule whose key the
//! request does not carry (no such header or annotation) does not apply.
//!
//! ## How it counts
//!
//! All state lives in the host ([`edgewaf_sdk::host`]), namespaced per tenant
//! and shared by every instance — and by every node when the host keeps its
//! state in Redis. Nothing is kept in the instance.
//!
//! - **Sliding window** (default): the host's fixed-window counter
//!   (`counter_add`) counts the allowed requests of the current window, and
//!   the key-value store keeps each window's total for the next one to read.
//!   The estimate is `previous × (share of the previous window still inside
//!   the sliding window) + current`, compared exactly in integers. Under a
//!   flood the client gets `limit` requests per window, no more.
//! - **Token bucket**: `burst` tokens, refilled at `limit` per window, stored
//!   in the key-value store.
//! - **Penalty box**: with `penalty_secs`, a key that exceeds a rule is denied
//!   outright until the penalty expires (a key-value entry with that TTL).
//!
//! A request is checked against every rule before any rule is charged, so a
//! request one rule denies does not use up another's budget. Denied requests
//! are not counted. Checking and charging are separate host calls: requests
//! for the same key decided at the same instant on different instances may
//! overshoot a limit by a few.
//!
//! Header keys are hashed (SHA-256) before they reach the host's state or the
//! log, since they are often secrets. In the tenant's detect mode the host
//! logs the denials and lets the requests through; counting goes on as usual.
#![deny(missing_docs)]

pub mod algo;
pub mod config;
pub mod key;

use algo::{Bucket, sliding_estimate, sliding_exceeds, sliding_retry_after_ms, take_token};
use config::{Algorithm, Config, Rule};
use edgewaf_sdk::prelude::*;
use key::Key;

/// The policy: the checked rules.
pub struct RateLimit {
    config: Config,
}

/// Why a rule denies.
enum Exceeded {
    /// Over the limit now.
    Limit { count: String, retry_after_ms: u64 },
    /// Still in the penalty box from an earlier excess.
    Penalty { retry_after_ms: u64 },
}

/// What to write when every rule lets the request through.
enum Charge {
    /// Count one more allowed request in the current window.
    Sliding {
        counter: String,
        snapshot: String,
        window_ms: u32,
    },
    /// Store the bucket with one token taken.
    Bucket {
        key: String,
        bucket: Bucket,
        ttl_ms: u32,
    },
}

impl Policy for RateLimit {
    fn init(config: &str) -> Result<Self, String> {
        Ok(RateLimit {
            config: Config::parse(config)?,
        })
    }

    fn on_request(&self, req: &Request) -> Verdict {
        let now = host::now_ms();
        // Check every rule first and charge only when all of them allow, so a
        // request one rule denies does not use up another rule's budget.
        let mut charges = Vec::new();
        for rule in &self.config.rules {
            if !applies(rule, req) {
                continue;
            }
            let Some(key) = rule.key.extract(req) else {
                continue;
            };
            match check(rule, &key, now) {
                Ok(charge) => charges.push(charge),
                Err(exceeded) => return self.deny(rule, &key, exceeded),
            }
        }
        charges.into_iter().for_each(charge);
        Verdict::allow()
    }
}

fn applies(rule: &Rule, req: &Request) -> bool {
    req.path().starts_with(&rule.path_prefix)
        && (rule.methods.is_empty()
            || rule
                .methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&req.method)))
}

fn read_u64(key: &str) -> Option<u64> {
    host::kv_get(key).and_then(|v| String::from_utf8(v).ok()?.parse().ok())
}

/// Decides `rule` for `key` without charging anything.
fn check(rule: &Rule, key: &Key, now: u64) -> Result<Charge, Exceeded> {
    let base = format!("rl:{}:{}", rule.name, key.state);
    let penalty_key = format!("{base}:penalty");
    if rule.penalty_ms > 0
        && let Some(until) = read_u64(&penalty_key)
        && until > now
    {
        return Err(Exceeded::Penalty {
            retry_after_ms: until - now,
        });
    }
    let result = match rule.algorithm {
        Algorithm::SlidingWindow => sliding_window(rule, &base, now),
        Algorithm::TokenBucket => token_bucket(rule, &base, now),
    };
    result.map_err(|exceeded| match exceeded {
        Exceeded::Limit {
            count,
            retry_after_ms,
        } if rule.penalty_ms > 0 => {
            let until = now + u64::from(rule.penalty_ms);
            host::kv_set(&penalty_key, until.to_string().as_bytes(), rule.penalty_ms);
            Exceeded::Limit {
                count,
                retry_after_ms: retry_after_ms.max(u64::from(rule.penalty_ms)),
            }
        }
        other => other,
    })
}

fn sliding_window(rule: &Rule, base: &str, now: u64) -> Result<Charge, Exceeded> {
    let w = u64::from(rule.window_ms);
    let (index, elapsed) = (now / w, now % w);
    // The window index is part of the keys, so a clock that disagrees with the
    // host's by a few ms at a window edge cannot mix two windows.
    let counter = format!("{base}:c:{index}");
    let current = host::counter_add(&counter, 0, rule.window_ms);
    let previous = index
        .checked_sub(1)
        .and_then(|p| read_u64(&format!("{base}:n:{p}")))
        .unwrap_or(0);
    let next = current.saturating_add(1);
    if sliding_exceeds(previous, next, rule.limit, elapsed, w) {
        return Err(Exceeded::Limit {
            count: format!("{:.1}", sliding_estimate(previous, next, elapsed, w)),
            retry_after_ms: sliding_retry_after_ms(previous, current, rule.limit, elapsed, w),
        });
    }
    Ok(Charge::Sliding {
        counter,
        snapshot: format!("{base}:n:{index}"),
        window_ms: rule.window_ms,
    })
}

fn token_bucket(rule: &Rule, base: &str, now: u64) -> Result<Charge, Exceeded> {
    let key = format!("{base}:bucket");
    let bucket = host::kv_get(&key).and_then(|v| Bucket::decode(&v));
    let take = take_token(
        bucket,
        now,
        rule.limit,
        u64::from(rule.window_ms),
        rule.burst,
    );
    if let Some(retry_after_ms) = take.retry_after_ms {
        // Nothing to store: the refill is computed from the stored time.
        return Err(Exceeded::Limit {
            count: "bucket empty".into(),
            retry_after_ms,
        });
    }
    // Kept until it would be full again anyway (a missing bucket is full).
    let ttl_ms = u32::try_from(take.full_in_ms.max(1000)).unwrap_or(u32::MAX);
    Ok(Charge::Bucket {
        key,
        bucket: take.bucket,
        ttl_ms,
    })
}

fn charge(c: Charge) {
    match c {
        Charge::Sliding {
            counter,
            snapshot,
            window_ms,
        } => {
            let count = host::counter_add(&counter, 1, window_ms);
            // This window's allowed total, for the next window to read as "previous".
            host::kv_set(
                &snapshot,
                count.to_string().as_bytes(),
                window_ms.saturating_mul(2),
            );
        }
        Charge::Bucket {
            key,
            bucket,
            ttl_ms,
        } => host::kv_set(&key, &bucket.encode(), ttl_ms),
    }
}

impl RateLimit {
    fn deny(&self, rule: &Rule, key: &Key, exceeded: Exceeded) -> Verdict {
        let window_secs = rule.window_ms / 1000;
        let (finding, retry_after_ms) = match exceeded {
            Exceeded::Limit {
                count,
                retry_after_ms,
            } => (
                Finding::new("rate-limit-exceeded", "rate limit exceeded").data(format!(
                    "{}: {}: {count} > {} per {window_secs}s",
                    rule.name, key.display, rule.limit
                )),
                retry_after_ms,
            ),
            Exceeded::Penalty { retry_after_ms } => (
                Finding::new(
                    "rate-limit-penalty",
                    "key is in the penalty box after exceeding a rate limit",
                )
                .data(format!(
                    "{}: {}: {}s left",
                    rule.name,
                    key.display,
                    retry_after_ms.div_ceil(1000)
                )),
                retry_after_ms,
            ),
        };
        let retry_after = retry_after_ms.div_ceil(1000).max(1);
        Verdict::deny_status(
            self.config.status,
            format!("rate-limit: {} for {}", rule.name, key.display),
        )
        .with_finding(finding.severity(Severity::Warning).tag("rate-limit"))
        .with_deny_header("retry-after", retry_after.to_string())
    }
}

edgewaf_sdk::export_policy!(RateLimit);

#[cfg(test)]
mod tests;
