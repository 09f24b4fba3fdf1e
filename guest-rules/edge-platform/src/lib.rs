//! # edge-platform: the policy host functions on any wasi:http runtime
//!
//! The bundle part that gives policies their `edgewaf:policy/host` imports where
//! the runtime has no key-value store of its own (`wasmtime serve`, other
//! wasi:http 0.2 hosts):
//!
//! - `log` writes one JSON line to stderr; `now-ms` reads the wall clock;
//! - counters and key-value live in the instance's memory. Runtimes that create
//!   an instance per request (wasmtime serve does) start every request with
//!   empty state, so rate limits need a platform with a shared store (Spin);
//! - IP lists are empty: `ip-list-match` never matches (static lists in a
//!   policy's own config still apply);
//! - `setting(name)` reads the environment variable `EDGEWAF_<NAME>` (upper case,
//!   `-` as `_`), e.g. `EDGEWAF_ORIGIN`.
//!
//! The state logic is plain Rust ([`State`]) and tested natively.

use std::collections::HashMap;

/// Counters and key-value entries of one instance.
#[derive(Default)]
pub struct State {
    /// key -> (window start ms, count)
    counters: HashMap<String, (u64, u64)>,
    /// key -> (value, expiry ms or 0)
    kv: HashMap<String, (Vec<u8>, u64)>,
}

impl State {
    /// Adds `delta` to `key` in its fixed window of `window_ms` at time `now_ms`.
    pub fn counter_add(&mut self, key: &str, delta: u64, window_ms: u32, now_ms: u64) -> u64 {
        let window = u64::from(window_ms.max(1));
        let start = now_ms - now_ms % window;
        let e = self.counters.entry(key.to_string()).or_insert((start, 0));
        if e.0 != start {
            *e = (start, 0);
        }
        e.1 = e.1.saturating_add(delta);
        e.1
    }

    /// The value of `key` unless it expired.
    pub fn kv_get(&mut self, key: &str, now_ms: u64) -> Option<Vec<u8>> {
        match self.kv.get(key) {
            Some((_, exp)) if *exp != 0 && *exp <= now_ms => {
                self.kv.remove(key);
                None
            }
            Some((v, _)) => Some(v.clone()),
            None => None,
        }
    }

    /// Sets `key`; `ttl_ms` 0 keeps it until overwritten.
    pub fn kv_set(&mut self, key: &str, value: Vec<u8>, ttl_ms: u32, now_ms: u64) {
        let exp = if ttl_ms == 0 {
            0
        } else {
            now_ms + u64::from(ttl_ms)
        };
        self.kv.insert(key.to_string(), (value, exp));
    }
}

/// The environment variable holding the setting `name`.
pub fn setting_var(name: &str) -> String {
    format!("EDGEWAF_{}", name.to_ascii_uppercase().replace('-', "_"))
}

#[cfg(target_arch = "wasm32")]
mod component {
    use super::{State, setting_var};
    use std::cell::RefCell;

    wit_bindgen::generate!({
        path: ["../../wit", "../../wit/bundle"],
        world: "edgewaf:bundle/platform-provider",
        generate_all,
    });

    use exports::edgewaf::bundle::platform;
    use exports::edgewaf::policy::host::{self, Level};

    struct Provider;

    thread_local! {
        static STATE: RefCell<State> = RefCell::new(State::default());
    }

    fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    impl host::Guest for Provider {
        fn log(level: Level, message: String) {
            let level = match level {
                Level::Error => "error",
                Level::Warn => "warn",
                Level::Info => "info",
                Level::Debug => "debug",
            };
            let line = serde_json_line(level, &message);
            eprintln!("{line}");
        }
        fn now_ms() -> u64 {
            now_ms()
        }
        fn counter_add(key: String, delta: u64, window_ms: u32) -> u64 {
            STATE.with(|s| s.borrow_mut().counter_add(&key, delta, window_ms, now_ms()))
        }
        fn kv_get(key: String) -> Option<Vec<u8>> {
            STATE.with(|s| s.borrow_mut().kv_get(&key, now_ms()))
        }
        fn kv_set(key: String, value: Vec<u8>, ttl_ms: u32) {
            STATE.with(|s| s.borrow_mut().kv_set(&key, value, ttl_ms, now_ms()))
        }
        fn ip_list_match(_name: String, _addr: String) -> Option<String> {
            None
        }
    }

    impl platform::Guest for Provider {
        fn name() -> String {
            "wasi".into()
        }
        fn setting(name: String) -> Option<String> {
            std::env::var(setting_var(&name))
                .ok()
                .filter(|v| !v.is_empty())
        }
    }

    /// `{"kind":"policy-log","level":...,"message":...}` with the message escaped.
    fn serde_json_line(level: &str, message: &str) -> String {
        let mut m = String::with_capacity(message.len() + 2);
        for c in message.chars() {
            match c {
                '"' => m.push_str("\\\""),
                '\\' => m.push_str("\\\\"),
                c if (c as u32) < 0x20 => m.push_str(&format!("\\u{:04x}", c as u32)),
                c => m.push(c),
            }
        }
        format!("{{\"kind\":\"policy-log\",\"level\":\"{level}\",\"message\":\"{m}\"}}")
    }

    export!(Provider);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_per_window() {
        let mut s = State::default();
        assert_eq!(s.counter_add("a", 1, 1000, 5_000), 1);
        assert_eq!(s.counter_add("a", 2, 1000, 5_999), 3);
        assert_eq!(s.counter_add("b", 1, 1000, 5_999), 1);
        // The next window starts again.
        assert_eq!(s.counter_add("a", 1, 1000, 6_000), 1);
    }

    #[test]
    fn kv_expires() {
        let mut s = State::default();
        s.kv_set("k", b"v".to_vec(), 100, 1_000);
        s.kv_set("forever", b"f".to_vec(), 0, 1_000);
        assert_eq!(s.kv_get("k", 1_099), Some(b"v".to_vec()));
        assert_eq!(s.kv_get("k", 1_100), None);
        assert_eq!(s.kv_get("forever", u64::MAX), Some(b"f".to_vec()));
    }

    #[test]
    fn settings_are_environment_variables() {
        assert_eq!(setting_var("origin"), "EDGEWAF_ORIGIN");
        assert_eq!(setting_var("max-body"), "EDGEWAF_MAX_BODY");
    }
}
