//! A token bucket: the rate limit the manager applies to each plugin session (seed 5.8).
//!
//! The bucket starts full with `burst` tokens and refills at `per_second`; each admitted message
//! takes one. When it is empty, [`TokenBucket::try_take`] says how long until the next token, which
//! is what `RetryAfter` tells the plugin. The arithmetic is in integers (a token is 10^9 units,
//! refilled at `per_second` units per nanosecond), so "never more than `burst + rate * elapsed`
//! admitted" holds exactly, not nearly.

use std::time::{Duration, Instant};

const UNITS_PER_TOKEN: u128 = 1_000_000_000;

/// A rate limit: a sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    per_second: u32,
    burst: u32,
}

/// Why a rate limit was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The rate must be at least one message per second.
    #[error("rate limit per_second must be at least 1, not {0}")]
    ZeroRate(u32),
    /// The burst must let at least one message through.
    #[error("rate limit burst must be at least 1, not {0}")]
    ZeroBurst(u32),
}

impl RateLimit {
    /// `per_second` messages a second sustained, `burst` at once.
    pub fn new(per_second: u32, burst: u32) -> Result<RateLimit, RateLimitError> {
        if per_second == 0 {
            return Err(RateLimitError::ZeroRate(per_second));
        }
        if burst == 0 {
            return Err(RateLimitError::ZeroBurst(burst));
        }
        Ok(RateLimit { per_second, burst })
    }

    /// The sustained rate, in messages a second.
    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// The most messages admitted at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

/// A token bucket following a [`RateLimit`].
#[derive(Clone, Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    units: u128,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(now: Instant, limit: RateLimit) -> TokenBucket {
        TokenBucket {
            limit,
            units: capacity(limit),
            updated: now,
        }
    }

    /// The limit it follows.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a token at `now`, or says how long until one is there. Time that goes backwards is
    /// taken as no time.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.units >= UNITS_PER_TOKEN {
            self.units -= UNITS_PER_TOKEN;
            return Ok(());
        }
        let missing = UNITS_PER_TOKEN - self.units;
        let nanos = missing.div_ceil(u128::from(self.limit.per_second));
        Err(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }

    /// When the next token is there (at or before the last time seen if it already is).
    pub fn next_token_at(&self) -> Instant {
        let missing = UNITS_PER_TOKEN.saturating_sub(self.units);
        let nanos = missing.div_ceil(u128::from(self.limit.per_second));
        self.updated + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How long from `now` until the bucket holds its whole burst again: the `RetryAfter`
    /// interval, so that a plugin sending what it held back when the window ends is admitted.
    pub fn time_until_full(&mut self, now: Instant) -> Duration {
        self.refill(now);
        let missing = capacity(self.limit) - self.units;
        let nanos = missing.div_ceil(u128::from(self.limit.per_second));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn refill(&mut self, now: Instant) {
        if now <= self.updated {
            return;
        }
        let elapsed = now.duration_since(self.updated).as_nanos();
        self.units =
            (self.units + elapsed * u128::from(self.limit.per_second)).min(capacity(self.limit));
        self.updated = now;
    }
}

fn capacity(limit: RateLimit) -> u128 {
    u128::from(limit.burst) * UNITS_PER_TOKEN
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_full_bucket_admits_the_burst_then_says_when_the_next_token_comes() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(start, RateLimit::new(10, 3).unwrap());
        for _ in 0..3 {
            assert_eq!(bucket.try_take(start), Ok(()));
        }
        assert_eq!(bucket.try_take(start), Err(Duration::from_millis(100)));
        assert_eq!(
            bucket.try_take(start + Duration::from_millis(40)),
            Err(Duration::from_millis(60))
        );
        assert_eq!(bucket.try_take(start + Duration::from_millis(100)), Ok(()));
    }

    #[test]
    fn time_until_full_is_the_time_to_refill_every_missing_token() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(start, RateLimit::new(10, 3).unwrap());
        assert_eq!(bucket.time_until_full(start), Duration::ZERO);
        for _ in 0..3 {
            bucket.try_take(start).unwrap();
        }
        assert_eq!(bucket.time_until_full(start), Duration::from_millis(300));
        assert_eq!(
            bucket.time_until_full(start + Duration::from_millis(250)),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn refill_stops_at_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(start, RateLimit::new(1000, 2).unwrap());
        let later = start + Duration::from_secs(3600);
        assert_eq!(bucket.try_take(later), Ok(()));
        assert_eq!(bucket.try_take(later), Ok(()));
        assert!(bucket.try_take(later).is_err());
    }

    #[test]
    fn time_going_backwards_refills_nothing_and_does_not_panic() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut bucket = TokenBucket::new(start, RateLimit::new(1, 1).unwrap());
        assert_eq!(bucket.try_take(start), Ok(()));
        assert!(bucket.try_take(start - Duration::from_secs(5)).is_err());
        assert!(bucket.try_take(start).is_err());
    }

    #[test]
    fn a_zero_rate_or_burst_is_refused_naming_the_value() {
        assert_eq!(RateLimit::new(0, 5), Err(RateLimitError::ZeroRate(0)));
        assert_eq!(
            RateLimit::new(5, 0).unwrap_err().to_string(),
            "rate limit burst must be at least 1, not 0"
        );
    }

    proptest! {
        #[test]
        fn never_admits_more_than_the_burst_plus_the_rate_over_the_elapsed_time(
            per_second in 1u32..5000,
            burst in 1u32..50,
            steps in prop::collection::vec(0u64..20_000_000, 1..400),
        ) {
            let start = Instant::now();
            let mut bucket = TokenBucket::new(start, RateLimit::new(per_second, burst).unwrap());
            let mut now = start;
            let mut admitted: u128 = 0;
            for step in steps {
                now += Duration::from_nanos(step);
                if bucket.try_take(now).is_ok() {
                    admitted += 1;
                }
                let elapsed = now.duration_since(start).as_nanos();
                let allowed = u128::from(burst) + elapsed * u128::from(per_second) / 1_000_000_000;
                prop_assert!(admitted <= allowed, "{admitted} admitted, {allowed} allowed");
            }
        }

        #[test]
        fn a_refused_take_succeeds_after_the_wait_it_names(per_second in 1u32..100_000, burst in 1u32..10) {
            let start = Instant::now();
            let mut bucket = TokenBucket::new(start, RateLimit::new(per_second, burst).unwrap());
            while bucket.try_take(start).is_ok() {}
            let wait = bucket.try_take(start).unwrap_err();
            prop_assert!(bucket.try_take(start + wait).is_ok());
        }
    }
}
