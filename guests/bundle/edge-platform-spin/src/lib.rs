//! # edge-platform-spin: the policy host functions on Spin
//!
//! The bundle part that gives policies their `edgewaf:policy/host` imports from
//! Spin (through spin-sdk 5.2, whose components Spin 4.0.2 runs):
//!
//! - counters and key-value entries live in the Spin key-value store `default`
//!   (declare `key_value_stores = ["default"]` for the component), so they are
//!   shared by every instance of the app — Spin creates one per request. Keys
//!   are prefixed `edgewaf:`. Spin's key-value interface has no atomic
//!   increment, so two requests counting at the same instant may both read the
//!   old value: a rate limit can let a few requests more through under a burst;
//! - `ip-list-match` reads the key `edgewaf:list:<name>`: CIDRs or addresses, one
//!   per line (write it with Spin's key-value tooling);
//! - `setting(name)` reads the Spin variable `name`; `setting("origin")` joins
//!   the variables `origin` (scheme, host and port) and `origin_path` (a path
//!   prefix), see [`spin_origin`];
//! - `log` writes one JSON line to stderr (Spin's component log).
//!
//! If the store cannot be opened or written, counters count in the instance's
//! memory and a warning is logged: the request still gets an answer.

use std::net::IpAddr;

#[path = "../../edge-platform/src/common.rs"]
#[allow(dead_code)]
mod common;

/// A counter value: the window it belongs to and the count in it.
pub fn counter_decode(raw: Option<&[u8]>, window_start: u64) -> u64 {
    let Some(raw) = raw else { return 0 };
    let text = std::str::from_utf8(raw).unwrap_or("");
    let mut parts = text.split(' ');
    match (
        parts.next().and_then(|s| s.parse::<u64>().ok()),
        parts.next().and_then(|s| s.parse::<u64>().ok()),
    ) {
        (Some(start), Some(count)) if start == window_start => count,
        _ => 0,
    }
}

/// The stored form of a counter.
pub fn counter_encode(window_start: u64, count: u64) -> Vec<u8> {
    format!("{window_start} {count}").into_bytes()
}

/// A key-value entry with its expiry (ms since the epoch, 0 = none) in front.
pub fn kv_encode(value: &[u8], expires_ms: u64) -> Vec<u8> {
    let mut out = expires_ms.to_be_bytes().to_vec();
    out.extend_from_slice(value);
    out
}

/// The value of a stored entry, unless it expired by `now_ms`.
pub fn kv_decode(raw: &[u8], now_ms: u64) -> Option<Vec<u8>> {
    let (exp, value) = raw.split_at_checked(8)?;
    let exp = u64::from_be_bytes(exp.try_into().ok()?);
    (exp == 0 || exp > now_ms).then(|| value.to_vec())
}

/// The origin the adapter calls on Spin: the variable `origin` (scheme, host
/// and port) followed by the variable `origin_path` (a path prefix such as
/// `/api`, or nothing).
///
/// They are two variables because spin.toml also hands `origin` to
/// `allowed_outbound_hosts`, whose entries take no path: with a path in
/// `origin`, Spin refuses every call to the origin ("has a path but is not
/// allowed"). Such an `origin` comes back as `Err`, with the value unchanged
/// and the text to log.
pub fn spin_origin(origin: &str, origin_path: Option<&str>) -> Result<String, (String, String)> {
    let origin = origin.trim().trim_end_matches('/');
    let prefix = match origin_path.map(|p| p.trim().trim_matches('/')) {
        Some(p) if !p.is_empty() => format!("/{p}"),
        _ => String::new(),
    };
    let url = format!("{origin}{prefix}");
    let after_scheme = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    match after_scheme.split_once('/') {
        None => Ok(url),
        Some((authority, path)) => {
            let scheme = origin.split_once("://").map_or("http", |(s, _)| s);
            Err((
                url,
                format!(
                    "the Spin variable origin = {origin:?} has a path: spin.toml gives \
                     origin to allowed_outbound_hosts, which takes scheme, host and port \
                     only, so Spin refuses every call to the origin. Set origin = \
                     \"{scheme}://{authority}\" and origin_path = \"/{path}\" \
                     (SPIN_VARIABLE_ORIGIN / SPIN_VARIABLE_ORIGIN_PATH)."
                ),
            ))
        }
    }
}

/// The first line of `list` (CIDRs or addresses) that contains `addr`.
pub fn list_match(list: &str, addr: &str) -> Option<String> {
    let ip: IpAddr = addr.parse().ok()?;
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .find_map(|l| {
            let hit = match l.parse::<ipnet::IpNet>() {
                Ok(net) => net.contains(&ip),
                Err(_) => l.parse::<IpAddr>().is_ok_and(|a| a == ip),
            };
            hit.then(|| l.to_string())
        })
}

#[cfg(target_arch = "wasm32")]
mod component {
    use super::common::{State, log_line, now_ms};
    use super::*;
    use spin_sdk::key_value::Store;
    use std::cell::RefCell;

    wit_bindgen::generate!({
        path: ["../../../wit", "../../../wit/bundle"],
        world: "edgewaf:bundle/platform-provider",
        generate_all,
    });

    use exports::edgewaf::bundle::platform;
    use exports::edgewaf::policy::host::{self, Level};

    struct Provider;

    thread_local! {
        static STORE: RefCell<Option<Result<std::rc::Rc<Store>, String>>> = const { RefCell::new(None) };
        /// Counters when the store is unavailable.
        static LOCAL: RefCell<State> = RefCell::new(State::default());
    }

