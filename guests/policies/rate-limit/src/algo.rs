//! The counting math, as pure functions of counts and times (the policy does
//! the host calls), so every edge is unit-tested without a clock.

/// Sliding-window estimate of the requests in the last `window_ms`: all of
/// the current fixed window plus the part of the previous one that the
/// sliding window still covers.
pub fn sliding_estimate(previous: u64, current: u64, elapsed_ms: u64, window_ms: u64) -> f64 {
    let window = window_ms.max(1) as f64;
    let overlap = (window - elapsed_ms.min(window_ms) as f64) / window;
    previous as f64 * overlap + current as f64
}

/// True when the sliding-window count is above `limit` (exact integer
/// arithmetic: `previous * (window - elapsed) + current * window > limit * window`).
pub fn sliding_exceeds(
    previous: u64,
    current: u64,
    limit: u64,
    elapsed_ms: u64,
    window_ms: u64,
) -> bool {
    let w = u128::from(window_ms.max(1));
    let remaining = w - u128::from(elapsed_ms).min(w);
    u128::from(previous) * remaining + u128::from(current) * w > u128::from(limit) * w
}

/// How long until one more request fits under `limit`, for a sliding window
/// whose current fixed window holds `current` requests (`elapsed_ms` into it)
/// after a previous one of `previous`.
pub fn sliding_retry_after_ms(
    previous: u64,
    current: u64,
    limit: u64,
    elapsed_ms: u64,
    window_ms: u64,
) -> u64 {
    let w = u128::from(window_ms.max(1));
    let elapsed = u128::from(elapsed_ms).min(w);
    let (previous, current, limit) = (u128::from(previous), u128::from(current), u128::from(limit));
    // The smallest t (ms into a window) with old * (w - t) / w + new <= limit.
    let fits_at = |old: u128, new: u128| -> u128 {
        let room = limit.saturating_sub(new);
        if old <= room {
            0
        } else {
            (w * (old - room)).div_ceil(old)
        }
    };
    let next = current + 1;
    if next <= limit {
        // Later in this window, once the previous window's weight has decayed.
        fits_at(previous, next).saturating_sub(elapsed) as u64
    } else {
        // In the next window, once this one (then the previous) has decayed.
        ((w - elapsed) + fits_at(current, 1)) as u64
    }
}

/// A token bucket as kept in the host's key-value store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Tokens left, in thousandths.
    pub milli_tokens: u64,
    /// When `milli_tokens` was computed (ms since the epoch).
    pub updated_ms: u64,
}

impl Bucket {
    /// `"<milli_tokens>:<updated_ms>"`.
    pub fn encode(&self) -> Vec<u8> {
        format!("{}:{}", self.milli_tokens, self.updated_ms).into_bytes()
    }

    /// The inverse of [`Bucket::encode`]; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Bucket> {
        let s = std::str::from_utf8(bytes).ok()?;
        let (t, u) = s.split_once(':')?;
        Some(Bucket {
            milli_tokens: t.parse().ok()?,
            updated_ms: u.parse().ok()?,
        })
    }
}

/// The outcome of [`take_token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    /// The bucket to store.
    pub bucket: Bucket,
    /// `None` when a token was taken; else how long until one is available.
    pub retry_after_ms: Option<u64>,
    /// How long until the bucket is full again (a TTL for storing it).
    pub full_in_ms: u64,
}

