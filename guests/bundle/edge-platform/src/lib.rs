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

mod common;
pub use common::{State, log_line, now_ms};

/// The environment variable holding the setting `name`.
pub fn setting_var(name: &str) -> String {
    format!("EDGEWAF_{}", name.to_ascii_uppercase().replace('-', "_"))
}

#[cfg(target_arch = "wasm32")]
mod component {
    use super::{State, log_line, now_ms, setting_var};
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
        static STATE: RefCell<State> = RefCell::new(State::default());
    }

    impl host::Guest for Provider {
        fn log(level: Level, message: String) {
            eprintln!("{}", log_line(&format!("{level:?}"), &message));
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

    export!(Provider);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_environment_variables() {
        assert_eq!(setting_var("origin"), "EDGEWAF_ORIGIN");
        assert_eq!(setting_var("max-body"), "EDGEWAF_MAX_BODY");
    }
}