    fn store() -> Option<std::rc::Rc<Store>> {
        STORE.with(|s| {
            let mut s = s.borrow_mut();
            let r = s.get_or_insert_with(|| {
                Store::open_default()
                    .map(std::rc::Rc::new)
                    .map_err(|e| format!("{e:?}"))
            });
            match r {
                Ok(st) => Some(st.clone()),
                Err(e) => {
                    warn(&format!(
                        "Spin key-value store \"default\" unavailable: {e}"
                    ));
                    None
                }
            }
        })
    }

    fn warn(message: &str) {
        <Provider as host::Guest>::log(Level::Warn, message.to_string());
    }

    impl host::Guest for Provider {
        fn log(level: Level, message: String) {
            eprintln!("{}", log_line(&format!("{level:?}"), &message));
        }

        fn now_ms() -> u64 {
            now_ms()
        }

        fn counter_add(key: String, delta: u64, window_ms: u32) -> u64 {
            let window = u64::from(window_ms.max(1));
            let now = now_ms();
            let start = now - now % window;
            let k = format!("edgewaf:c:{key}");
            if let Some(st) = store() {
                match st.get(&k) {
                    Ok(raw) => {
                        let n = counter_decode(raw.as_deref(), start).saturating_add(delta);
                        match st.set(&k, &counter_encode(start, n)) {
                            Ok(()) => return n,
                            Err(e) => warn(&format!("key-value set {k}: {e:?}")),
                        }
                    }
                    Err(e) => warn(&format!("key-value get {k}: {e:?}")),
                }
            }
            LOCAL.with(|l| l.borrow_mut().counter_add(&k, delta, window_ms, now))
        }

        fn kv_get(key: String) -> Option<Vec<u8>> {
            let raw = store()?.get(&format!("edgewaf:kv:{key}")).ok()??;
            kv_decode(&raw, now_ms())
        }

        fn kv_set(key: String, value: Vec<u8>, ttl_ms: u32) {
            let exp = if ttl_ms == 0 {
                0
            } else {
                now_ms() + u64::from(ttl_ms)
            };
            if let Some(st) = store()
                && let Err(e) = st.set(&format!("edgewaf:kv:{key}"), &kv_encode(&value, exp))
            {
                warn(&format!("key-value set {key}: {e:?}"));
            }
        }

        fn ip_list_match(name: String, addr: String) -> Option<String> {
            let raw = store()?.get(&format!("edgewaf:list:{name}")).ok()??;
            list_match(&String::from_utf8_lossy(&raw), &addr)
        }
    }

    impl platform::Guest for Provider {
        fn name() -> String {
            "spin".into()
        }
        fn setting(name: String) -> Option<String> {
            let get = |name: &str| {
                spin_sdk::variables::get(name)
                    .ok()
                    .filter(|v| !v.is_empty())
            };
            if name != "origin" {
                return get(&name);
            }
            match spin_origin(&get("origin")?, get("origin_path").as_deref()) {
                Ok(url) => Some(url),
                Err((url, why)) => {
                    <Provider as host::Guest>::log(Level::Error, why);
                    Some(url)
                }
            }
        }
    }

    export!(Provider);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_reset_with_the_window() {
        let raw = counter_encode(60_000, 7);
        assert_eq!(counter_decode(Some(&raw), 60_000), 7);
        assert_eq!(counter_decode(Some(&raw), 120_000), 0);
        assert_eq!(counter_decode(None, 60_000), 0);
        assert_eq!(counter_decode(Some(b"junk"), 60_000), 0);
    }

    #[test]
    fn kv_entries_expire() {
        let raw = kv_encode(b"v", 1_000);
        assert_eq!(kv_decode(&raw, 999), Some(b"v".to_vec()));
        assert_eq!(kv_decode(&raw, 1_000), None);
        assert_eq!(
            kv_decode(&kv_encode(b"f", 0), u64::MAX),
            Some(b"f".to_vec())
        );
        assert_eq!(kv_decode(b"short", 0), None);
    }

    #[test]
    fn the_origin_joins_host_and_path_prefix() {
        assert_eq!(
            spin_origin("http://127.0.0.1:8081", None),
            Ok("http://127.0.0.1:8081".into())
        );
        assert_eq!(
            spin_origin("https://origin.example/", Some("/api/")),
            Ok("https://origin.example/api".into())
        );
        assert_eq!(
            spin_origin("http://o:8080", Some("v1")),
            Ok("http://o:8080/v1".into())
        );
        assert_eq!(spin_origin("http://o", Some("/")), Ok("http://o".into()));
    }

    #[test]
    fn a_path_in_the_origin_is_explained() {
        let (url, why) = spin_origin("http://o:8080/api", None).unwrap_err();
        assert_eq!(url, "http://o:8080/api");
        assert!(why.contains("has a path"), "{why}");
        assert!(
            why.contains("origin = \"http://o:8080\" and origin_path = \"/api\""),
            "{why}"
        );
    }

    #[test]
    fn lists_match_cidrs_and_addresses() {
        let list = "# blocked\n203.0.113.0/24\n198.51.100.7\n2001:db8::/32\n";
        assert_eq!(
            list_match(list, "203.0.113.9").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            list_match(list, "198.51.100.7").as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(
            list_match(list, "2001:db8::1").as_deref(),
            Some("2001:db8::/32")
        );
        assert_eq!(list_match(list, "192.0.2.1"), None);
        assert_eq!(list_match(list, "not an ip"), None);
    }
}