/// Refills `bucket` (a full one when `None`) at `limit` tokens per
/// `window_ms` up to `burst`, then takes one token if there is one.
pub fn take_token(
    bucket: Option<Bucket>,
    now_ms: u64,
    limit: u64,
    window_ms: u64,
    burst: u64,
) -> Take {
    let capacity = u128::from(burst) * 1000;
    // Milli-tokens per window; refill of `elapsed` ms is elapsed * rate / window.
    let rate = u128::from(limit).max(1) * 1000;
    let window = u128::from(window_ms.max(1));
    let mut tokens = match bucket {
        None => capacity,
        Some(b) => {
            let elapsed = u128::from(now_ms.saturating_sub(b.updated_ms));
            (u128::from(b.milli_tokens) + elapsed * rate / window).min(capacity)
        }
    };
    let retry_after_ms = if tokens >= 1000 {
        tokens -= 1000;
        None
    } else {
        Some(((1000 - tokens) * window).div_ceil(rate) as u64)
    };
    let full_in_ms = ((capacity - tokens) * window).div_ceil(rate) as u64;
    Take {
        bucket: Bucket {
            milli_tokens: tokens as u64,
            updated_ms: now_ms,
        },
        retry_after_ms,
        full_in_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_weights_the_previous_window() {
        assert_eq!(sliding_estimate(0, 5, 0, 1000), 5.0);
        assert_eq!(sliding_estimate(10, 5, 0, 1000), 15.0);
        assert_eq!(sliding_estimate(10, 5, 500, 1000), 10.0);
        assert_eq!(sliding_estimate(10, 5, 900, 1000), 6.0);
        assert_eq!(sliding_estimate(10, 5, 1000, 1000), 5.0);
        assert_eq!(
            sliding_estimate(10, 5, 5000, 1000),
            5.0,
            "elapsed is clamped"
        );
    }

    #[test]
    fn exceeds_is_exact_at_the_limit() {
        assert!(
            !sliding_exceeds(10, 5, 10, 500, 1000),
            "estimate exactly 10"
        );
        assert!(sliding_exceeds(10, 6, 10, 500, 1000));
        assert!(!sliding_exceeds(0, 10, 10, 0, 1000));
        assert!(sliding_exceeds(0, 11, 10, 0, 1000));
        assert!(
            sliding_exceeds(10, 1, 10, 0, 1000),
            "the whole previous window still counts"
        );
        assert!(!sliding_exceeds(10, 1, 10, 100, 1000));
        // 3 * 667/1000 + 1 = 3.001 > 3; 3 * 666/1000 + 1 = 2.998.
        assert!(sliding_exceeds(3, 1, 3, 333, 1000));
        assert!(!sliding_exceeds(3, 1, 3, 334, 1000));
        // No overflow at the extremes.
        assert!(sliding_exceeds(u64::MAX, u64::MAX, u64::MAX, 0, 86_400_000));
        assert!(!sliding_exceeds(0, u64::MAX, u64::MAX, 0, 86_400_000));
    }

    #[test]
    fn retry_after_within_the_window() {
        // limit 10; previous 10, current 5, 500 ms in: estimate 10, full.
        // One more fits when 10 * (1 - f) + 6 <= 10, f >= 0.6: 100 ms from now.
        assert_eq!(sliding_retry_after_ms(10, 5, 10, 500, 1000), 100);
        assert_eq!(sliding_retry_after_ms(0, 3, 10, 500, 1000), 0);
    }

    #[test]
    fn retry_after_in_the_next_window() {
        // current 10 of 10: wait for this window to end (300 ms), then until
        // 10 * (1 - f) + 1 <= 10, f >= 0.1: another 100 ms.
        assert_eq!(sliding_retry_after_ms(0, 10, 10, 700, 1000), 400);
        // A flood far above the limit waits almost two windows.
        assert_eq!(sliding_retry_after_ms(0, 1000, 10, 0, 1000), 1000 + 991);
    }

    #[test]
    fn bucket_round_trip() {
        let b = Bucket {
            milli_tokens: 2500,
            updated_ms: 1_700_000_000_123,
        };
        assert_eq!(Bucket::decode(&b.encode()), Some(b));
        for bad in [&b""[..], b"1", b"a:b", b"1:2:3", b"-1:2"] {
            assert_eq!(Bucket::decode(bad), None);
        }
    }

    #[test]
    fn bucket_allows_burst_then_refills() {
        // 2 per second, burst 4.
        let mut b = None;
        for i in 0..4 {
            let t = take_token(b, 10_000, 2, 1000, 4);
            assert_eq!(t.retry_after_ms, None, "token {i}");
            b = Some(t.bucket);
        }
        let t = take_token(b, 10_000, 2, 1000, 4);
        assert_eq!(t.retry_after_ms, Some(500));
        assert_eq!(t.full_in_ms, 2000);
        // 250 ms later half a token has come back: still 250 ms to wait.
        let t = take_token(Some(t.bucket), 10_250, 2, 1000, 4);
        assert_eq!(t.retry_after_ms, Some(250));
        // 500 ms after the burst: one token.
        let t = take_token(Some(t.bucket), 10_500, 2, 1000, 4);
        assert_eq!(t.retry_after_ms, None);
        assert_eq!(t.bucket.milli_tokens, 0);
        // Long idle: the bucket is capped at burst.
        let t = take_token(Some(t.bucket), 99_000, 2, 1000, 4);
        assert_eq!(t.bucket.milli_tokens, 3000);
    }

    #[test]
    fn bucket_survives_clock_going_back() {
        let b = Bucket {
            milli_tokens: 0,
            updated_ms: 5000,
        };
        let t = take_token(Some(b), 4000, 1, 1000, 1);
        assert_eq!(t.retry_after_ms, Some(1000));
    }
}
