//! Retry policy: a schedule of delays after each failed attempt, with jitter.
//!
//! The same type expresses the delivery default (5 s … 10 h) and the
//! manifest runner's "retry once, one hour later".

use std::time::Duration;

use rand::Rng;

/// Delays after failed attempts; once they run out the work is dead.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    delays: Vec<Duration>,
    /// Fraction of each delay added or removed at random (0.2 = ±20 %).
    jitter: f64,
}

impl RetryPolicy {
    /// A policy from explicit delays with ±20 % jitter.
    pub fn new(delays: Vec<Duration>) -> Self {
        RetryPolicy {
            delays,
            jitter: 0.2,
        }
    }

    /// The same delays without jitter (predictable tests).
    pub fn without_jitter(mut self) -> Self {
        self.jitter = 0.0;
        self
    }

    /// Total attempts allowed: the first plus one per delay.
    pub fn max_attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// The planned delay after attempt `attempt`, without jitter.
    pub fn base_delay(&self, attempt: u32) -> Option<Duration> {
        self.delays.get((attempt as usize).checked_sub(1)?).copied()
    }

    /// Delay before the next attempt after attempt `attempt` (1-based)
    /// failed, or `None` when no attempt is left.
    pub fn next_delay(&self, attempt: u32) -> Option<Duration> {
        let base = *self.delays.get((attempt as usize).checked_sub(1)?)?;
        if self.jitter == 0.0 {
            return Some(base);
        }
        let factor = 1.0 + rand::thread_rng().gen_range(-self.jitter..=self.jitter);
        Some(base.mul_f64(factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_then_dead() {
        let p = RetryPolicy::new(vec![Duration::from_secs(5), Duration::from_secs(300)]);
        let d1 = p.next_delay(1).unwrap();
        assert!(d1 >= Duration::from_secs(4) && d1 <= Duration::from_secs(6));
        assert!(p.next_delay(2).unwrap() >= Duration::from_secs(240));
        assert!(p.next_delay(3).is_none());
        assert_eq!(p.max_attempts(), 3);
    }

    #[test]
    fn once_an_hour_later() {
        let p = RetryPolicy::new(vec![Duration::from_secs(3600)]).without_jitter();
        assert_eq!(p.next_delay(1), Some(Duration::from_secs(3600)));
        assert_eq!(p.next_delay(2), None);
    }
}
