//! Per-organization rates (issues #18 and #25): a token bucket per
//! organization, in this process's memory, for publishing events and for
//! the emails and text messages manifests send. With N processes the
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

struct Buckets {
    limiter: DefaultKeyedRateLimiter<String>,
    /// What going over means, with the setting: "publishes more than …".
    over: String,
}

/// A rate per organization; `None` inside when off.
#[derive(Clone, Default)]
pub struct OrgRate {
    buckets: Option<Arc<Buckets>>,
}

impl OrgRate {
    /// The publish rate: `per_sec` events per second with `burst` at once;
    /// `0` turns it off.
    pub fn publish(per_sec: u32, burst: u32) -> OrgRate {
        let quota = NonZeroU32::new(per_sec).map(|rate| {
            let burst = NonZeroU32::new(burst.max(per_sec)).unwrap_or(rate);
            Quota::per_second(rate).allow_burst(burst)
        });
        OrgRate::new(
            quota,
            format!(
                "publishes more than {per_sec} events per second (HOOKRELAY_PUBLISH_RATE_PER_ORG)"
            ),
        )
    }

    /// The notification rate: `per_min` emails and text messages a minute,
    /// all of them at once at most; `0` turns it off.
    pub fn notifications(per_min: u32) -> OrgRate {
        OrgRate::new(
            NonZeroU32::new(per_min).map(Quota::per_minute),
            format!(
                "sends more than {per_min} emails and text messages per minute (HOOKRELAY_NOTIFICATIONS_PER_MINUTE_PER_ORG)"
            ),
        )
    }

    fn new(quota: Option<Quota>, over: String) -> OrgRate {
        OrgRate {
            buckets: quota.map(|q| {
                Arc::new(Buckets {
                    limiter: RateLimiter::keyed(q),
                    over,
                })
            }),
        }
    }

    /// Takes `n` from `org`'s bucket, or says when to retry.
    pub fn admit(&self, org: &str, n: usize) -> Result<()> {
        let Some(b) = &self.buckets else {
            return Ok(());
        };
        if b.limiter.len() > RETAIN_ABOVE {
            b.limiter.retain_recent();
        }
        let cells = NonZeroU32::new(n.max(1) as u32).expect("at least one");
        let over = |retry_after_secs: u64| Error::RateLimited {
            message: format!(
                "this organization {}; retry in {retry_after_secs} s",
                b.over
            ),
            retry_after_secs,
        };
        match b.limiter.check_key_n(&org.to_string(), cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                // Whole seconds, rounded up: `Retry-After` has no fractions.
                Err(over(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)))
            }
            // More than the bucket holds: never admitted at once (the
            // configuration keeps the publish burst at least one full batch).
            Err(_) => Err(over(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrgRate;

    #[test]
    fn buckets_are_per_organization() {
        let rate = OrgRate::publish(1, 5);
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
        let rate = OrgRate::publish(0, 0);
        assert!(rate.admit("org_a", 1_000_000).is_ok());
    }
}
