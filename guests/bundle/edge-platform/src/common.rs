//! What both platform providers share (edge-platform-spin includes this file
//! with `#[path]`: a dependency on this crate would link its exports in too).

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

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A policy's log message as one JSON line:
/// `{"kind":"policy-log","level":"warn","message":"..."}` (level lower-cased).
pub fn log_line(level: &str, message: &str) -> String {
    let mut m = String::with_capacity(message.len() + 2);
    for c in message.chars() {
        match c {
            '"' => m.push_str("\\\""),
            '\\' => m.push_str("\\\\"),
            c if (c as u32) < 0x20 => m.push_str(&format!("\\u{:04x}", c as u32)),
            c => m.push(c),
        }
    }
    let level = level.to_ascii_lowercase();
    format!("{{\"kind\":\"policy-log\",\"level\":\"{level}\",\"message\":\"{m}\"}}")
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
    fn log_lines_are_json() {
        let line = log_line("Warn", "a \"quoted\" \\ line\nnext\u{1}");
        assert_eq!(
            line,
            r#"{"kind":"policy-log","level":"warn","message":"a \"quoted\" \\ line\u000anext\u0001"}"#
        );
    }
}
