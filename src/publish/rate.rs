//! The per-organization publish rate (issue #18): a token bucket per
//! organization, in this process's memory. With N API processes the
//! effective rate is N times the configured one (documented in
//! docs/operations.md); a shared bucket would cost a database write per
//! publish, which is what group commit saves.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{Error, Result};

/// Keys the limiter may hold before idle ones are dropped.
const RETAIN_ABOVE: usize = 10_000;

/// Events per second per organization, with a burst; `None` inside when off.
#[derive(Clone, Default)]
pub struct PublishRate {
    limiter: Option<Arc<(DefaultKeyedRateLimiter<String>, u32)>>,
}

impl PublishRate {
    /// `per_sec` events per second with `burst` at once; `0` turns it off.
    pub fn new(per_sec: u32, burst: u32) -> PublishRate {
        let limiter = NonZeroU32::new(per_sec).map(|rate| {
            let burst = NonZeroU32::new(burst.max(per_sec)).unwrap_or(rate);
            let quota = Quota::per_second(rate).allow_burst(burst);
            Arc::new((RateLimiter::keyed(quota), per_sec))
        });
        PublishRate { limiter }
    }

    /// Takes `n` events from `org`'s bucket, or says when to retry.
    pub fn admit(&self, org: &str, n: usize) -> Result<()> {
        let Some(inner) = &self.limiter else {
            return Ok(());
        };
        let (limiter, rate) = (&inner.0, inner.1);
        if limiter.len() > RETAIN_ABOVE {
            limiter.retain_recent();
        }
        let cells = NonZeroU32::new(n.max(1) as u32).expect("at least one");
        let over = |retry_after_secs: u64| Error::RateLimited {
            message: format!(
                "this organization publishes more than {rate} events per second \
                 (HOOKRELAY_PUBLISH_RATE_PER_ORG); retry in {retry_after_secs} s"
            ),
            retry_after_secs,
        };
        match limiter.check_key_n(&org.to_string(), cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                // Whole seconds, rounded up: `Retry-After` has no fractions.
                Err(over(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)))
            }
            // More events than the bucket holds: never admitted at once
            // (the configuration keeps the burst at least one full batch).
            Err(_) => Err(over(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PublishRate;

    #[test]
    fn buckets_are_per_organization() {
        let rate = PublishRate::new(1, 5);
        assert!(rate.admit("org_a", 5).is_ok());
        let err = rate.admit("org_a", 1).unwrap_err();
        assert!(matches!(
            err,
            crate::error::Error::RateLimited {
                retry_after_secs: 1,
                ..
            }
        ));
        assert!(rate.admit("org_b", 5).is_ok());
    }

    #[test]
    fn zero_is_off() {
        let rate = PublishRate::new(0, 0);
        assert!(rate.admit("org_a", 1_000_000).is_ok());
    }
}
